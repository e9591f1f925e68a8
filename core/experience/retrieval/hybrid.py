"""The `hybrid` retriever: reciprocal-rank fusion of Jaccard (keywords) and embedding (meaning) rankings."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from experience.retrieval.base import REFINE_SIMILARITY, Retriever, check_topk_args, finish
from experience.retrieval.embedder import Embedder
from experience.retrieval.embedding_retriever import EmbeddingRetriever
from experience.retrieval.jaccard_retriever import JaccardRetriever

__all__ = ["RRF_K", "HybridRetriever", "competition_ranks", "rrf"]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

RRF_K = 60  # the usual reciprocal-rank-fusion constant


def competition_ranks(values: FloatArray) -> IntArray:
    """1-based ranks, best (highest) first; equal values share the best rank ("1224")."""
    ordered = np.sort(values)[::-1]
    out: IntArray = (np.searchsorted(-ordered, -values, side="left") + 1).astype(np.int64)
    return out


def rrf(rankings: Sequence[tuple[IntArray, IntArray]], k: int = RRF_K) -> tuple[IntArray, FloatArray]:
    """Fuse (rows, ranks) lists: sum of 1 / (k + rank) per row, scaled so a row first everywhere scores 1."""
    total: dict[int, float] = {}
    for rows, ranks in rankings:
        for row, rank in zip(rows.tolist(), ranks.tolist(), strict=True):
            total[row] = total.get(row, 0.0) + 1.0 / (k + rank)
    rows_out = np.fromiter(total, dtype=np.int64, count=len(total))
    scale = len(rankings) / (k + 1.0) if rankings else 1.0
    scores = np.fromiter(total.values(), dtype=np.float64, count=len(total)) / scale
    return rows_out, scores


class HybridRetriever(Retriever):
    """RRF of the top `depth` trusted rows by Jaccard and by cosine, then trust weights and prior.

    Exploration noise perturbs each ranking's similarities before they become ranks (fused scores are
    flat: noise added after fusion would swamp them).
    """

    name = "hybrid"

    def __init__(
        self,
        embedder: Embedder | None = None,
        *,
        cache_dir: Path | None = None,
        depth: int = 50,
        mmr: float | None = None,
        **embedding_options: Any,
    ) -> None:
        self.jaccard = JaccardRetriever()
        self.embedding = EmbeddingRetriever(embedder, cache_dir=cache_dir, **embedding_options)
        self.depth = depth
        self.mmr = mmr

    @property
    def rows(self) -> int:
        """Number of experience rows indexed."""
        return self.jaccard.rows

    def sync(self, queries: Sequence[str | None], keys: Sequence[str | None]) -> None:
        """Follow the experience in both indexes."""
        self.jaccard.sync(queries, keys)
        self.embedding.sync(queries, keys)

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
        """Per input: fused rank score * weight + prior (noise moves the ranks); rows at weight 0 never returned."""
        k, scale, bonus = check_topk_args(k, noise_std, rng, weights, prior, self.rows)
        if self.rows == 0:
            return [[] for _ in keyword_sets]
        allowed = scale > 0.0 if scale is not None else None
        depth = max(self.depth, 4 * k)
        queries = self.embedding.embed_inputs(keyword_sets, sources)
        sims, ids = self.embedding.index.search(queries, depth, allowed)
        out = []
        for j, words in enumerate(keyword_sets):
            found = ids[j] >= 0
            by_meaning = (ids[j][found], self.embedding.calibrate(sims[j][found]))
            lists = [by_meaning, self._keyword_hits(words, depth, allowed)]
            if noise_std > 0.0:
                assert rng is not None  # check_noise
                lists = [(rows, sim + rng.normal(0.0, noise_std, size=sim.shape[0])) for rows, sim in lists]
            rows, fused = rrf([(rows, competition_ranks(sim)) for rows, sim in lists])
            out.append(
                finish(rows, fused, k, weights=scale, prior=bonus, noise_std=0.0, rng=None, mmr=self.mmr,
                       pair_sim=self.embedding.pair_similarity)
            )  # fmt: skip
        return out

    def _keyword_hits(
        self, keywords: Iterable[str], depth: int, allowed: npt.NDArray[np.bool_] | None
    ) -> tuple[IntArray, FloatArray]:
        """The top `depth` allowed rows sharing a keyword with the input, with their Jaccard."""
        jac = self.jaccard.scores(keywords)
        hit = jac > 0.0
        if allowed is not None:
            hit &= allowed
        rows = np.flatnonzero(hit).astype(np.int64)
        rows = rows[np.lexsort((rows, -jac[rows]))[:depth]]
        return rows, jac[rows]

    def similarity(self, keywords: Iterable[str], rows: Sequence[int], *, source: str | None = None) -> FloatArray:
        """Mean of the Jaccard and the calibrated cosine (both on the Jaccard scale)."""
        jac = self.jaccard.similarity(keywords, rows)
        cos = self.embedding.similarity(keywords, rows, source=source)
        out: FloatArray = (jac + cos) / 2.0
        return out

    def describe(self) -> dict[str, Any]:
        """Both parts, the fusion constant and depth."""
        return {
            "retriever": self.name,
            "rows": self.rows,
            "fusion": f"reciprocal rank (k={RRF_K}) of the top {self.depth} rows by Jaccard and by cosine,"
            " scaled to [0, 1], then times trust",
            "similarity": "mean of Jaccard and calibrated cosine",
            "refine_threshold": REFINE_SIMILARITY,
            "mmr": self.mmr,
            "jaccard": self.jaccard.describe(),
            "embedding": self.embedding.describe(),
        }
