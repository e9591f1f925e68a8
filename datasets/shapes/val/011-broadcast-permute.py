# w.shape == [8, 6]
# s.shape == [1]
m = w / s
g = torch.permute(m, (1, 0))
# g.shape == ?
