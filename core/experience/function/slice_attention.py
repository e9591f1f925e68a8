"""slice_attention: for each position t, the elements it may attend to (causal: j <= t) as a [T, T] tensor."""

from __future__ import annotations

import torch

from experience.function.base import Context, Function, Grad, object_array
from experience.storage.store import Storage
from experience.tensor import SymbolicTensor
from experience.text import merge_diffs


class SliceAttention(Function):
    """out[t, j] = x[j] where mask[t, j] (default: j <= t), empty elsewhere."""

    @staticmethod
    def forward(ctx: Context, x: SymbolicTensor, mask: torch.Tensor | None = None) -> SymbolicTensor:
        """Masked broadcast of a 1-D tensor over query positions."""
        if x.dim() != 1:
            raise ValueError(f"slice_attention takes a 1-D tensor, got shape {list(x.shape)}")
        n = x.shape[0]
        keep = torch.ones(n, n, dtype=torch.bool).tril() if mask is None else mask.to(torch.bool)
        if tuple(keep.shape) != (n, n):
            raise ValueError(f"mask must be [{n}, {n}], got {list(keep.shape)}")
        ctx.save(keep=keep)
        texts = x.texts()
        grid = [texts[j] if keep[t, j] else None for t in range(n) for j in range(n)]
        coeff = x.coeff.unsqueeze(0).expand(n, n) * keep.to(x.coeff.dtype)
        return SymbolicTensor(coeff.clone(), Storage(grid, (n, n)))

    @staticmethod
    def backward(ctx: Context, grad: Grad) -> tuple[Grad]:
        """Sum the numeric grads of each column; merge the diffs each source element received."""
        keep: torch.Tensor = ctx.saved["keep"]
        coeff = None if grad.coeff is None else (grad.coeff * keep.to(grad.coeff.dtype)).sum(dim=0)
        if grad.diffs is None:
            return (Grad(coeff, None),)
        base = ctx.inputs[0].texts()
        merged: list[str | None] = []
        for j, text in enumerate(base):
            column = [grad.diffs[t, j] for t in range(len(base)) if keep[t, j]]
            merged.append(merge_diffs(text or "", column) if any(column) else None)
        return (Grad(coeff, object_array(merged, (len(base),))),)


slice_attention = SliceAttention.apply
