"""The `embedding` retriever: cosine of MiniLM embeddings, rows from their key, inputs from their source.

Rows are embedded from their key (their query keywords when the key is empty); an input from its source
(its keywords when it has none). Each distinct text is embedded once; `sync` re-embeds only rows whose
text changed and updates the FAISS index in place. Similarity is the cosine calibrated onto the Jaccard
scale (`calibrate`: cosine 0.55 reads 0.25, st_moe's refine threshold).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from experience.retrieval.base import (
    REFINE_COSINE,
    REFINE_SIMILARITY,
    Retriever,
    calibrate,
    check_topk_args,
    finish,
)
from experience.retrieval.embedder import Embedder, text_hash
from experience.retrieval.vector_index import EXACT_LIMIT, HNSW_EF_SEARCH, VectorIndex

__all__ = ["CACHE_FILE", "EmbeddingRetriever", "input_text", "row_document"]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
Vectors = npt.NDArray[np.float32]
Candidates = tuple[IntArray, FloatArray]

CACHE_FILE = "embeddings.npz"
MAX_DEPTH = 4096  # past this many candidates per input, score every row exactly instead


def row_document(query: str | None, key: str | None) -> str:
    """The text a row is embedded from: its key, or its query keywords when the key is empty."""
    return key if key and key.strip() else (query or "")


def input_text(keywords: Iterable[str], source: str | None) -> str:
    """The text an input is embedded from: its source, or its keywords when it has none."""
    return source if source and source.strip() else "\n".join(sorted(keywords))


class EmbeddingRetriever(Retriever):
    """Cosine top-k through a VectorIndex (exact up to `exact_limit` rows, HNSW above), trust-weighted."""

    name = "embedding"

    def __init__(
        self,
        embedder: Embedder | None = None,
        *,
        cache_dir: Path | None = None,
        exact_limit: int = EXACT_LIMIT,
        ef_search: int = HNSW_EF_SEARCH,
        mmr: float | None = None,
        knee: float = REFINE_COSINE,
    ) -> None:
        self.embedder = embedder or Embedder()
        self.cache_path = Path(cache_dir) / CACHE_FILE if cache_dir is not None else None
        self.index = VectorIndex(self.embedder.dim, exact_limit=exact_limit, ef_search=ef_search)
        self.mmr = mmr
        self.knee = knee
        self.vectors: Vectors = np.zeros((0, self.embedder.dim), dtype=np.float32)
        self._hashes: list[str] = []
        self._cache_read = False
        self.reembedded = 0  # rows re-embedded by sync (after the first build)

    @property
    def rows(self) -> int:
        """Number of experience rows indexed."""
        return len(self._hashes)

    def sync(self, queries: Sequence[str | None], keys: Sequence[str | None]) -> None:
        """Embed the rows whose text changed (cache first), then update the index in place."""
        docs = [row_document(q, k) for q, k in zip(queries, keys, strict=True)]
        hashes = [text_hash(d) for d in docs]
        if hashes == self._hashes and self.index.rows == len(hashes):
            return
        if not self._cache_read and self.cache_path is not None:
            self._cache_read = True
            self.embedder.load(self.cache_path, check=docs)
        changed = [r for r, h in enumerate(hashes) if r >= len(self._hashes) or self._hashes[r] != h]
        before = self.embedder.embedded
        fresh = self.embedder.embed([docs[r] for r in changed])
        vectors = np.zeros((len(docs), self.embedder.dim), dtype=np.float32)
        keep = min(len(docs), self.vectors.shape[0])
        vectors[:keep] = self.vectors[:keep]
        if changed:
            vectors[changed] = fresh
        if self.index.rows or self.index.builds:
            self.reembedded += len(changed)
        self.vectors, self._hashes = vectors, hashes
        self.index.update(vectors, np.asarray(changed, dtype=np.int64))
        if self.embedder.embedded > before and self.cache_path is not None:
            self.embedder.save(self.cache_path, hashes)
        if len(self.embedder.cache) > 2 * len(hashes) + 10_000:
            self.embedder.forget(hashes)

    def topk_batch(
        self,
        keyword_sets: Sequence[Iterable[str]],
        k: int,
        *,
        noise_std: float = 0.0,
        rng: np.random.Generator | None = None,
        weights: npt.ArrayLike | None = None,
        prior: npt.ArrayLike | None = None,
        sources: Sequence[str | None] | None = None,
    ) -> list[list[int]]:
        """Per input: rows by calibrated cosine * weight + prior + noise, rows at weight 0 never returned."""
        k, scale, bonus = check_topk_args(k, noise_std, rng, weights, prior, self.rows)
        if self.rows == 0:
            return [[] for _ in keyword_sets]
        queries = self.embed_inputs(keyword_sets, sources)
        return [
            finish(rows, self.calibrate(cos), k, weights=scale, prior=bonus, noise_std=noise_std, rng=rng,
                   mmr=self.mmr, pair_sim=self.pair_similarity)
            for rows, cos in self.candidates(queries, k, scale, bonus)
        ]  # fmt: skip

    def embed_inputs(self, keyword_sets: Sequence[Iterable[str]], sources: Sequence[str | None] | None) -> Vectors:
        """Unit vectors of the inputs (sources, or keywords where there is no source)."""
        if sources is not None and len(sources) != len(keyword_sets):
            raise ValueError(f"got {len(sources)} sources for {len(keyword_sets)} keyword sets")
        texts = [input_text(words, sources[i] if sources else None) for i, words in enumerate(keyword_sets)]
        return self.embedder.embed(texts)

    def candidates(
        self, queries: Vectors, k: int, weights: FloatArray | None, prior: FloatArray | None
    ) -> list[Candidates]:
        """Rows and raw cosines per query, deep enough that no row outside them can score into the top k."""
        allowed = weights > 0.0 if weights is not None else None
        eligible = int(allowed.sum()) if allowed is not None else self.rows
        out: list[Candidates] = [(np.empty(0, np.int64), np.empty(0, np.float64))] * queries.shape[0]
        if eligible == 0:
            return out
        w_max = float(weights[allowed].max()) if weights is not None and allowed is not None else 1.0
        p_max = float(prior.max()) if prior is not None else 0.0
        depth = min(eligible, max(8 * k, 32))
        todo = list(range(queries.shape[0]))
        while todo:
            if depth > MAX_DEPTH:
                for i in todo:
                    out[i] = self._exact(queries[i], allowed)
                break
            sims, ids = self.index.search(queries[todo], depth, allowed)
            again = []
            for j, i in enumerate(todo):
                found = ids[j] >= 0
                rows, cos = ids[j][found], sims[j][found].astype(np.float64)
                reached_all = rows.shape[0] < depth or depth >= eligible
                if reached_all or self._settled(rows, cos, k, weights, prior, w_max, p_max):
                    out[i] = (rows, cos)
                else:
                    again.append(i)
            todo, depth = again, min(eligible, depth * 8)
        return out

    def _settled(
        self,
        rows: IntArray,
        cos: FloatArray,
        k: int,
        weights: FloatArray | None,
        prior: FloatArray | None,
        w_max: float,
        p_max: float,
    ) -> bool:
        """Whether the k-th best candidate outscores any row the search has not reached (noise aside)."""
        if rows.shape[0] < k:
            return False
        if weights is None and prior is None:
            return True
        score = self.calibrate(cos) * (weights[rows] if weights is not None else 1.0)
        if prior is not None:
            score = score + prior[rows]
        kth = float(-np.partition(-score, k - 1)[k - 1])
        bound = float(self.calibrate(cos[-1:])[0]) * w_max + p_max
        return kth >= bound

    def _exact(self, query: Vectors, allowed: npt.NDArray[np.bool_] | None) -> Candidates:
        """Every allowed row with its cosine (a full scan)."""
        rows = np.flatnonzero(allowed) if allowed is not None else np.arange(self.rows)
        rows = rows.astype(np.int64, copy=False)
        return rows, (self.vectors[rows] @ query).astype(np.float64)

    def calibrate(self, cosine: npt.ArrayLike) -> FloatArray:
        """Cosine onto the Jaccard scale (this retriever's knee reads 0.25)."""
        return calibrate(cosine, self.knee)

    def pair_similarity(self, rows: IntArray) -> FloatArray:
        """Calibrated cosine between rows, [n, n] (for MMR)."""
        block = self.vectors[rows]
        return self.calibrate(block @ block.T)

    def similarity(self, keywords: Iterable[str], rows: Sequence[int], *, source: str | None = None) -> FloatArray:
        """Calibrated cosine of one input with the given rows."""
        query = self.embed_inputs([keywords], [source])[0]
        return self.calibrate(self.vectors[np.asarray(rows, dtype=np.int64)] @ query)

    def describe(self) -> dict[str, Any]:
        """Model, index kind and sizes, the refine threshold, cache use."""
        return {
            "retriever": self.name,
            "model": self.embedder.name,
            "rows": self.rows,
            "index": self.index.describe(),
            "similarity": f"cosine of MiniLM embeddings (rows: key, inputs: source), calibrated: cosine {self.knee}"
            f" reads {REFINE_SIMILARITY}",
            "refine_threshold": REFINE_SIMILARITY,
            "refine_cosine": self.knee,
            "mmr": self.mmr,
            "embedded_texts": self.embedder.embedded,
            "rows_reembedded": self.reembedded,
            "cache_file": str(self.cache_path) if self.cache_path else None,
        }
