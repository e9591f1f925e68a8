# e.shape == [1, 1]
n = e[..., -1]
w = torch.stack([n, n, n], dim=-1)
x = w.view(1, 1, 3)
# x.shape == ?
