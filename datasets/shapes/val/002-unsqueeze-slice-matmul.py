# c.shape == [3, 6, 8]
# e.shape == [8, 8]
g = c.unsqueeze(3)
n = g[::2]
f = torch.matmul(e, n)
# f.shape == ?
