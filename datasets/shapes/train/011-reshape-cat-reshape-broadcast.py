# q.shape == [8]
# g.shape == [1, 1]
y = torch.reshape(q, (2, 4))
p = torch.cat((y, y), -2)
x = torch.reshape(p, (4, 2, 2))
r = torch.add(x, g)
# r.shape == ?
