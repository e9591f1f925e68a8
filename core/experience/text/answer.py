"""Cleaning what a model answered before it is scored or stored."""

from __future__ import annotations


def clean_answer(text: str) -> str:
    """Drop ``` fence lines and trailing whitespace; end with exactly one newline (or be empty)."""
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").split("\n")]
    lines = [line for line in lines if not line.lstrip().startswith("```")]
    while lines and not lines[0]:
        lines.pop(0)
    while lines and not lines[-1]:
        lines.pop()
    return "\n".join(lines) + "\n" if lines else ""


def blocks(text: str | None) -> list[str]:
    """Blank-line-separated blocks of a text (whitespace-only lines count as blank)."""
    parts: list[list[str]] = [[]]
    for line in (text or "").split("\n"):
        if line.strip():
            parts[-1].append(line)
        elif parts[-1]:
            parts.append([])
    return ["\n".join(p) for p in parts if p]


def trim_blocks(text: str, keep: int) -> str:
    """Keep the first `keep` blocks of an answer (models ramble after the answer), cleaned."""
    kept = blocks(clean_answer(text))[: max(keep, 1)]
    return "\n\n".join(kept) + "\n" if kept else ""
