# n.shape == [1, 1]
z = n.transpose(0, 1)
# z.shape == ?
