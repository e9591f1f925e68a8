# t.shape == [3, 1, 3]
p = t.sum(0, keepdim=True)
# p.shape == ?
