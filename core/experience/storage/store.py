"""Storage: the flat list of element texts of one tensor, mirrored to files when bound to a folder."""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from experience.storage.atomic import atomic_write_many, atomic_write_text
from experience.storage.layout import GridLayout, Layout
from experience.storage.paths import check_entry_target, check_no_links, read_entry_file


class Storage:
    """Element texts by flat slot; with a `directory`, every write goes to a file a person can open."""

    def __init__(
        self,
        texts: Sequence[str | None],
        shape: tuple[int, ...],
        directory: Path | None = None,
        layout: Layout | None = None,
    ) -> None:
        if int(np.prod(shape, dtype=np.int64)) != len(texts):
            raise ValueError(f"storage of shape {list(shape)} needs {int(np.prod(shape))} texts, got {len(texts)}")
        self.shape = tuple(shape)
        self.layout: Layout = layout or GridLayout()
        self.directory = directory
        self._texts: list[str | None] = [t if t else None for t in texts]
        self._made_dirs: set[str] = set()
        self._strides = [int(np.prod(self.shape[k + 1 :], dtype=np.int64)) for k in range(len(self.shape))]
        self._lock = threading.Lock()
        self.version = 0  # bumped on every write; lets readers detect change cheaply
        self._deferred: dict[int, str | None] | None = None  # slot -> text before, while writes are deferred

    def __len__(self) -> int:
        return len(self._texts)

    def multi_index(self, slot: int) -> tuple[int, ...]:
        """Multi-index of a flat slot in the storage's own shape."""
        if not 0 <= slot < len(self._texts):
            raise IndexError(f"slot {slot} is outside a storage of {len(self._texts)} elements")
        return tuple((slot // stride) % size for stride, size in zip(self._strides, self.shape, strict=True))

    def path(self, slot: int) -> Path | None:
        """File holding the text of a slot (None for in-memory storage)."""
        if self.directory is None:
            return None
        return self.directory / self.layout.relpath(self.multi_index(slot))

    def read(self, slot: int) -> str | None:
        """Text of a slot; None where the element is empty."""
        return self._texts[slot]

    def read_many(self, slots: Sequence[int] | np.ndarray) -> list[str | None]:
        """Texts of several slots, in order."""
        texts = self._texts
        return [texts[int(s)] for s in slots]

    def write(self, slot: int, text: str | None) -> None:
        """Set the text of a slot (None or "" empties it) and mirror it to its file."""
        value = text if text else None
        with self._lock:
            self._write_file(slot, value)  # the file first: a failing write changes nothing
            self._texts[slot] = value
            self.version += 1

    def write_many(self, slots: Sequence[int] | np.ndarray, texts: Sequence[str | None]) -> None:
        """Set several slots at once (files in parallel; a slot whose file fails keeps its text)."""
        values = [(int(slot), text if text else None) for slot, text in zip(slots, texts, strict=True)]
        with self._lock:
            try:
                self._write_files(values)
            finally:
                self.version += 1

    # -- deferred writes: a step's changes stay in memory until its journal is committed ---------
    @property
    def deferring(self) -> bool:
        """True while writes change memory only (between begin_deferred and end/abort)."""
        return self._deferred is not None

    def begin_deferred(self) -> None:
        """From now on writes change memory only; end_deferred() says what changed."""
        with self._lock:
            if self._deferred is not None:
                raise RuntimeError("writes are already deferred on this storage (nested transaction)")
            self._deferred = {}

    def end_deferred(self) -> dict[int, tuple[str | None, str | None]]:
        """Stop deferring; slot -> (text before, text now) for every slot written meanwhile, files untouched."""
        with self._lock:
            before, self._deferred = self._deferred or {}, None
            return {slot: (old, self._texts[slot]) for slot, old in sorted(before.items())}

    def abort_deferred(self) -> None:
        """Stop deferring and put back the texts written meanwhile."""
        with self._lock:
            before, self._deferred = self._deferred or {}, None
            for slot, old in before.items():
                self._texts[slot] = old
            self.version += 1

    def set_memory(self, changes: dict[int, str | None]) -> None:
        """Set texts in memory only (their files were written by whoever committed them)."""
        with self._lock:
            for slot, text in changes.items():
                self._texts[slot] = text if text else None
            self.version += 1

    def flush_all(self) -> None:
        """Write every slot's file (used when a storage is first bound to a folder)."""
        with self._lock:
            self._write_files(list(enumerate(self._texts)))

    def reload(self, slot: int) -> bool:
        """Re-read one slot from its file (after a hand edit); True when the text changed."""
        path = self.path(slot)
        if path is None or self.directory is None:
            return False
        with self._lock:  # read under the lock: a concurrent write() must not be undone by a stale read
            text = read_entry_file(path, self.directory)  # never through a link; None when the file is absent
            value = text if text else None
            changed = self._texts[slot] != value
            if changed:
                self._texts[slot] = value
                self.version += 1
        return changed

    def reload_all(self) -> list[int]:
        """Re-read every slot from disk; returns the slots whose text changed."""
        return [slot for slot in range(len(self._texts)) if self.reload(slot)]

    def _file(self, slot: int) -> str:
        """Path of a slot's file as a string, its folder made on first use; links on the way are refused."""
        root = os.fspath(self.directory or "")
        path = os.path.join(root, self.layout.relpath(self.multi_index(slot)))
        parent = os.path.dirname(path)
        if parent not in self._made_dirs:
            check_no_links(root, path)  # before makedirs: it would follow a linked row folder
            os.makedirs(parent, exist_ok=True)
            check_no_links(root, path)
            self._made_dirs.add(parent)
        check_entry_target(path, parent)  # two lstats: a folder swapped for a link since is refused too
        return path

    def _write_file(self, slot: int, text: str | None) -> None:
        if self._deferred is not None:
            self._deferred.setdefault(slot, self._texts[slot])
            return
        if self.directory is not None:
            atomic_write_text(self._file(slot), text or "", make_parent=False)

    def _write_files(self, values: list[tuple[int, str | None]]) -> None:
        """Write files, then set the texts whose file was written; re-raise the first failure."""
        if self._deferred is not None:
            for slot, _ in values:
                self._deferred.setdefault(slot, self._texts[slot])
        if self.directory is None or self._deferred is not None:
            errors: list[BaseException | None] = [None] * len(values)
        else:
            errors = atomic_write_many([(self._file(slot), text or "") for slot, text in values])
        for (slot, text), error in zip(values, errors, strict=True):
            if error is None:
                self._texts[slot] = text
        failed = next((e for e in errors if e is not None), None)
        if failed is not None:
            raise failed
