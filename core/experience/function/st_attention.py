"""st_attention: slice_attention followed by merge along the attended axis."""

from __future__ import annotations

import torch

from experience.function.merge import merge
from experience.function.slice_attention import slice_attention
from experience.tensor import SymbolicTensor


def st_attention(x: SymbolicTensor, mask: torch.Tensor | None = None) -> SymbolicTensor:
    """For each position, the merged text of the positions it attends to (causal by default)."""
    out: SymbolicTensor = merge(slice_attention(x, mask), 1)
    return out
