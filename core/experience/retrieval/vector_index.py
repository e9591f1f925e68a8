"""FAISS inner-product search over unit vectors: exact (IndexFlatIP) for small sets, HNSW above a threshold.

The kind is chosen from the row count and reported by `describe()`. HNSW cannot delete or move a vector,
so rows changed since the graph was built (patches, hand edits, new rows) are masked out of it and searched
exactly on the side; the graph is rebuilt once that set passes `REBUILD_FRACTION` of the rows (or
`REBUILD_PENDING` rows). IVF was measured too: on the bench's vectors it needed about 1/8 of its lists
scanned for recall@3 >= 0.95 at 10^5 rows (a cost linear in the rows); HNSW with M=16, efConstruction=40
reached only recall@3 0.59 at 10^6, M=32, efConstruction=100 reached 1.0 (bench/results/retrieval.json).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["EXACT_LIMIT", "VectorIndex"]

IntArray = npt.NDArray[np.int64]
Vectors = npt.NDArray[np.float32]
BoolArray = npt.NDArray[np.bool_]

EXACT_LIMIT = 20_000  # rows up to which search is exact (a flat scan of 20k x 384 floats: a few ms)
HNSW_M = 32  # graph neighbours per node
HNSW_EF_CONSTRUCTION = 100
HNSW_EF_SEARCH = 128  # candidates kept while searching (recall@3 >= 0.95 at 10^6 in the bench)
REBUILD_FRACTION = 0.05  # rebuild the graph once this share of rows changed since it was built ...
REBUILD_PENDING = 10_000  # ... or this many rows (each is searched exactly on the side, per query)


def _faiss() -> Any:
    """The faiss module (imported on first use: it is heavy)."""
    import faiss

    return faiss


class VectorIndex:
    """Top-`depth` inner products of query vectors against row vectors (ids are row numbers)."""

    def __init__(
        self, dim: int = 384, *, exact_limit: int = EXACT_LIMIT, ef_search: int = HNSW_EF_SEARCH, seed: int = 0
    ) -> None:
        self.dim = dim
        self.exact_limit = exact_limit
        self.ef_search = ef_search
        self.seed = seed
        self.kind = "empty"
        self.rows = 0
        self.builds = 0
        self.build_s = 0.0
        self.vectors: Vectors = np.zeros((0, dim), dtype=np.float32)
        self.pending: set[int] = set()  # rows whose graph node is stale or missing (searched exactly)
        self._index: Any = None
        self._keep: list[Any] = []  # selector and bitmap of the last search, alive while FAISS reads them
        self._side_rows: IntArray = np.empty(0, dtype=np.int64)  # sorted pending rows and their vectors
        self._side_vecs: Vectors = np.zeros((0, dim), dtype=np.float32)
        self._graph_ok: BoolArray | None = None  # graph nodes that may be returned (None: all)

    def build(self, vectors: Vectors) -> None:
        """(Re)build from all row vectors [N, dim]: flat up to `exact_limit` rows, HNSW above."""
        faiss = _faiss()
        start = time.perf_counter()
        self.vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        n = int(self.vectors.shape[0])
        if n <= self.exact_limit:
            index = faiss.IndexFlatIP(self.dim)
            self.kind = "flat"
        else:
            index = faiss.IndexHNSWFlat(self.dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
            index.hnsw.efSearch = self.ef_search
            self.kind = "hnsw"
        if n:
            index.add(self.vectors)
        self._index = index
        self.rows = n
        self._set_pending(set())
        self.builds += 1
        self.build_s = time.perf_counter() - start

    def update(self, vectors: Vectors, changed: IntArray) -> None:
        """Follow new row vectors [N', dim] of which rows `changed` differ (rows past the old N are new)."""
        n = int(vectors.shape[0])
        kind = "flat" if n <= self.exact_limit else "hnsw"
        graph_rows = int(self._index.ntotal) if self._index is not None else 0
        pending = self.pending | {int(r) for r in changed} | set(range(graph_rows, n))
        pending = {r for r in pending if r < n}
        limit = min(REBUILD_FRACTION * n, REBUILD_PENDING)
        if self._index is None or kind != self.kind or kind == "flat" or len(pending) > limit:
            self.build(vectors)
            return
        self.vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        self.rows = n
        self._set_pending(pending)

    def _set_pending(self, pending: set[int]) -> None:
        """Record the rows searched on the side; cache their vectors and the graph's allowed nodes."""
        self.pending = pending
        self._side_rows = np.fromiter(sorted(pending), dtype=np.int64, count=len(pending))
        self._side_vecs = np.ascontiguousarray(self.vectors[self._side_rows], dtype=np.float32)
        graph_rows = int(self._index.ntotal) if self._index is not None else 0
        if not pending and graph_rows <= self.rows:
            self._graph_ok = None
            return
        ok = np.zeros(graph_rows, dtype=bool)
        ok[: min(graph_rows, self.rows)] = True
        ok[self._side_rows[self._side_rows < graph_rows]] = False
        self._graph_ok = ok

    def search(
        self, queries: Vectors, depth: int, allowed: BoolArray | None = None
    ) -> tuple[npt.NDArray[np.float32], IntArray]:
        """Inner products and row ids [B, depth], best first, ties by row; id -1 pads; `allowed` filters rows."""
        queries = np.ascontiguousarray(queries, dtype=np.float32).reshape(-1, self.dim)
        depth = max(1, min(depth, self.rows))
        if self._index is None or self.rows == 0:
            empty = np.full((queries.shape[0], 0), -1, dtype=np.int64)
            return np.zeros(empty.shape, np.float32), empty
        params = self._params(self._graph_mask(allowed))
        sims, ids = self._index.search(queries, depth, params=params) if params else self._index.search(queries, depth)
        ids = ids.astype(np.int64)
        if self.pending:
            side, vecs = self._side_rows, self._side_vecs
            if allowed is not None:
                keep = allowed[side]
                side, vecs = side[keep], vecs[keep]
            sims = np.concatenate((sims, queries @ vecs.T), axis=1)
            ids = np.concatenate((ids, np.broadcast_to(side, (queries.shape[0], side.shape[0]))), axis=1)
        order = np.lexsort((np.where(ids < 0, np.iinfo(np.int64).max, ids), -sims), axis=1)[:, :depth]
        return np.take_along_axis(sims, order, 1), np.take_along_axis(ids, order, 1)

    def _graph_mask(self, allowed: BoolArray | None) -> BoolArray | None:
        """Rows the graph (or flat index) may return: allowed, not pending, still in range; None: all."""
        if allowed is None:
            return self._graph_ok
        graph_rows = int(self._index.ntotal)
        upto = min(graph_rows, self.rows)
        if self._graph_ok is None and graph_rows == upto:
            return allowed[:graph_rows]
        mask = self._graph_ok.copy() if self._graph_ok is not None else np.zeros(graph_rows, dtype=bool)
        mask[:upto] &= allowed[:upto]
        return mask

    def _params(self, mask: BoolArray | None) -> Any:
        """Search parameters restricting the ids to `mask` (None: every row)."""
        if mask is None:
            return None
        if mask is self._graph_ok and self._keep and self._keep[0] is mask:
            return self._keep[3]  # the cached selector of the graph's own mask
        if bool(mask.all()):
            return None
        faiss = _faiss()
        bitmap = np.packbits(mask, bitorder="little")
        selector = faiss.IDSelectorBitmap(int(mask.shape[0]), faiss.swig_ptr(bitmap))
        if self.kind == "hnsw":
            params = faiss.SearchParametersHNSW(sel=selector, efSearch=self.ef_search)
        else:
            params = faiss.SearchParameters(sel=selector)
        self._keep = [mask, bitmap, selector, params]
        return params

    def memory_bytes(self) -> int:
        """Approximate bytes the FAISS index holds (vectors, and for HNSW its level-0 links)."""
        if self._index is None:
            return 0
        links = 2 * HNSW_M * 4 * 1.1 if self.kind == "hnsw" else 0
        return int(self._index.ntotal * (self.dim * 4 + links))

    def describe(self) -> dict[str, Any]:
        """Kind (flat / hnsw), rows, graph parameters, rows searched on the side, build count and time."""
        faiss = _faiss()
        hnsw = self.kind == "hnsw"
        return {
            "kind": self.kind,
            "exact": not hnsw,
            "rows": self.rows,
            "dim": self.dim,
            "exact_limit": self.exact_limit,
            "hnsw": {"M": HNSW_M, "efConstruction": HNSW_EF_CONSTRUCTION, "efSearch": self.ef_search} if hnsw else None,
            "pending_rows": len(self.pending),
            "rebuild_fraction": REBUILD_FRACTION,
            "builds": self.builds,
            "build_s": round(self.build_s, 4),
            "memory_bytes": self.memory_bytes(),
            "faiss": faiss.__version__,
        }
