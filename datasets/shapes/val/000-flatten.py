# u.shape == [3, 5, 3]
w = u.flatten(0, 1)
# w.shape == ?
