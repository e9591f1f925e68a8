"""dense_to_sparse: the present elements (coeff != 0) as a 1-D tensor plus their coordinates."""

from __future__ import annotations

import numpy as np
import torch

from experience.function.base import Context, Function, Grad
from experience.storage.store import Storage
from experience.tensor import SymbolicTensor


def gather(grad: Grad, coords: torch.Tensor) -> Grad:
    """Grad at `coords` ([nnz, ndim]) of a dense grad: the backward of sparse_to_dense."""
    key = tuple(coords.t()) if coords.numel() else None
    coeff = None
    if grad.coeff is not None:
        coeff = grad.coeff[key].clone() if key is not None else grad.coeff.new_zeros(0)
    diffs = None
    if grad.diffs is not None:
        picked = [grad.diffs[tuple(int(i) for i in row)] for row in coords.tolist()]
        diffs = np.empty(len(picked), dtype=object)
        diffs[:] = picked
    return Grad(coeff, diffs)


def scatter(grad: Grad, coords: torch.Tensor, shape: tuple[int, ...], dtype: torch.dtype) -> Grad:
    """Dense grad of `shape` with `grad` placed at `coords`: the backward of dense_to_sparse."""
    coeff = None
    if grad.coeff is not None:
        coeff = torch.zeros(shape, dtype=dtype)
        if coords.numel():
            coeff.index_put_(tuple(coords.t()), grad.coeff, accumulate=True)
    diffs = None
    if grad.diffs is not None:
        diffs = np.full(shape, None, dtype=object)
        for row, d in zip(coords.tolist(), grad.diffs.reshape(-1), strict=True):
            diffs[tuple(row)] = d
    return Grad(coeff, diffs)


class DenseToSparse(Function):
    """Keep the present elements; return (values [nnz], coords [nnz, ndim] int64)."""

    @staticmethod
    def forward(ctx: Context, t: SymbolicTensor) -> tuple[SymbolicTensor, torch.Tensor]:
        """Values and coordinates of the non-zero elements, row-major."""
        coords = torch.nonzero(t.coeff.detach())
        ctx.save(coords=coords, shape=tuple(t.shape))
        picked = t.index[tuple(coords.t().numpy())] if coords.numel() else np.zeros(0, dtype=np.int64)
        texts = t.storage.read_many(picked.reshape(-1))
        values = t.coeff[tuple(coords.t())].clone() if coords.numel() else t.coeff.new_zeros(0)
        return SymbolicTensor(values, Storage(texts, (len(texts),))), coords

    @staticmethod
    def backward(ctx: Context, grad: Grad, _coords_grad: Grad) -> tuple[Grad]:
        """Scatter the values' grad back to the dense positions (what sparse_to_dense does)."""
        dtype = ctx.inputs[0].coeff.dtype
        return (scatter(grad, ctx.saved["coords"], ctx.saved["shape"], dtype),)


def dense_to_sparse(t: SymbolicTensor) -> tuple[SymbolicTensor, torch.Tensor]:
    """(values, coords) of the present elements of `t`."""
    values, coords = DenseToSparse.apply(t)
    return values, coords
