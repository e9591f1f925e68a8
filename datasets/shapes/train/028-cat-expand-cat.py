# y.shape == [5, 1]
# e.shape == [3, 8, 10, 5]
r = torch.cat((y, y), 0)
v = r.expand(3, 2, 10, 5)
x = torch.cat((v, e), 1)
# x.shape == ?
