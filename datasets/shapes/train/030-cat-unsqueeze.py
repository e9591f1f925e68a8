# d.shape == [3, 8, 4]
# c.shape == [6, 8, 4]
u = torch.cat([d, c], dim=-3)
s = u.unsqueeze(0)
# s.shape == ?
