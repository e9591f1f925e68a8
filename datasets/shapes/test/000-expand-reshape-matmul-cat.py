# e.shape == [5, 1, 8, 3]
# f.shape == [8, 1]
# m.shape == [2, 8, 8, 2]
p = e.expand(5, 4, 8, -1)
x = p.reshape(30, 8, 1, 2)
u = f.matmul(x)
v = torch.cat((m, u), 0)
# v.shape == ?
