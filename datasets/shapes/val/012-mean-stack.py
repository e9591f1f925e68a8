# r.shape == [4]
p = r.mean(dim=0, keepdim=True)
f = torch.stack([p, p])
# f.shape == ?
