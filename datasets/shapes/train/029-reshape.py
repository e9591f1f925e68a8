# w.shape == [2, 6, 4, 1]
n = w.reshape(2, 2, 3, 4, 1)
# n.shape == ?
