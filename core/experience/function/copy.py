"""copy: an independent tensor with the same texts and coefficients."""

from __future__ import annotations

from experience.function.base import Context, Function, Grad
from experience.storage.store import Storage
from experience.tensor import SymbolicTensor


class Copy(Function):
    """Duplicate texts into new storage; the grad passes through unchanged."""

    @staticmethod
    def forward(ctx: Context, t: SymbolicTensor) -> SymbolicTensor:
        """New storage, same texts, same layout."""
        storage = Storage(t.texts(), tuple(t.shape), layout=None)
        return SymbolicTensor(t.coeff.clone(), storage)

    @staticmethod
    def backward(ctx: Context, grad: Grad) -> tuple[Grad]:
        """Identity."""
        return (grad,)


copy = Copy.apply
