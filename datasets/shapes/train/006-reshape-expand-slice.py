# y.shape == [1, 6]
u = torch.reshape(y, (3, 1, 2))
x = u.expand(3, -1, 1, 2)
w = x[2:4:3]
# w.shape == ?
