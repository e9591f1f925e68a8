# v.shape == [8, 3]
m = torch.permute(v, (1, 0))
# m.shape == ?
