# n.shape == [1, 5, 1]
# d.shape == [8, 1]
# f.shape == [1, 1, 8, 5]
m = torch.reshape(n, (1, 1, 1, 5))
s = d @ m
j = s * f
b = j.permute(2, 0, 1, 3)
# b.shape == ?
