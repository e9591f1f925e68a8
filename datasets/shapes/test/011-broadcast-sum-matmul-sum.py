# p.shape == [8, 5, 1]
# r.shape == [1, 5, 1]
# m.shape == [1, 4]
a = r / p
g = a.sum(dim=-2)
x = g @ m
v = torch.sum(x, dim=0)
# v.shape == ?
