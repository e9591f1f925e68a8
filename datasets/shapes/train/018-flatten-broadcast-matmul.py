# a.shape == [6, 8, 2]
# k.shape == [2]
# u.shape == [2, 5]
c = a.flatten(0, 1)
h = torch.add(c, k)
t = h @ u
# t.shape == ?
