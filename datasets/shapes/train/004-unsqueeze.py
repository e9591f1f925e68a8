# w.shape == [2]
q = w.unsqueeze(-2)
# q.shape == ?
