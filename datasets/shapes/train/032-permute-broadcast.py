# y.shape == [6, 5]
# v.shape == [1]
n = torch.permute(y, (1, 0))
c = v + n
# c.shape == ?
