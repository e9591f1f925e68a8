"""The `jaccard` retriever: JaccardIndex over the query keywords, behind the Retriever interface."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from experience.retrieval.base import REFINE_SIMILARITY, Retriever, check_topk_args, finish
from experience.retrieval.jaccard import JaccardIndex
from experience.retrieval.keywords import normalize_keywords

__all__ = ["JaccardRetriever", "jaccard_matrix"]

FloatArray = npt.NDArray[np.float64]


class JaccardRetriever(Retriever):
    """Jaccard of keyword sets (sources are ignored); `sync` re-indexes only the rows whose query changed."""

    name = "jaccard"

    def __init__(self, queries: Sequence[str | None] = (), *, mmr: float | None = None) -> None:
        self._queries: list[str | None] = list(queries)
        self.index = JaccardIndex(self._queries)
        self.mmr = mmr
        self.rebuilds = 1
        self.updates = 0

    @property
    def rows(self) -> int:
        """Number of experience rows indexed."""
        return self.index.rows

    def sync(self, queries: Sequence[str | None], keys: Sequence[str | None]) -> None:
        """Follow the query column: update changed rows, rebuild when the row count changed."""
        queries = list(queries)
        if len(queries) != len(self._queries):
            self.index = JaccardIndex(queries)
            self.rebuilds += 1
        else:
            for row, (old, new) in enumerate(zip(self._queries, queries, strict=True)):
                if old != new:
                    self.index.update(row, new)
                    self.updates += 1
        self._queries = queries

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
        """JaccardIndex.topk_batch (same scores, noise and ties), then rows at weight 0 dropped."""
        k, scale, bonus = check_topk_args(k, noise_std, rng, weights, prior, self.rows)
        if self.mmr is not None and k > 1:
            return [self._mmr(words, k, noise_std, rng, scale, bonus) for words in keyword_sets]
        picks = self.index.topk_batch(keyword_sets, k, noise_std=noise_std, rng=rng, weights=scale, prior=bonus)
        if scale is None:
            return picks
        return [[r for r in rows if scale[r] > 0.0] for rows in picks]

    def similarity(self, keywords: Iterable[str], rows: Sequence[int], *, source: str | None = None) -> FloatArray:
        """Jaccard of the keywords with the given rows."""
        out: FloatArray = self.index.scores(keywords)[np.asarray(rows, dtype=np.int64)]
        return out

    def scores(self, keywords: Iterable[str], *, source: str | None = None) -> FloatArray:
        """Jaccard of the keywords with every row."""
        return self.index.scores(keywords)

    def describe(self) -> dict[str, Any]:
        """Kind, size and refine threshold."""
        return {
            "retriever": self.name,
            "index": "inverted keyword index (exact Jaccard)",
            "rows": self.rows,
            "similarity": "Jaccard of keyword sets",
            "refine_threshold": REFINE_SIMILARITY,
            "mmr": self.mmr,
            "rebuilds": self.rebuilds,
            "row_updates": self.updates,
        }

    def _mmr(
        self,
        keywords: Iterable[str],
        k: int,
        noise_std: float,
        rng: np.random.Generator | None,
        scale: FloatArray | None,
        bonus: FloatArray | None,
    ) -> list[int]:
        """Top k by MMR over every row's score, rows compared by the Jaccard of their keywords."""
        cand = np.arange(self.rows, dtype=np.int64)
        return finish(
            cand,
            self.index.scores(keywords),
            k,
            weights=scale,
            prior=bonus,
            noise_std=noise_std,
            rng=rng,
            mmr=self.mmr,
            pair_sim=lambda rows: jaccard_matrix([self.index.keywords(int(r)) for r in rows]),
        )


def jaccard_matrix(sets: Sequence[Iterable[str]]) -> FloatArray:
    """Pairwise Jaccard of keyword sets, [n, n] (two empty sets score 0)."""
    norm = [normalize_keywords(s) for s in sets]
    n = len(norm)
    out = np.zeros((n, n), dtype=np.float64)
    for i in range(n):
        for j in range(i, n):
            union = len(norm[i] | norm[j])
            out[i, j] = out[j, i] = len(norm[i] & norm[j]) / union if union else 0.0
    return out
