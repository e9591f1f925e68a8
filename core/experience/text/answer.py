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
