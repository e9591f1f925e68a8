# m.shape == [5, 8, 5]
# b.shape == [5, 8, 1]
n = m * b
k = torch.permute(n, (2, 0, 1))
a = k.view(-1, 5, 2, 4)
# a.shape == ?
