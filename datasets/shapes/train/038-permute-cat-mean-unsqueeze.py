# z.shape == [8, 5, 8]
# e.shape == [5, 6, 8]
g = torch.permute(z, (1, 0, 2))
v = torch.cat([e, g], dim=1)
n = v.mean(2, keepdim=True)
j = n.unsqueeze(3)
# j.shape == ?
