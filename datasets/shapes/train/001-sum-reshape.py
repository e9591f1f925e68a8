# r.shape == [5]
f = torch.sum(r, dim=0, keepdim=True)
s = f.reshape(1, 1, 1, 1)
# s.shape == ?
