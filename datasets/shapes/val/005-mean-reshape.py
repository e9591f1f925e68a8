# v.shape == [4, 8, 1]
y = torch.mean(v, dim=0)
m = torch.reshape(y, (2, 4, 1))
# m.shape == ?
