# c.shape == [3, 1, 3]
# z.shape == [3, 1, 3]
# h.shape == [3, 1, 3]
# f.shape == [3, 1, 3, 3]
r = torch.stack([c, z, h], dim=3)
v = torch.stack([r, f], dim=-2)
# v.shape == ?
