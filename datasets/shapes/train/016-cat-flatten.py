# h.shape == [8, 8, 1]
# u.shape == [8, 8, 2]
r = torch.cat((h, u), 2)
q = r.flatten(1)
# q.shape == ?
