# b.shape == [6, 4, 6]
r = b.unsqueeze(3)
j = torch.flatten(r, start_dim=1)
# j.shape == ?
