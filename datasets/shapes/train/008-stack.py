# g.shape == [4, 6, 2, 8]
# y.shape == [4, 6, 2, 8]
# s.shape == [4, 6, 2, 8]
w = torch.stack([g, y, s], dim=3)
# w.shape == ?
