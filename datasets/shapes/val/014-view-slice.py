# e.shape == [8, 1]
j = e.view(2, 4, 1)
n = j[1:, :6]
# n.shape == ?
