"""Experience: train models whose weights are text.

import experience as ex
t = ex.tensor([["a", "b"], ["c", ""]], root=dir)
"""

from experience import optim
from experience.experience_tensor import Experience
from experience.function import (
    copy,
    dense_to_sparse,
    edit_distance_ratio,
    fork,
    merge,
    slice_copy,
    slice_view,
    sparse_to_dense,
    stack,
    with_dense_view,
)
from experience.make import empty_like, tensor
from experience.storage.serialize import TensorDirectoryError, load, save
from experience.tensor import SymbolicTensor
from experience.text import PatchFormatError, PatchOutcome
from experience.textwise import PatchStats, diff, patch

__version__ = "0.1.0"

__all__ = [
    "Experience",
    "PatchFormatError",
    "PatchOutcome",
    "PatchStats",
    "SymbolicTensor",
    "TensorDirectoryError",
    "__version__",
    "copy",
    "dense_to_sparse",
    "diff",
    "edit_distance_ratio",
    "empty_like",
    "fork",
    "load",
    "merge",
    "optim",
    "patch",
    "save",
    "slice_copy",
    "slice_view",
    "sparse_to_dense",
    "stack",
    "tensor",
    "with_dense_view",
]
