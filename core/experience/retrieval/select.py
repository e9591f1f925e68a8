"""Deterministic top-k selection: highest score first, ties broken by the lower row index."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["first_rows_except", "topk_indices"]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


def topk_indices(scores: FloatArray, k: int) -> IntArray:
    """Indices of the k highest scores, best first; equal scores keep ascending index order."""
    n = int(scores.shape[0])
    k = min(k, n)
    if k <= 0:
        return np.empty(0, dtype=np.int64)
    if k < n:
        # k-th largest value in O(n); everything above it is in, ties at it fill up by index.
        threshold = -np.partition(-scores, k - 1)[k - 1]
        above = np.flatnonzero(scores > threshold)
        ties = np.flatnonzero(scores == threshold)[: k - above.shape[0]]
        chosen = np.concatenate((above, ties))
    else:
        chosen = np.arange(n, dtype=np.int64)
    order = np.lexsort((chosen, -scores[chosen]))
    return chosen[order].astype(np.int64, copy=False)


def first_rows_except(excluded: IntArray, count: int, rows: int) -> IntArray:
    """The `count` lowest row indices in [0, rows) that are not in the sorted array `excluded`."""
    if count <= 0:
        return np.empty(0, dtype=np.int64)
    # At most len(excluded) rows are skipped, so the answer lies in the first count+len rows.
    span = min(rows, count + int(excluded.shape[0]))
    free = np.ones(span, dtype=bool)
    free[excluded[excluded < span]] = False
    return np.flatnonzero(free)[:count].astype(np.int64, copy=False)
