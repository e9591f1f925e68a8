"""Atomic file writes: a temp file in the same folder, then a rename."""

from __future__ import annotations

import contextlib
import itertools
import os
import secrets
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

_TOKEN = secrets.token_hex(4)  # per process; a counter keeps temp names unique without urandom
_COUNTER = itertools.count()
_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
_FAULT_HOOK: list[Callable[[str], None]] = []  # tests only: fault injection before each file becomes visible
_PARALLEL_FROM = 256  # below this many files, threads cost more than they save
_WORKERS = 4


def atomic_write_text(path: Path | str, text: str, *, make_parent: bool = True) -> None:
    """Write `text` to `path` (UTF-8, newlines kept); readers see the old file or the new one."""
    data = text.encode("utf-8")  # fails (e.g. a lone surrogate) before anything touches the disk
    target = os.fspath(path)
    head, name = os.path.split(target)
    if make_parent and head:
        os.makedirs(head, exist_ok=True)
    tmp = os.path.join(head, f".{name}.{os.getpid()}.{_TOKEN}.{next(_COUNTER)}.tmp")
    fd = os.open(tmp, _FLAGS, 0o666)
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
        finally:
            os.close(fd)
        _fault_point(target)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def set_fault_hook(hook: Callable[[str], None] | None) -> None:
    """Call `hook(path)` just before every file write becomes visible (fault-injection tests); None clears."""
    _FAULT_HOOK.clear()
    if hook is not None:
        _FAULT_HOOK.append(hook)


def _fault_point(path: str) -> None:
    for hook in _FAULT_HOOK:
        hook(path)


def append_line(path: Path | str, line: str) -> None:
    """Append one line to a file and fsync it (a crash keeps every earlier line)."""
    data = (line.rstrip("\n") + "\n").encode("utf-8")
    _fault_point(os.fspath(path))
    fd = os.open(os.fspath(path), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o666)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)


def durable_write_text(path: Path | str, text: str) -> None:
    """atomic_write_text, with the data fsynced before the rename (a journal must survive a crash)."""
    target = os.fspath(path)
    head, name = os.path.split(target)
    os.makedirs(head or ".", exist_ok=True)
    tmp = os.path.join(head, f".{name}.{os.getpid()}.{_TOKEN}.{next(_COUNTER)}.tmp")
    fd = os.open(tmp, _FLAGS, 0o666)
    try:
        try:
            view = memoryview(text.encode("utf-8"))
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        _fault_point(target)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _write_chunk(items: Sequence[tuple[str, str]]) -> list[BaseException | None]:
    errors: list[BaseException | None] = []
    for path, text in items:
        try:
            atomic_write_text(path, text, make_parent=False)
            errors.append(None)
        except Exception as error:
            errors.append(error)
    return errors


def atomic_write_many(items: Sequence[tuple[str, str]]) -> list[BaseException | None]:
    """Atomically write many (path, text) files in existing folders; each one's error or None.

    File creation is kernel work, so large batches are spread over a few threads.
    """
    if len(items) < _PARALLEL_FROM:
        return _write_chunk(items)
    size = -(-len(items) // _WORKERS)
    chunks = [items[i : i + size] for i in range(0, len(items), size)]
    with ThreadPoolExecutor(_WORKERS, thread_name_prefix="experience-write") as pool:
        return [error for part in pool.map(_write_chunk, chunks) for error in part]


def read_text(path: Path | str) -> str:
    """Read a UTF-8 text file exactly as written (no newline translation)."""
    with open(path, encoding="utf-8", newline="") as handle:
        return handle.read()
