# z.shape == [4, 1, 1, 3]
c = torch.mean(z, dim=2)
a = c.mean(-3, keepdim=True)
g = a.permute(0, 2, 1)
# g.shape == ?
