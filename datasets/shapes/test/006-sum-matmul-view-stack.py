# d.shape == [1, 3]
# u.shape == [1]
x = d.sum(dim=1, keepdim=True)
a = torch.matmul(x, u)
v = a.view(1, 1, 1, 1)
m = torch.stack([v, v, v], dim=3)
# m.shape == ?
