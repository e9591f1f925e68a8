# h.shape == [6, 2]
# q.shape == [6, 2]
c = torch.stack([h, q], dim=2)
s = c.expand(6, 6, 2, 2)
r = torch.stack([s, s, s], dim=4)
v = r.reshape(27, -1)
# v.shape == ?
