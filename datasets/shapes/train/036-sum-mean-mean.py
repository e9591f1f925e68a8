# z.shape == [1, 3, 1, 6]
c = torch.sum(z, dim=3)
q = torch.mean(c, dim=-3)
r = q.mean(1)
# r.shape == ?
