# w.shape == [3, 2, 5]
s = w[:, None]
f = torch.reshape(s, (10, -1, 3))
# f.shape == ?
