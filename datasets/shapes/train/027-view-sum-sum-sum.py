# m.shape == [3, 3, 6, 6]
h = m.view(54, 6)
g = h.sum(dim=1)
z = g.sum(-1, keepdim=True)
t = z.sum(dim=0, keepdim=True)
# t.shape == ?
