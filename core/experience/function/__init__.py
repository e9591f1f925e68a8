"""Autograd Functions, one op per file (`op = Op.apply`)."""

from experience.function.base import Context, Function, Grad
from experience.function.copy import copy
from experience.function.dense_to_sparse import dense_to_sparse
from experience.function.edit_distance_ratio import edit_distance_ratio
from experience.function.fork import fork
from experience.function.merge import merge
from experience.function.slice_attention import slice_attention
from experience.function.slice_copy import slice_copy
from experience.function.slice_view import slice_view
from experience.function.sparse_to_dense import sparse_to_dense
from experience.function.st_attention import st_attention
from experience.function.st_moe import st_moe
from experience.function.stack import stack
from experience.function.with_dense_view import with_dense_view

__all__ = [
    "Context",
    "Function",
    "Grad",
    "copy",
    "dense_to_sparse",
    "edit_distance_ratio",
    "fork",
    "merge",
    "slice_attention",
    "slice_copy",
    "slice_view",
    "sparse_to_dense",
    "st_attention",
    "st_moe",
    "stack",
    "with_dense_view",
]
