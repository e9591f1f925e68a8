# v.shape == [6]
# a.shape == [2]
# b.shape == [2]
x = v[::3]
z = torch.stack([x, a, b], dim=-2)
m = z.expand(4, -1, 2)
g = m[::2, :-1]
# g.shape == ?
