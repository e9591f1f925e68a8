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


def _until_repeat(block: str) -> str:
    """A block cut before the first line that repeats an earlier line of it (a generation loop)."""
    seen: set[str] = set()
    kept: list[str] = []
    for line in block.split("\n"):
        if line in seen:
            break
        seen.add(line)
        kept.append(line)
    return "\n".join(kept)


def trim_blocks(text: str, keep: int, max_lines: int | None = None) -> str:
    """The answer cut to the shape of its examples: `keep` blocks, no looping lines, at most `max_lines` lines."""
    kept = [_until_repeat(b) for b in blocks(clean_answer(text))[: max(keep, 1)]]
    lines = "\n\n".join(kept).split("\n")
    if max_lines is not None:
        lines = lines[: max(max_lines, 1)]
    result = "\n".join(lines).strip("\n")
    return result + "\n" if result else ""
