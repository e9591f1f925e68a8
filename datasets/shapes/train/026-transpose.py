# k.shape == [2, 3, 4, 3]
f = torch.transpose(k, 3, 1)
# f.shape == ?
