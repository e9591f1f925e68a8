"""Paths derived from untrusted folder content (run dirs, datasets): bare extensions, no escape, no symlinks."""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

_EXT = re.compile(r"[A-Za-z0-9_+-]{1,16}")
_READ_FLAGS = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_BINARY", 0)  # O_NONBLOCK: a FIFO never blocks a read
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_FIX = "replace it with a regular file or folder (or delete it)"


class UnsafePathError(PermissionError):
    """A path from untrusted content that leaves its folder, is a symbolic link, or is not a regular file."""


def check_ext(ext: object) -> str:
    """A file extension as a plain name (letters, digits, _ - +, at most 16); ValueError otherwise."""
    if not isinstance(ext, str) or not _EXT.fullmatch(ext):
        raise ValueError(
            f"file extension {ext!r} is not a plain name: use 1-16 letters, digits, '_', '-' or '+' "
            "(like 'py' or 'viba'), with no dot, slash or '..'"
        )
    return ext


def check_inside(root: str | os.PathLike[str], path: str | os.PathLike[str]) -> Path:
    """`path` resolved (symlinks followed); UnsafePathError unless it lies inside `root` (also resolved)."""
    base = Path(root).resolve()
    resolved = Path(path).resolve()
    if resolved != base and base not in resolved.parents:
        raise UnsafePathError(f"{path} leads to {resolved}, outside {base}; {_FIX} inside {base}")
    return resolved


def _relative_parts(root: str, path: str) -> list[str]:
    """Components of `path` below `root`, checked lexically (no '..', not absolute, not elsewhere)."""
    rel = os.path.relpath(os.path.normpath(path), os.path.normpath(root))
    parts = rel.split(os.sep)
    if os.path.isabs(rel) or rel == os.curdir or ".." in parts:
        raise UnsafePathError(f"{path} is not inside {root}; a path from a run folder must stay inside it")
    return parts


def check_no_links(root: str | os.PathLike[str], path: str | os.PathLike[str]) -> None:
    """UnsafePathError when `path` leaves `root` by name or a folder between them is a symbolic link."""
    base, target = os.fspath(root), os.fspath(path)
    parts = _relative_parts(base, target)
    current = base
    for part in parts[:-1]:
        current = os.path.join(current, part)
        try:
            mode = os.lstat(current).st_mode
        except FileNotFoundError:
            return  # nothing below a missing folder exists, so nothing below it is a link
        if stat.S_ISLNK(mode):
            raise UnsafePathError(
                f"{current} is a symbolic link; entries are never read or written through links: {_FIX}"
            )
        if not stat.S_ISDIR(mode):
            raise UnsafePathError(f"{current} is not a folder; {_FIX}")


def check_entry_target(path: str | os.PathLike[str], parent: str | os.PathLike[str] | None = None) -> None:
    """Before writing an entry file: it is absent or a plain file, and its `parent` folder is not a link."""
    if parent is not None and os.path.islink(parent):
        raise UnsafePathError(
            f"{os.fspath(parent)} is a symbolic link; entries are never written through links: {_FIX}"
        )
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return
    if stat.S_ISLNK(mode):
        raise UnsafePathError(f"{os.fspath(path)} is a symbolic link; entries are never written through links: {_FIX}")
    if stat.S_ISDIR(mode):
        raise UnsafePathError(f"{os.fspath(path)} is a folder where an entry file belongs; {_FIX}")


def read_regular_bytes(path: str | os.PathLike[str], *, follow: bool = True) -> bytes:
    """Bytes of a regular file; UnsafePathError for a FIFO, a device or a folder (and a link unless `follow`)."""
    try:
        fd = os.open(path, _READ_FLAGS | (0 if follow else _NOFOLLOW))
    except OSError as error:
        if not follow and os.path.islink(path):
            raise UnsafePathError(
                f"{os.fspath(path)} is a symbolic link; entries are never read through links: {_FIX}"
            ) from error
        raise
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise UnsafePathError(f"{os.fspath(path)} is not a regular file; {_FIX}")
        chunks = []
        while chunk := os.read(fd, 1 << 20):
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def read_entry_file(path: str | os.PathLike[str], root: str | os.PathLike[str]) -> str | None:
    """UTF-8 text of an entry file under `root` (None when absent); links anywhere below `root` are refused."""
    check_no_links(root, path)
    try:
        data = read_regular_bytes(path, follow=False)
    except (FileNotFoundError, NotADirectoryError):
        return None
    return data.decode("utf-8")  # UnicodeDecodeError: the caller names the file
