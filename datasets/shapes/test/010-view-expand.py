# d.shape == [8, 1, 3]
h = d.view(12, -1)
y = h.expand(4, -1, -1)
# y.shape == ?
