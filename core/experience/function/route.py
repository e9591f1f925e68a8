"""Routing a batch's wrong samples to experience rows under bounded capacity (st_moe's backward)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

REFINE_SIMILARITY = 0.25  # llm mode: a sample refines its best retrieved row when they share this much (Jaccard)


@dataclass
class Route:
    """One row that learns this step: the samples that shape it, in order, and how it was chosen.

    action: "own" (the row holds the sample's source), "refine" (the sample's best retrieved row), "new" (a free
    row: empty or at coefficient 0), "evict" (the least trusted row, its text replaced), "merge" (the sample's
    best row, its text extended: no row was free).
    """

    row: int
    action: str
    samples: list[int] = field(default_factory=list)
    evicted_trust: float | None = None


def route_samples(
    *,
    keys: list[str | None],
    trust: np.ndarray,
    sources: list[str | None],
    picks: list[list[int]],
    similarity: list[float],
    live: list[bool],
    refine: bool,
    capacity: str,
    rng: np.random.Generator | None,
) -> tuple[dict[int, Route], list[int | None]]:
    """Rows that learn from each live sample; no sample is dropped, no two samples silently share a row.

    Returns the routes by row and, per sample, the row it shapes (None for samples that need no change).
    `capacity` is the policy when no row is free: "evict" the least trusted row not used this step (merge if
    every row is used), or "merge" the sample into its best retrieved row.
    """
    if capacity not in ("evict", "merge"):
        raise ValueError(f"unknown capacity policy {capacity!r}; use 'evict' or 'merge'")
    rows = len(keys)
    routes: dict[int, Route] = {}
    per_sample: list[int | None] = []
    free = [r for r in range(rows) if trust[r] <= 0.0]
    free.sort(key=lambda r: (keys[r] is not None, r))  # rows without text first
    for i, source in enumerate(sources):
        if not live[i] or not source:
            per_sample.append(None)
            continue
        row, action = _choose(i, source, keys, trust, picks, similarity, refine, capacity, free, routes, rng)
        route = routes.get(row)
        if route is None:
            route = routes[row] = Route(row, action)
            if action == "evict":
                route.evicted_trust = float(trust[row])
        route.samples.append(i)
        per_sample.append(row)
    return routes, per_sample


def _choose(
    i: int,
    source: str,
    keys: list[str | None],
    trust: np.ndarray,
    picks: list[list[int]],
    similarity: list[float],
    refine: bool,
    capacity: str,
    free: list[int],
    routes: dict[int, Route],
    rng: np.random.Generator | None,
) -> tuple[int, str]:
    """(row, action) for one sample, given the rows already claimed this step."""
    own = next((r for r, k in enumerate(keys) if k and trust[r] > 0 and k.rstrip() == source.rstrip()), None)
    if own is not None:
        return own, "own"
    best = picks[i][0] if picks[i] else None
    if refine and best is not None and similarity[i] >= REFINE_SIMILARITY:
        return best, "refine"
    open_rows = [r for r in free if r not in routes]
    if open_rows:
        empty = [r for r in open_rows if keys[r] is None]
        pool = empty or open_rows
        pick = int(rng.integers(len(pool))) if rng is not None else 0
        return pool[pick], "new"
    unclaimed = [r for r in range(len(keys)) if r not in routes]
    if capacity == "evict" and unclaimed:
        return min(unclaimed, key=lambda r: (float(trust[r]), r)), "evict"
    if best is not None:
        return best, "merge"
    return min(range(len(keys)), key=lambda r: (float(trust[r]), r)), "merge"
