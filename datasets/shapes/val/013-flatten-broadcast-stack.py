# r.shape == [5, 5, 8]
# q.shape == [1]
z = torch.flatten(r, start_dim=1)
j = z - q
k = torch.stack([j, j], dim=2)
# k.shape == ?
