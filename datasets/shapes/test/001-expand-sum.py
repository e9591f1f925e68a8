# n.shape == [5, 2]
c = n.expand(8, -1, -1)
p = c.sum(-3)
# p.shape == ?
