# u.shape == [6, 1]
# e.shape == [2, 6, 4]
m = u.flatten(0)
k = m @ e
y = k[0]
# y.shape == ?
