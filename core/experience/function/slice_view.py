"""slice_view: NumPy-style slicing whose result shares the input's storage (writes show through)."""

from __future__ import annotations

from typing import Any

from experience.function.base import Context, Function, Grad
from experience.function.indexing import gather_coeff, positions, scatter_grad
from experience.tensor import SymbolicTensor


class SliceView(Function):
    """Select elements without copying their texts."""

    @staticmethod
    def forward(ctx: Context, t: SymbolicTensor, key: Any) -> SymbolicTensor:
        """View of `t[key]` on the same storage."""
        pos = positions(tuple(t.shape), key)
        ctx.save(pos=pos, shape=tuple(t.shape))
        index = t.index.reshape(-1)[pos.reshape(-1)].reshape(pos.shape)
        return SymbolicTensor(gather_coeff(t.coeff, pos), t.storage, index, t.name)

    @staticmethod
    def backward(ctx: Context, grad: Grad) -> tuple[Grad]:
        """Scatter grads back to the selected positions."""
        base = ctx.inputs[0].texts() if grad.diffs is not None else []
        return (scatter_grad(grad, ctx.saved["pos"], ctx.saved["shape"], base),)


slice_view = SliceView.apply


class Slicer:
    """`t.view[...]`: indexing sugar for slice_view."""

    def __init__(self, t: SymbolicTensor) -> None:
        self.t = t

    def __getitem__(self, key: Any) -> SymbolicTensor:
        """View of the selected elements."""
        result: SymbolicTensor = slice_view(self.t, key)
        return result
