# x.shape == [5, 4]
t = x.sum(0)
# t.shape == ?
