"""Query keywords: the text of an experience row's query column, as a set of normalized words."""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["normalize_keyword", "normalize_keywords", "parse_keywords"]


def normalize_keyword(word: str) -> str:
    """One keyword in canonical form: lower-cased, stripped, inner whitespace runs collapsed."""
    return " ".join(word.lower().split())


def parse_keywords(text: str | None) -> frozenset[str]:
    """Keywords of a query text: one per line or comma, lower-cased, stripped, non-empty."""
    if not text:
        return frozenset()
    words = (normalize_keyword(part) for part in text.replace(",", "\n").splitlines())
    return frozenset(word for word in words if word)


def normalize_keywords(keywords: Iterable[str]) -> frozenset[str]:
    """Canonical form of a keyword collection; a bare string is refused (use parse_keywords)."""
    if isinstance(keywords, str):
        raise TypeError(
            "keywords must be a collection of words, not one string; "
            "call parse_keywords(text) to split a query text"
        )
    words = (normalize_keyword(word) for word in keywords)
    return frozenset(word for word in words if word)
