# h.shape == [6, 5, 5]
p = h.unsqueeze(-4)
b = torch.unsqueeze(p, -5)
x = b.expand(6, 1, -1, -1, -1)
# x.shape == ?
