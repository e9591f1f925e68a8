"""Normalized Levenshtein edit distance (the `Levenshtein` package), rounded to float32 so it round-trips."""

from __future__ import annotations

from collections.abc import Sequence

import Levenshtein
import numpy as np


def edit_distance(a: str, b: str) -> float:
    """Normalized Levenshtein distance in [0, 1] (0 equal, 1 nothing shared), float32-exact."""
    if a == b:
        return 0.0
    return float(np.float32(Levenshtein.distance(a, b) / max(len(a), len(b))))


def edit_distances(pairs: Sequence[tuple[str, str]]) -> list[float]:
    """Normalized Levenshtein distance of every (a, b) pair, float32-exact."""
    return [edit_distance(a, b) for a, b in pairs]
