# b.shape == [3]
r = b.view(1, 3)
# r.shape == ?
