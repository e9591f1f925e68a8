"""An open run in the daemon: its run directory, the one in-memory experience, versions, its job."""

from __future__ import annotations

import fcntl
import hashlib
import logging
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import torch

from experience.events import CancelToken
from experience.kernel import Kernel
from experience.storage.layout import ExperienceLayout
from experience.storage.serialize import write_meta
from experience.tensor import SymbolicTensor
from experience.text.answer import clean_answer
from experience.train.run_dir import RunDir
from experience_daemon.errors import NotFound, StaleVersion
from experience_daemon.watcher import OwnWrites

log = logging.getLogger(__name__)

COLUMNS = ("query", "key", "value")


def text_version(text: str | None) -> int:
    """Version of an entry: 52 bits of the SHA-256 of its text (equal text, equal version)."""
    digest = hashlib.sha256((text or "").encode("utf-8")).digest()
    return int.from_bytes(digest[:7], "big") >> 4


def column_index(column: str | int) -> int:
    """0, 1 or 2 for "query", "key", "value" (an int in range passes through)."""
    if isinstance(column, int) and 0 <= column < 3:
        return column
    if column in COLUMNS:
        return COLUMNS.index(str(column))
    raise NotFound(f"no column {column!r}; an experience entry has the columns {', '.join(COLUMNS)}")


@dataclass
class Job:
    """Work running on a run in this daemon (training, a step or an evaluation)."""

    kind: str
    cancel: CancelToken = field(default_factory=CancelToken)
    started: float = field(default_factory=time.time)


class RunSession:
    """One open run: every reader and writer in the daemon (trainer too) shares its experience."""

    def __init__(self, path: Path, own: OwnWrites) -> None:
        self.path = path.resolve()
        self.key = str(self.path)
        self.run = RunDir.open(self.path)
        self.experience: SymbolicTensor = self.run.load_experience()
        self.own = own
        self.lock = threading.RLock()
        self.job: Job | None = None
        self.keyword_kernel: Kernel | None = None
        self._val_targets: set[str] | None = None
        self._known = [text_version(t) for t in self.experience.texts()]

    @property
    def rows(self) -> int:
        """Rows of the experience."""
        return int(self.experience.shape[0])

    # -- addressing ----------------------------------------------------------------------------
    def slot(self, row: int, column: str | int) -> int:
        """Flat storage slot of (row, column); NotFound when out of range."""
        if not 0 <= row < self.rows:
            raise NotFound(f"{self.key} has rows 0..{self.rows - 1}; there is no row {row}")
        return row * 3 + column_index(column)

    def file_of(self, slot: int) -> Path:
        """File holding a slot's text."""
        path = self.experience.storage.path(slot)
        assert path is not None, "a run's experience always lives in files"
        return path

    def slot_of_file(self, path: Path) -> int | None:
        """The slot whose file is `path` (None for any other file: tensor.json, temp files, ...)."""
        try:
            rel = path.resolve().relative_to(self.run.experience_dir.resolve())
        except ValueError:
            return None
        if len(rel.parts) != 2 or not rel.parts[0].isdigit():
            return None
        layout = self.experience.storage.layout
        if not isinstance(layout, ExperienceLayout):
            return None
        names = [layout.column_file(c) for c in range(3)]
        row = int(rel.parts[0])
        if rel.parts[1] not in names or row >= self.rows:
            return None
        return row * 3 + names.index(rel.parts[1])

    # -- state ---------------------------------------------------------------------------------
    def refresh_run(self) -> None:
        """Re-read run.json (another process may have trained); kept as is while a job here runs."""
        if self.job is None:
            self.run = RunDir.open(self.path)

    def locked_elsewhere(self) -> str | None:
        """Who trains this run in another process (None: nobody, or this daemon)."""
        if self.job is not None:
            return None
        lock_path = self.path / ".lock"
        if not lock_path.exists():
            return None
        with open(lock_path, "a+", encoding="utf-8") as handle:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.seek(0)
                return handle.read().strip() or "another process"
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
        return None

    def val_targets(self) -> set[str]:
        """Validation targets of the run's dataset (leak guard); empty when the dataset is gone."""
        if self._val_targets is None:
            from experience.tasks.dataset import DatasetError, load_dataset

            try:
                pairs = load_dataset(self.run.config.dataset).splits.get("val", [])
                self._val_targets = {clean_answer(p.target) for p in pairs if p.target.strip()}
            except DatasetError as error:
                log.warning("leak guard off for %s: %s", self.key, error)
                self._val_targets = set()
        return self._val_targets

    # -- entries -------------------------------------------------------------------------------
    def read(self, slot: int) -> tuple[str, int]:
        """Text and version of a slot, as held in memory (sync it first to see hand edits)."""
        text = self.experience.storage.read(slot) or ""
        return text, text_version(text)

    def write(self, slot: int, text: str, version: int) -> int:
        """Replace a slot's text if `version` is current; returns the new version."""
        with self.lock:
            current = self.experience.storage.read(slot) or ""
            if text_version(current) != version:
                row, column = divmod(slot, 3)
                raise StaleVersion(
                    f"entry {row}/{COLUMNS[column]} of {self.key} changed since version {version} "
                    "was read "
                    f"(now {text_version(current)}); read it again and reapply your edit",
                    {"current": text_version(current)},
                )
            self.set_text(slot, text)
        return text_version(text)

    def set_text(self, slot: int, text: str) -> None:
        """Write a slot (remembered as the daemon's own write) and its presence coefficient."""
        with self.lock:
            self.own.record(self.file_of(slot), text)
            self.experience.storage.write(slot, text)
            with torch.no_grad():
                self.experience.coeff.data.view(-1)[slot] = 1.0 if text else 0.0
            directory = self.experience.storage.directory
            if directory is not None:
                write_meta(directory, self.experience)

    def sync(self, slots: Iterable[int]) -> list[int]:
        """Reload slots from disk; returns those whose text changed."""
        with self.lock:
            return [s for s in slots if self.experience.storage.reload(s)]

    def changes(self, slots: Iterable[int] | None = None) -> list[int]:
        """Slots whose text differs from what was last reported (and mark them reported)."""
        texts = self.experience.texts()
        wanted = range(len(texts)) if slots is None else slots
        changed = []
        with self.lock:
            for slot in wanted:
                version = text_version(texts[slot])
                if version != self._known[slot]:
                    self._known[slot] = version
                    changed.append(slot)
        return changed

    def close(self) -> None:
        """Release the keyword kernel."""
        if self.keyword_kernel is not None:
            self.keyword_kernel.close()
            self.keyword_kernel = None
