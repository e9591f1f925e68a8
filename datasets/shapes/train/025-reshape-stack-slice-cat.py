# s.shape == [4, 1]
# q.shape == [2, 2, 1]
# w.shape == [2, 1, 2, 4]
r = s.reshape(2, 2, 1)
x = torch.stack([r, q], dim=0)
h = x[:, -1:]
z = torch.cat([h, w], dim=3)
# z.shape == ?
