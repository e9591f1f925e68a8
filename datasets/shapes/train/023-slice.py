# p.shape == [5]
v = p[::3]
# v.shape == ?
