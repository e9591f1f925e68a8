"""Atomic file writes: a temp file in the same folder, then a rename."""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def atomic_write_text(path: Path, text: str, *, make_parent: bool = True) -> None:
    """Write `text` to `path` (UTF-8, newlines kept exactly) so readers see the old or the new file."""
    if make_parent:
        path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def read_text(path: Path) -> str:
    """Read a UTF-8 text file exactly as written (no newline translation)."""
    with open(path, encoding="utf-8", newline="") as handle:
        return handle.read()
