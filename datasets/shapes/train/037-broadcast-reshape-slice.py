# f.shape == [3, 2, 2]
# s.shape == [2]
a = f * s
n = torch.reshape(a, (4, 3))
p = n[::3]
# p.shape == ?
