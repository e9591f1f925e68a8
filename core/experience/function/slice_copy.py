"""slice_copy: NumPy-style slicing that copies the selected texts into new storage."""

from __future__ import annotations

from typing import Any

from experience.function.base import Context, Function, Grad
from experience.function.indexing import gather_coeff, positions, scatter_grad
from experience.storage.store import Storage
from experience.tensor import SymbolicTensor


class SliceCopy(Function):
    """Select elements into an independent tensor."""

    @staticmethod
    def forward(ctx: Context, t: SymbolicTensor, key: Any) -> SymbolicTensor:
        """Copy of `t[key]`."""
        pos = positions(tuple(t.shape), key)
        ctx.save(pos=pos, shape=tuple(t.shape))
        texts = t.storage.read_many(t.index.reshape(-1)[pos.reshape(-1)])
        return SymbolicTensor(gather_coeff(t.coeff, pos), Storage(texts, tuple(pos.shape)))

    @staticmethod
    def backward(ctx: Context, grad: Grad) -> tuple[Grad]:
        """Scatter grads back to the selected positions."""
        base = ctx.inputs[0].texts() if grad.diffs is not None else []
        return (scatter_grad(grad, ctx.saved["pos"], ctx.saved["shape"], base),)


slice_copy = SliceCopy.apply
