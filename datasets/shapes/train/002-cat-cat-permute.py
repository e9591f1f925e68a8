# z.shape == [1, 5]
# j.shape == [1, 3]
# e.shape == [1, 2]
n = torch.cat([z, j], dim=-1)
x = torch.cat([e, n], dim=-1)
h = torch.permute(x, (1, 0))
# h.shape == ?
