# k.shape == [3, 3]
# f.shape == [4, 9, 8]
# c.shape == [4, 6]
s = k.view(-1)
t = torch.matmul(s, f)
y = torch.cat((t, c), 1)
u = y.unsqueeze(2)
# u.shape == ?
