"""NumPy-style indexing shared by the slice ops: positions forward, scatter backward."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from experience.function.base import Grad, object_array
from experience.text import merge_diffs


def _to_numpy(part: Any) -> Any:
    if isinstance(part, torch.Tensor):
        return part.detach().cpu().numpy()
    return part


def positions(shape: tuple[int, ...], key: Any) -> np.ndarray:
    """Flat positions (into a tensor of `shape`) selected by a NumPy-style `key`, in result shape."""
    key = tuple(_to_numpy(k) for k in key) if isinstance(key, tuple) else _to_numpy(key)
    grid = np.arange(int(np.prod(shape, dtype=np.int64)), dtype=np.int64).reshape(shape)
    try:
        picked = grid[key]
    except IndexError as error:
        raise IndexError(f"index {key!r} does not fit a tensor of shape {list(shape)}: {error}") from error
    # a C-ordered copy: a reversed slice gives negative strides, which torch.from_numpy refuses
    return np.array(picked, dtype=np.int64, order="C")


def gather_coeff(coeff: torch.Tensor, pos: np.ndarray) -> torch.Tensor:
    """Coefficients at `pos` (a new tensor in pos's shape)."""
    flat = torch.from_numpy(pos.reshape(-1))
    return coeff.reshape(-1)[flat].reshape(pos.shape).clone()


def scatter_grad(grad: Grad, pos: np.ndarray, shape: tuple[int, ...], base_texts: list[str | None]) -> Grad:
    """Send each output element's grad back to the input position it came from (adding repeats)."""
    coeff = None
    if grad.coeff is not None:
        flat = torch.zeros(int(np.prod(shape, dtype=np.int64)), dtype=grad.coeff.dtype)
        flat.index_add_(0, torch.from_numpy(pos.reshape(-1)), grad.coeff.reshape(-1))
        coeff = flat.reshape(shape)
    if grad.diffs is None:
        return Grad(coeff, None)
    merged: list[str | None] = [None] * len(base_texts)
    for p, d in zip(pos.reshape(-1).tolist(), grad.diffs.reshape(-1), strict=True):
        if d is None:
            continue
        merged[p] = d if merged[p] is None else merge_diffs(base_texts[p] or "", [merged[p], d])
    return Grad(coeff, object_array(merged, shape))
