# g.shape == [5]
# p.shape == [6, 5]
s = g[None]
w = torch.cat((p, s), 0)
# w.shape == ?
