# p.shape == [4, 6, 4]
k = p.swapaxes(-3, 2)
a = torch.permute(k, (0, 2, 1))
# a.shape == ?
