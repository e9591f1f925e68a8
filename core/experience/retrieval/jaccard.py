"""Jaccard top-k over the query column of an experience, through an inverted index."""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Sequence

import numpy as np
import numpy.typing as npt

from experience.retrieval.base import check_topk_args
from experience.retrieval.keywords import normalize_keywords, parse_keywords
from experience.retrieval.select import first_rows_except, topk_indices

__all__ = ["JaccardIndex"]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

_EMPTY = np.empty(0, dtype=np.int64)
# Below this ratio of posting entries to rows, sort the few hits instead of counting over all rows.
_SPARSE_RATIO = 8


class JaccardIndex:
    """Inverted index over the query column: keyword -> rows, for fast Jaccard top-k.

    Rows built at construction live in two CSR arrays (row -> keyword ids, keyword -> rows).
    `update` records the row in a pending set per changed keyword; a posting list is rebuilt
    (once, however many updates it saw) the next time a query needs it. Reads may rebuild
    postings, so guard an index shared between threads with a lock.
    """

    def __init__(self, queries: Sequence[str | None]) -> None:
        vocab: dict[str, int] = {}
        flat = array("q")
        counts = array("q")
        for query in queries:
            words = parse_keywords(query)
            counts.append(len(words))
            flat.extend([vocab.setdefault(word, len(vocab)) for word in words])
        rows = len(counts)
        self._vocab = vocab
        self._words = list(vocab)  # ids are insertion order
        self._counts: IntArray = np.array(counts, dtype=np.int64)
        kw_ids: IntArray = np.array(flat, dtype=np.int64)
        self._row_ptr: IntArray = np.zeros(rows + 1, dtype=np.int64)
        np.cumsum(self._counts, out=self._row_ptr[1:])
        self._row_ids = kw_ids
        self._row_override: dict[int, tuple[int, ...]] = {}
        # Postings: row ids grouped by keyword id (stable sort keeps each list ascending).
        row_of_entry = np.repeat(np.arange(rows, dtype=np.int64), self._counts)
        self._post_rows: IntArray = row_of_entry[np.argsort(kw_ids, kind="stable")]
        self._post_ptr: IntArray = np.zeros(len(vocab) + 1, dtype=np.int64)
        np.cumsum(np.bincount(kw_ids, minlength=len(vocab)), out=self._post_ptr[1:])
        self._post_override: dict[int, IntArray] = {}
        self._pending: dict[int, set[int]] = {}
        self._pairs = int(kw_ids.shape[0])

    @property
    def rows(self) -> int:
        """Number of experience rows indexed."""
        return int(self._counts.shape[0])

    def keywords(self, row: int) -> frozenset[str]:
        """The indexed keywords of one row."""
        self._check_row(row)
        return frozenset(self._words[kid] for kid in self._row_keyword_ids(row))

    def update(self, row: int, query: str | None) -> None:
        """Re-index one row (after a patch or a hand edit)."""
        self._check_row(row)
        new = {self._intern(word) for word in parse_keywords(query)}
        old = set(self._row_keyword_ids(row))
        if new == old:
            return
        for kid in old ^ new:
            self._pending.setdefault(kid, set()).add(row)
        self._row_override[row] = tuple(sorted(new))
        self._counts[row] = len(new)
        self._pairs += len(new) - len(old)

    def scores(self, keywords: Iterable[str]) -> FloatArray:
        """Float64 Jaccard similarity of `keywords` with every row, shape [rows]."""
        rows, jaccard = self._hits(keywords)
        out = np.zeros(self.rows, dtype=np.float64)
        out[rows] = jaccard
        return out

    def topk(
        self,
        keywords: Iterable[str],
        k: int,
        *,
        noise_std: float = 0.0,
        rng: np.random.Generator | None = None,
        weights: npt.ArrayLike | None = None,
        prior: npt.ArrayLike | None = None,
    ) -> list[int]:
        """Rows of the k best scores (Jaccard, times `weights`, plus `prior`, plus N(0, noise_std)), best first.

        Ties go to the lower row index. When no row has any keyword (cold start) the result is
        k distinct random rows drawn from `rng`, or the first k rows without one.
        """
        k, scale, bonus = check_topk_args(k, noise_std, rng, weights, prior, self.rows)
        return self._topk(keywords, k, noise_std, rng, scale, bonus)

    def topk_batch(
        self,
        keyword_sets: Sequence[Iterable[str]],
        k: int,
        *,
        noise_std: float = 0.0,
        rng: np.random.Generator | None = None,
        weights: npt.ArrayLike | None = None,
        prior: npt.ArrayLike | None = None,
    ) -> list[list[int]]:
        """`topk` for each keyword set in order, drawing noise from the one `rng` in sequence."""
        k, scale, bonus = check_topk_args(k, noise_std, rng, weights, prior, self.rows)
        return [self._topk(words, k, noise_std, rng, scale, bonus) for words in keyword_sets]

    # -- internals ---------------------------------------------------------------------------

    def _topk(
        self,
        keywords: Iterable[str],
        k: int,
        noise_std: float,
        rng: np.random.Generator | None,
        scale: FloatArray | None,
        bonus: FloatArray | None = None,
    ) -> list[int]:
        """`topk` after its arguments were checked."""
        rows = self.rows
        if rows == 0:
            return []
        if self._pairs == 0:
            size = min(k, rows)
            if rng is None:
                return list(range(size))
            return _as_list(rng.choice(rows, size=size, replace=False))
        if noise_std == 0.0 and scale is None and bonus is None:
            return _as_list(self._topk_exact(keywords, k))
        scores = self.scores(keywords)
        if scale is not None:
            scores *= scale
        if bonus is not None:
            scores += bonus
        if noise_std > 0.0:
            assert rng is not None  # check_topk_args
            scores += rng.normal(0.0, noise_std, size=rows)
        return _as_list(topk_indices(scores, k))

    def _topk_exact(self, keywords: Iterable[str], k: int) -> IntArray:
        """Noise-free, unweighted top-k touching only rows that share a keyword with the query."""
        cand, jaccard = self._hits(keywords)
        top = cand[np.lexsort((cand, -jaccard))[:k]]
        if top.shape[0] < k:  # every other row scores 0: lowest indices first
            top = np.concatenate((top, first_rows_except(cand, k - top.shape[0], self.rows)))
        return top

    def _hits(self, keywords: Iterable[str]) -> tuple[IntArray, FloatArray]:
        """Rows sharing at least one keyword with the query (ascending), and their Jaccard."""
        kids, size = self._query_ids(keywords)
        rows = self.rows
        postings = [self._posting(kid) for kid in kids]
        hits = sum(int(p.shape[0]) for p in postings)
        if hits == 0:
            return _EMPTY, np.empty(0, dtype=np.float64)
        flat = np.concatenate(postings)
        if hits * _SPARSE_RATIO < rows:
            cand, inter = np.unique(flat, return_counts=True)
        else:
            full = np.bincount(flat, minlength=rows)
            cand = np.flatnonzero(full)
            inter = full[cand]
        cand = cand.astype(np.int64, copy=False)
        # inter >= 1 here, so the union is never 0.
        jaccard: FloatArray = inter / (size + self._counts[cand] - inter)
        return cand, jaccard

    def _query_ids(self, keywords: Iterable[str]) -> tuple[list[int], int]:
        """Known keyword ids of a query, and the query's size (unknown words count in the union)."""
        words = normalize_keywords(keywords)
        kids = [kid for kid in (self._vocab.get(word) for word in words) if kid is not None]
        return kids, len(words)

    def _posting(self, kid: int) -> IntArray:
        """Rows holding keyword `kid`, applying its pending updates first."""
        posting = self._post_override.get(kid)
        if posting is None:
            if kid + 1 < self._post_ptr.shape[0]:
                posting = self._post_rows[self._post_ptr[kid] : self._post_ptr[kid + 1]]
            else:  # keyword first seen in an update
                posting = _EMPTY
        changed = self._pending.pop(kid, None)
        if changed:
            touched = np.fromiter(sorted(changed), dtype=np.int64, count=len(changed))
            kept = posting[~np.isin(posting, touched)]
            added = [row for row in touched.tolist() if kid in self._row_keyword_ids(row)]
            posting = np.concatenate((kept, np.array(added, dtype=np.int64)))
            self._post_override[kid] = posting
        return posting

    def _row_keyword_ids(self, row: int) -> tuple[int, ...]:
        """Keyword ids of one row, as last indexed."""
        override = self._row_override.get(row)
        if override is not None:
            return override
        start, stop = int(self._row_ptr[row]), int(self._row_ptr[row + 1])
        return tuple(self._row_ids[start:stop].tolist())

    def _intern(self, word: str) -> int:
        """Id of a keyword, assigning a new one the first time it is seen."""
        kid = self._vocab.get(word)
        if kid is None:
            kid = self._vocab[word] = len(self._words)
            self._words.append(word)
        return kid

    def _check_row(self, row: int) -> None:
        """Refuse a row index outside [0, rows)."""
        if not 0 <= row < self.rows:
            raise IndexError(f"row {row} is out of range for an index of {self.rows} rows")


def _as_list(indices: npt.NDArray[np.integer]) -> list[int]:
    """Row indices as a list of Python ints."""
    out: list[int] = indices.tolist()
    return out
