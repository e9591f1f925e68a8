# r.shape == [8, 2, 3, 2]
p = torch.sum(r, dim=-3, keepdim=True)
t = p.expand(6, 8, 8, 3, 2)
a = t.sum(dim=(-3, 4))
# a.shape == ?
