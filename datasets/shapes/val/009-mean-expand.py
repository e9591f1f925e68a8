# z.shape == [6, 2]
f = z.mean(dim=1)
r = f.expand(4, 6, 6)
# r.shape == ?
