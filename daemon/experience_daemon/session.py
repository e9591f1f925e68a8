"""An open run in the daemon: its run directory, the one in-memory experience, versions, its job."""

from __future__ import annotations

import fcntl
import hashlib
import logging
import threading
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

from experience.events import CancelToken
from experience.kernel import Kernel
from experience.storage.layout import ExperienceLayout
from experience.tensor import SymbolicTensor
from experience.text.answer import clean_answer
from experience.train.journal import Change
from experience.train.run_dir import RunDir
from experience_daemon.errors import NotFound, RunBusy, StaleVersion
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
        self._seq = self.run.state.seq

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
            if self.run.state.seq != self._seq:
                self._reload_experience()

    def reload(self) -> None:
        """Under the run's file lock: finish an interrupted commit, re-read run.json and the experience."""
        with self.lock:
            self.run = RunDir.open(self.path, recover=False)
            self.run.recover()
            self._reload_experience()

    def mark_current(self) -> None:
        """Note that the in-memory experience is what the disk holds (after this daemon's own commits)."""
        self._seq = self.run.state.seq

    def _reload_experience(self) -> None:
        """Bring the shared in-memory experience (texts and coefficients) up to what the disk holds."""
        fresh = self.run.load_experience()
        with self.lock:
            if tuple(fresh.shape) != tuple(self.experience.shape):
                self.experience = fresh
            else:
                old = self.experience.texts()
                self.experience.storage.set_memory(
                    {slot: text for slot, text in enumerate(fresh.texts()) if text != old[slot]}
                )
                with torch.no_grad():
                    self.experience.coeff.data.copy_(fresh.coeff.data)
            self._seq = self.run.state.seq

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
        """Replace a slot's text if `version` is current (checked on the run's current state); the new version."""
        self.commit_entry(slot, text, "client", expected=version)
        return text_version(text)

    def set_text(self, slot: int, text: str, origin: str = "client") -> None:
        """Write a slot and its presence coefficient as one journal record."""
        self.commit_entry(slot, text, origin)

    def commit_entry(
        self,
        slot: int,
        text: str,
        origin: str,
        patches: tuple[int, list[dict[str, Any]]] | None = None,
        expected: int | None = None,
    ) -> None:
        """Under the run's file lock and on current state: write one entry (and patch records) as one commit."""
        if self.job is not None and self.job.kind in ("train", "step"):
            row, column = divmod(slot, 3)
            raise RunBusy(
                f"{self.key} is training in this daemon; an edit of entry {row}/{COLUMNS[column]} now would be "
                "overwritten by its next step. Stop the training (experience/cancel) or wait, then retry",
                {"job": self.job.kind},
            )
        with self.lock, self.run.lock():
            on_disk = RunDir.open(self.path, recover=False)
            if on_disk.needs_recovery() or on_disk.state.seq != self._seq:
                self.reload()
            value = text if text else None
            before = self.experience.storage.read(slot)
            if expected is not None and text_version(before) != expected:
                row, column = divmod(slot, 3)
                raise StaleVersion(
                    f"entry {row}/{COLUMNS[column]} of {self.key} changed since version {expected} was read "
                    f"(now {text_version(before)}); read it again and reapply your edit",
                    {"current": text_version(before)},
                )
            flat = self.experience.coeff.data.view(-1)
            coeff_before = float(flat[slot])
            coeff_after = coeff_before if before == value else 1.0 if value else 0.0
            change = Change(
                "edit",
                asdict(self.run.state),
                entries=[(slot, before, value)] if before != value else [],
                coeff=[(slot, coeff_before, coeff_after)] if coeff_before != coeff_after else [],
                patches=patches,
                info={"origin": origin},
            )
            self.own.record(self.file_of(slot), text)
            self.run.commit(change)
            self._seq = self.run.state.seq
            self.experience.storage.set_memory({slot: value})
            with torch.no_grad():
                flat[slot] = coeff_after

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
