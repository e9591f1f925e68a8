"""stack: join tensors of one shape along a new dimension (texts copied into new storage)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from experience.function.base import Context, Function, Grad, object_array
from experience.storage.store import Storage
from experience.tensor import SymbolicTensor


class Stack(Function):
    """torch.stack for symbolic tensors."""

    @staticmethod
    def forward(ctx: Context, tensors: Sequence[SymbolicTensor], dim: int = 0) -> SymbolicTensor:
        """Stack along a new axis `dim`."""
        if not tensors:
            raise ValueError("stack needs at least one tensor")
        shapes = {tuple(t.shape) for t in tensors}
        if len(shapes) != 1:
            raise ValueError(f"stack needs tensors of one shape, got {sorted(list(s) for s in shapes)}")
        coeff = torch.stack([t.coeff for t in tensors], dim=dim)
        dim = dim % coeff.dim()
        parts = [object_array(t.texts(), tuple(t.shape)) for t in tensors]
        texts = np.stack(parts, axis=dim).reshape(-1).tolist()
        ctx.save(dim=dim, count=len(tensors))
        return SymbolicTensor(coeff, Storage(texts, tuple(coeff.shape)))

    @staticmethod
    def backward(ctx: Context, grad: Grad) -> list[Grad]:
        """Split the grad back along `dim`."""
        dim, count = ctx.saved["dim"], ctx.saved["count"]
        coeffs = list(grad.coeff.unbind(dim)) if grad.coeff is not None else [None] * count
        if grad.diffs is None:
            return [Grad(c, None) for c in coeffs]
        diffs = [np.take(grad.diffs, i, axis=dim) for i in range(count)]
        return [Grad(c, d) for c, d in zip(coeffs, diffs, strict=True)]


stack = Stack.apply
