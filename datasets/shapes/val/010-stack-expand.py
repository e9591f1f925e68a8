# p.shape == [4, 4]
# n.shape == [4, 4]
m = torch.stack([p, n], dim=-2)
v = m.expand(6, -1, -1, 4)
# v.shape == ?
