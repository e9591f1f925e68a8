"""Merge several texts, several diffs against one base, or several keyword lists into one."""

from __future__ import annotations

from collections.abc import Sequence

from experience.text.diff import unified_diff
from experience.text.patch import PatchResult, apply_patch

_DEFAULT_NAME = "element"


def merge_texts(texts: Sequence[str | None]) -> str | None:
    """Distinct non-empty texts in first-seen order, blank-line separated; None if none."""
    seen: set[str] = set()
    parts: list[str] = []
    for text in texts:
        if text is None:
            continue
        key = "\n".join(line.rstrip() for line in text.split("\n")).rstrip()
        if not key or key in seen:
            continue
        seen.add(key)
        parts.append(text.rstrip() + "\n")
    return "\n".join(parts) if parts else None


def merge_diffs(base: str, diffs: Sequence[str | None], name: str | None = None) -> str | None:
    """Sum several diffs against one base into one diff: apply each in turn with fuzz, re-diff."""
    return merge_diffs_detailed(base, diffs, name)[0]


def merge_diffs_detailed(
    base: str, diffs: Sequence[str | None], name: str | None = None
) -> tuple[str | None, list[PatchResult]]:
    """As merge_diffs, also returning each diff's PatchResult so rejected hunks can be reviewed."""
    text = base
    results: list[PatchResult] = []
    for diff in diffs:
        if not diff or not diff.strip():
            continue
        result = apply_patch(text, diff, fuzz=3)
        results.append(result)
        text = result.text
        if name is None:
            name = _diff_name(diff)
    return unified_diff(base, text, name or _DEFAULT_NAME), results


def _diff_name(diff: str) -> str | None:
    """The element name of a diff's '+++ b/<name>' (or '--- a/<name>') header, if it has one."""
    for line in diff.split("\n"):
        if line.startswith("@@"):
            break
        for marker in ("+++ b/", "--- a/"):
            if line.startswith(marker) and line[len(marker) :].strip():
                return line[len(marker) :].split("\t")[0].strip()
    return None


def merge_keywords(texts: Sequence[str | None]) -> str:
    """Union of keyword lines: lower-cased, stripped, deduplicated, sorted, one per line."""
    keywords = {
        line.strip().lower()
        for text in texts
        if text is not None
        for line in text.split("\n")
        if line.strip()
    }
    return "\n".join(sorted(keywords))
