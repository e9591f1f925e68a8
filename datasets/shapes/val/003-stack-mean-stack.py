# c.shape == [1]
# j.shape == [1]
# b.shape == [1]
t = torch.stack([c, c])
q = torch.mean(t, dim=-2)
a = torch.stack([q, j, b], dim=0)
# a.shape == ?
