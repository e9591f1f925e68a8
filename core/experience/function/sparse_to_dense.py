"""sparse_to_dense: place 1-D values at coordinates in an otherwise empty tensor."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from experience.function.base import Context, Function, Grad
from experience.function.dense_to_sparse import gather
from experience.storage.store import Storage
from experience.tensor import SymbolicTensor


class SparseToDense(Function):
    """Inverse of dense_to_sparse."""

    @staticmethod
    def forward(ctx: Context, values: SymbolicTensor, coords: torch.Tensor, shape: Sequence[int]) -> SymbolicTensor:
        """Dense tensor of `shape`: values at coords, empty (coeff 0) elsewhere."""
        shape = tuple(int(s) for s in shape)
        if coords.dim() != 2 or coords.shape[0] != values.numel() or coords.shape[1] != len(shape):
            raise ValueError(f"coords must be [nnz={values.numel()}, ndim={len(shape)}], got {list(coords.shape)}")
        ctx.save(coords=coords)
        coeff = torch.zeros(shape, dtype=values.coeff.dtype)
        texts = np.full(shape, None, dtype=object)
        if coords.numel():
            coeff[tuple(coords.t())] = values.coeff
            for row, text in zip(coords.tolist(), values.texts(), strict=True):
                texts[tuple(row)] = text
        return SymbolicTensor(coeff, Storage(texts.reshape(-1).tolist(), shape))

    @staticmethod
    def backward(ctx: Context, grad: Grad) -> tuple[Grad]:
        """Gather the dense grad at the coordinates (what dense_to_sparse does)."""
        return (gather(grad, ctx.saved["coords"]),)


sparse_to_dense = SparseToDense.apply
