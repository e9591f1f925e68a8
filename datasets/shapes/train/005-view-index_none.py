# b.shape == [1, 3, 8]
c = b.view(12, 2)
v = c[None]
# v.shape == ?
