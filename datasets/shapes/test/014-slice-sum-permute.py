# j.shape == [5, 2, 2, 4]
u = j[::3]
y = torch.sum(u, dim=3)
c = y.permute(2, 0, 1)
# c.shape == ?
