# m.shape == [2, 1]
# g.shape == [2, 1]
w = m / g
# w.shape == ?
