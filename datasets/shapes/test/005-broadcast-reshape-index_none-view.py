# j.shape == [1, 4, 1]
# v.shape == [1]
m = j - v
b = torch.reshape(m, (2, 1, 2))
g = b[None, ...]
w = g.view(2, -1, 1, 2)
# w.shape == ?
