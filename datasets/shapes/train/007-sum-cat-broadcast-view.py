# u.shape == [8, 1, 1, 5]
# y.shape == [8, 1, 2]
# d.shape == [1, 1]
t = u.sum(dim=-3)
f = torch.cat((y, t), 2)
m = d + f
n = m.view(2, 4, 1, 7)
# n.shape == ?
