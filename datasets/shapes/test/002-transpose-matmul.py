# z.shape == [5, 4, 1, 4]
# e.shape == [2, 4, 5]
n = z.transpose(-3, 2)
t = n.matmul(e)
# t.shape == ?
