# a.shape == [4, 4]
g = a.swapaxes(0, -1)
n = torch.flatten(g, start_dim=0)
# n.shape == ?
