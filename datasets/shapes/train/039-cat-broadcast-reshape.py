# a.shape == [4, 2]
# z.shape == [3, 2]
# c.shape == [2]
b = torch.cat((a, z), 0)
r = torch.mul(c, b)
j = r.reshape(2, 1, 7)
# j.shape == ?
