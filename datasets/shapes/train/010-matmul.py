# b.shape == [6, 4]
# q.shape == [4, 4, 4]
e = b @ q
# e.shape == ?
