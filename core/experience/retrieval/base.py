"""The retriever interface: top-k experience rows per input, scaled by trust, plus a prior and exploration noise.

Every retriever scores an (input, row) pair with a similarity in [0, 1] on one scale: Jaccard of keywords,
or a calibrated cosine (see `calibrate`), so that st_moe's refine threshold (0.25) means the same for all.
"""

from __future__ import annotations

import math
import operator
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from experience.retrieval.select import topk_indices

__all__ = [
    "REFINE_SIMILARITY",
    "BoundRetriever",
    "RetrievalIndex",
    "Retriever",
    "calibrate",
    "check_k",
    "check_noise",
    "check_topk_args",
    "check_vector",
    "finish",
    "mmr_order",
]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
Keywords = Iterable[str]

REFINE_SIMILARITY = 0.25  # st_moe/route: a sample refines its best row at this similarity (every retriever's scale)
# Cosine of MiniLM embeddings that reads as Jaccard 0.25: pairs of sources in datasets/viba reach Jaccard >= 0.25
# (lexical queries) as often as cosine >= 0.50, in datasets/shapes as often as cosine >= 0.64; 0.55 sits between.
REFINE_COSINE = 0.55


def calibrate(cosine: npt.ArrayLike, knee: float = REFINE_COSINE) -> FloatArray:
    """Cosine -> [0, 1] on the Jaccard scale: piecewise linear, 0 -> 0, `knee` -> 0.25, 1 -> 1 (negatives -> 0)."""
    c = np.clip(np.asarray(cosine, dtype=np.float64), 0.0, 1.0)
    low = REFINE_SIMILARITY * c / knee
    high = REFINE_SIMILARITY + (1.0 - REFINE_SIMILARITY) * (c - knee) / (1.0 - knee)
    out: FloatArray = np.where(c <= knee, low, high)
    return out


class RetrievalIndex(Protocol):
    """What st_moe calls on `MoeSpec.index` (JaccardIndex and BoundRetriever both have it)."""

    def topk_batch(
        self,
        keyword_sets: Sequence[Keywords],
        k: int,
        *,
        noise_std: float = 0.0,
        rng: np.random.Generator | None = None,
        weights: npt.ArrayLike | None = None,
        prior: npt.ArrayLike | None = None,
    ) -> list[list[int]]:
        """Rows per input, best first."""
        ...

    def scores(self, keywords: Keywords) -> FloatArray:
        """Similarity in [0, 1] of one input with every row."""
        ...


class Retriever(ABC):
    """Top-k rows of an experience per input; follows the experience through `sync`.

    Scores are similarity * weight + prior + N(0, noise_std); rows whose weight is 0 are never returned.
    `sources` (the inputs' texts) are what embeddings compare; keyword sets are what Jaccard compares.
    """

    name = "retriever"

    @property
    @abstractmethod
    def rows(self) -> int:
        """Number of experience rows indexed."""

    @abstractmethod
    def sync(self, queries: Sequence[str | None], keys: Sequence[str | None]) -> None:
        """Follow the experience: per row its query keywords and key text (only changed rows are re-indexed)."""

    @abstractmethod
    def topk_batch(
        self,
        keyword_sets: Sequence[Keywords],
        k: int,
        *,
        noise_std: float = 0.0,
        rng: np.random.Generator | None = None,
        weights: npt.ArrayLike | None = None,
        prior: npt.ArrayLike | None = None,
        sources: Sequence[str | None] | None = None,
    ) -> list[list[int]]:
        """Rows of the k best scores per input, best first; noise is drawn from `rng` input by input."""

    @abstractmethod
    def similarity(self, keywords: Keywords, rows: Sequence[int], *, source: str | None = None) -> FloatArray:
        """Similarity in [0, 1] of one input with the given rows."""

    def scores(self, keywords: Keywords, *, source: str | None = None) -> FloatArray:
        """Similarity in [0, 1] of one input with every row (exact; O(rows))."""
        return self.similarity(keywords, range(self.rows), source=source)

    @abstractmethod
    def describe(self) -> dict[str, Any]:
        """What this retriever is and how it searches (kind of index, sizes, thresholds)."""

    def bind(self, sources: Sequence[str | None]) -> BoundRetriever:
        """This retriever with one batch's source texts attached, for callers that pass only keywords."""
        return BoundRetriever(self, sources)


class BoundRetriever:
    """A retriever plus one batch's sources, with JaccardIndex's method names (what st_moe calls).

    `topk_batch(keyword_sets)` pairs keyword set i with source i. `scores(words)` finds the input by the
    keyword set object (or an equal one) and returns its similarity with the rows picked for it (others 0),
    so st_moe's `scores(words)[picks[0]]` costs O(k) similarities instead of O(rows).
    """

    def __init__(self, retriever: Retriever, sources: Sequence[str | None]) -> None:
        self.retriever = retriever
        self.sources = list(sources)
        self._asked: list[frozenset[str]] = []
        self._ids: dict[int, int] = {}
        self._picks: list[list[int]] = []

    @property
    def rows(self) -> int:
        """Number of experience rows indexed."""
        return self.retriever.rows

    def topk_batch(
        self,
        keyword_sets: Sequence[Keywords],
        k: int,
        *,
        noise_std: float = 0.0,
        rng: np.random.Generator | None = None,
        weights: npt.ArrayLike | None = None,
        prior: npt.ArrayLike | None = None,
    ) -> list[list[int]]:
        """The retriever's top-k with source i attached to keyword set i (when the counts match)."""
        sources = self.sources if len(self.sources) == len(keyword_sets) else None
        picks = self.retriever.topk_batch(
            keyword_sets, k, noise_std=noise_std, rng=rng, weights=weights, prior=prior, sources=sources
        )
        self._asked = [frozenset(words) for words in keyword_sets]
        self._ids = {id(words): i for i, words in enumerate(keyword_sets)}
        self._picks = [list(p) for p in picks]
        return picks

    def scores(self, keywords: Keywords) -> FloatArray:
        """Similarity with every row: exact for the rows picked for this input, 0 elsewhere (see the class)."""
        i = self._ids.get(id(keywords))
        if i is None:
            words = frozenset(keywords)
            i = next((n for n, asked in enumerate(self._asked) if asked == words), None)
            keywords = words
        if i is None or i >= len(self._picks):
            return self.retriever.scores(keywords)
        source = self.sources[i] if len(self.sources) == len(self._asked) else None
        out = np.zeros(self.retriever.rows, dtype=np.float64)
        rows = self._picks[i]
        if rows:
            out[rows] = self.retriever.similarity(keywords, rows, source=source)
        return out


def check_k(k: int) -> int:
    """k as a plain int; refuse k < 1 and non-integers."""
    k = operator.index(k)
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    return k


def check_noise(noise_std: float, rng: np.random.Generator | None) -> None:
    """Refuse negative or non-finite noise, and noise without a seeded generator."""
    if not math.isfinite(noise_std) or noise_std < 0.0:
        raise ValueError(f"noise_std must be a finite number >= 0, got {noise_std}")
    if noise_std > 0.0 and rng is None:
        raise ValueError("noise_std > 0 needs a random generator: pass rng=numpy.random.default_rng(seed)")


def check_vector(values: npt.ArrayLike | None, rows: int, what: str) -> FloatArray | None:
    """A finite float64 vector of shape [rows], or None."""
    if values is None:
        return None
    out = np.asarray(values, dtype=np.float64)
    if out.shape != (rows,):
        raise ValueError(f"{what} must have shape ({rows},), got {out.shape}")
    if not np.isfinite(out).all():
        raise ValueError(f"{what} must be finite (no NaN or inf)")
    return out


def check_topk_args(
    k: int,
    noise_std: float,
    rng: np.random.Generator | None,
    weights: npt.ArrayLike | None,
    prior: npt.ArrayLike | None,
    rows: int,
) -> tuple[int, FloatArray | None, FloatArray | None]:
    """The checked (k, weights, prior) of a top-k call; ValueError names the bad argument."""
    k = check_k(k)
    check_noise(noise_std, rng)
    return k, check_vector(weights, rows, "weights"), check_vector(prior, rows, "prior")


def finish(
    cand: IntArray,
    sim: FloatArray,
    k: int,
    *,
    weights: FloatArray | None,
    prior: FloatArray | None,
    noise_std: float,
    rng: np.random.Generator | None,
    mmr: float | None = None,
    pair_sim: Callable[[IntArray], FloatArray] | None = None,
) -> list[int]:
    """Top k of candidate rows: similarity * weight + prior + noise, rows at weight 0 dropped, optional MMR."""
    score = sim.astype(np.float64, copy=True)
    if weights is not None:
        keep = weights[cand] > 0.0
        cand, score = cand[keep], score[keep] * weights[cand[keep]]
    if prior is not None:
        score += prior[cand]
    if noise_std > 0.0 and cand.shape[0]:
        assert rng is not None  # check_noise
        score += rng.normal(0.0, noise_std, size=cand.shape[0])
    if mmr is None or pair_sim is None or k == 1:
        order = np.lexsort((cand, -score))[:k]
        out: list[int] = cand[order].tolist()
        return out
    pool = topk_indices(score, max(4 * k, 20))
    return mmr_order(cand[pool], score[pool], k, mmr, pair_sim(cand[pool]))


def mmr_order(cand: IntArray, score: FloatArray, k: int, lam: float, pair: FloatArray) -> list[int]:
    """Maximal marginal relevance: each next pick maximizes lam * score - (1 - lam) * its max similarity to picks.

    `cand`/`score` come best first; `pair` is the [n, n] similarity between candidates.
    """
    if not 0.0 <= lam <= 1.0:
        raise ValueError(f"the MMR lambda must be in [0, 1], got {lam}")
    n = int(cand.shape[0])
    if n == 0:
        return []
    chosen = [0]
    closest = pair[0].astype(np.float64, copy=True)
    while len(chosen) < min(k, n):
        gain = lam * score - (1.0 - lam) * closest
        gain[chosen] = -np.inf
        best = int(np.argmax(gain))  # ties: the earlier (better-scored) candidate
        chosen.append(best)
        np.maximum(closest, pair[best], out=closest)
    out: list[int] = cand[chosen].tolist()
    return out
