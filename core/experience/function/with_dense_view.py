"""with_dense_view: run a dense op on sparse (values, coords) and come back to the same coords."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

from experience.function.slice_view import slice_view
from experience.function.sparse_to_dense import sparse_to_dense
from experience.tensor import SymbolicTensor


def with_dense_view(
    fn: Callable[[SymbolicTensor], SymbolicTensor],
    values: SymbolicTensor,
    coords: torch.Tensor,
    shape: Sequence[int],
) -> SymbolicTensor:
    """`fn` applied to the dense form of (values, coords); returns its result's values at `coords`."""
    dense = sparse_to_dense(values, coords, shape)
    out = fn(dense)
    if tuple(out.shape) != tuple(int(s) for s in shape):
        raise ValueError(f"with_dense_view: fn must keep the shape {list(shape)}, got {list(out.shape)}")
    key = tuple(coords.t()) if coords.numel() else ([],) * len(shape)
    result: SymbolicTensor = slice_view(out, key)
    return result
