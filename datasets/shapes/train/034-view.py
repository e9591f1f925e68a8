# a.shape == [2, 8, 6, 4]
u = a.view(2, 8, 6, 2, 2)
# u.shape == ?
