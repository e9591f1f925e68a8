# a.shape == [3, 3, 3]
# c.shape == [6, 3, 3, 1]
# b.shape == [3, 8]
q = a * c
s = q.mean(dim=(0, 1))
x = s.matmul(b)
# x.shape == ?
