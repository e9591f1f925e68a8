# f.shape == [3, 2, 2, 1]
u = torch.mean(f, dim=-3)
j = torch.flatten(u, start_dim=1)
s = torch.mean(j, dim=0)
d = s[0:-1]
# d.shape == ?
