"""Deterministic top-k selection: highest score first, ties broken by the lower row index."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["first_rows_except", "topk_indices"]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

_SAMPLE = 4096  # scores sampled to find a floor under the k-th largest


def topk_indices(scores: FloatArray, k: int) -> IntArray:
    """Indices of the k highest scores, best first; equal scores keep ascending index order."""
    n = int(scores.shape[0])
    k = min(k, n)
    if k <= 0:
        return np.empty(0, dtype=np.int64)
    if k == n:
        return np.lexsort((np.arange(n), -scores)).astype(np.int64, copy=False)
    pool = _pool(scores, k)
    sub = scores[pool]
    # k-th largest value in O(len(pool)); everything above it is in, ties fill up by index.
    threshold = -np.partition(-sub, k - 1)[k - 1]
    above = pool[sub > threshold]
    ties = pool[sub == threshold][: k - above.shape[0]]
    chosen = np.concatenate((above, ties))
    order = np.lexsort((chosen, -scores[chosen]))
    return chosen[order].astype(np.int64, copy=False)


def _pool(scores: FloatArray, k: int) -> IntArray:
    """Ascending indices that surely hold the top k and every tie at the k-th value.

    The k-th largest of a strided sample is at most the k-th largest of all scores, so
    keeping the scores at or above it loses nothing; on a large vector it leaves a few
    thousand rows for the partition instead of all of them.
    """
    n = int(scores.shape[0])
    sample_size = max(8 * k, _SAMPLE)
    if n < 4 * sample_size:
        return np.arange(n, dtype=np.int64)
    sample = scores[:: n // sample_size]
    floor = -np.partition(-sample, k - 1)[k - 1]
    return np.flatnonzero(scores >= floor).astype(np.int64, copy=False)


def first_rows_except(excluded: IntArray, count: int, rows: int) -> IntArray:
    """The `count` lowest row indices in [0, rows) that are not in the sorted array `excluded`."""
    if count <= 0:
        return np.empty(0, dtype=np.int64)
    # At most len(excluded) rows are skipped, so the answer lies in the first count+len rows.
    span = min(rows, count + int(excluded.shape[0]))
    free = np.ones(span, dtype=bool)
    free[excluded[excluded < span]] = False
    return np.flatnonzero(free)[:count].astype(np.int64, copy=False)
