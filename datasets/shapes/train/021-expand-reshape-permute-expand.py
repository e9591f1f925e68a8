# v.shape == [2, 5, 5, 5]
j = v.expand(6, 2, -1, 5, -1)
w = j.reshape(10, 15, 10)
x = w.permute(1, 0, 2)
t = x.expand(2, 15, 10, 10)
# t.shape == ?
