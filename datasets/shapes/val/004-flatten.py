# p.shape == [8, 5]
v = torch.flatten(p, start_dim=0)
# v.shape == ?
