# b.shape == [2, 8, 6]
n = b[..., 5]
u = n.view(8, 1, 2)
# u.shape == ?
