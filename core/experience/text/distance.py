"""Normalized Levenshtein edit distance, rounded to float32 so it round-trips through tensors."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from rapidfuzz import process
from rapidfuzz.distance import Levenshtein


def edit_distance(a: str, b: str) -> float:
    """Normalized Levenshtein distance in [0, 1] (0 equal, 1 nothing shared), float32-exact."""
    if a == b:
        return 0.0
    return float(np.float32(Levenshtein.normalized_distance(a, b)))


def edit_distances(pairs: Sequence[tuple[str, str]]) -> list[float]:
    """Normalized Levenshtein distance of every (a, b) pair, float32-exact (fast batch path)."""
    if not pairs:
        return []
    left = [a for a, _ in pairs]
    right = [b for _, b in pairs]
    scores = process.cpdist(
        left, right, scorer=Levenshtein.normalized_distance, dtype=np.float32, workers=1
    )
    return [float(score) for score in scores.tolist()]
