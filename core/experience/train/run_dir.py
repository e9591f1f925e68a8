"""The run directory: the checkpoint of a training run (config, state, experience, metrics, patches)."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from experience.experience_tensor import Experience
from experience.storage.atomic import append_line, atomic_write_text, read_text
from experience.tensor import SymbolicTensor
from experience.train.journal import Change, Journal, apply_record, latest_texts, remove_stray_temps
from experience.train.jsonsafe import finite_record

GRAD_MODES = ("example", "llm")
CAPACITY_POLICIES = ("evict", "merge")


class RunError(RuntimeError):
    """A run directory that cannot be used as asked; the message names the fix."""


class RunLocked(RunError):
    """Another process is training this run."""


# What a run made by `experience train`, the daemon or the editor gets unless told otherwise (a dataset's
# manifest may name its own `query`). Measured in bench/results/retrievers.md (3 seeds, held-out splits):
# lexical + hybrid makes one LLM call per sample per step and beats the former llm + jaccard default on
# viba val and shapes test, and loses on shapes val. RunConfig's own defaults stay llm + jaccard: the values
# runs written before these settings existed were made with (run.json files without the keys).
NEW_RUN_QUERY = "lexical"
NEW_RUN_RETRIEVER = "hybrid"


@dataclass
class RunConfig:
    """How a run was set up (fixed at creation, stored in run.json)."""

    dataset: str
    source_ext: str
    target_ext: str
    task_prompt: str
    backend: str = "local"
    model: str | None = None
    base_url: str | None = None
    seed: int = 0
    topk: int = 3
    rows: int = 32
    batch_size: int = 4
    lr: float = 1.0
    noise_std: float = 0.05
    max_tokens: int = 256
    review: bool = False
    grad: str = "example"
    capacity: str = "evict"
    baseline: float = 0.5
    query: str = "llm"  # how the query column is made: "llm" (a keyword call per input) or "lexical" (no call)
    retriever: str = "jaccard"  # retrieval of rows per input: "jaccard" (keywords), "embedding" (MiniLM) or "hybrid"
    grammar: str = "auto"  # decode under the dataset's GBNF: "on", "off", or "auto" (on when the dataset has one)
    executor: str = "inprocess"  # where the LLM calls run: "inprocess", or "ray" (fanned out to `workers` Ray actors)
    workers: int = 1


@dataclass
class RunState:
    """Where a run is: the next step, epoch and batch, and the number of epochs asked for."""

    step: int = 0
    epoch: int = 0
    batch: int = 0
    epochs: int = 0
    history: list[dict[str, Any]] = field(default_factory=list)
    seq: int = 0  # the last journal record applied


class RunDir:
    """A folder holding run.json, experience/, metrics.jsonl and patches/."""

    def __init__(self, path: Path, config: RunConfig, state: RunState) -> None:
        self.path = path
        self.config = config
        self.state = state
        self.journal = Journal(path)

    @classmethod
    def create(cls, path: str | Path, config: RunConfig) -> RunDir:
        """Start a new run with an empty experience of `config.rows` rows."""
        folder = Path(path)
        if (folder / "run.json").exists():
            raise RunError(f"{folder} already holds a run; pass --resume to continue it or pick another --run-dir")
        folder.mkdir(parents=True, exist_ok=True)
        Experience.empty(config.rows, folder, source_ext=config.source_ext, target_ext=config.target_ext)
        run = cls(folder, config, RunState())
        run.save_state()
        return run

    @classmethod
    def open(cls, path: str | Path, *, recover: bool = True) -> RunDir:
        """Open an existing run (finishing an interrupted commit when nobody else writes to it)."""
        run = cls._read(path)
        if recover and run.needs_recovery():
            with contextlib.suppress(RunLocked), run.lock():
                run = cls._read(path)
                run.recover()
        return run

    @classmethod
    def _read(cls, path: str | Path) -> RunDir:
        """Read run.json; a clear error if it is missing or unreadable."""
        folder = Path(path)
        meta = folder / "run.json"
        if not meta.exists():
            raise RunError(
                f"no run at {folder} (run.json missing); start one with `experience train --run-dir {folder}`"
            )
        try:
            data = json.loads(read_text(meta))
            return cls(folder, RunConfig(**data["config"]), RunState(**data["state"]))
        except (ValueError, KeyError, TypeError) as error:
            raise RunError(f"{meta} is corrupt ({error}); restore it or start a new run") from error

    @property
    def experience_dir(self) -> Path:
        """Folder of the experience tensor."""
        return self.path / "experience"

    @property
    def metrics_path(self) -> Path:
        """metrics.jsonl: one JSON record per line."""
        return self.path / "metrics.jsonl"

    @property
    def patches_dir(self) -> Path:
        """patches/: one JSON file per step with every patch and the sample that produced it."""
        return self.path / "patches"

    def load_experience(self) -> SymbolicTensor:
        """The experience tensor, bound to its files."""
        return Experience.load(self.experience_dir)

    # -- commits -------------------------------------------------------------------------------
    def needs_recovery(self) -> bool:
        """True when a journal record was committed but not yet applied."""
        seqs = self.journal.seqs()
        return bool(seqs) and seqs[-1] > self.state.seq

    def recover(self) -> list[int]:
        """Apply committed records not yet applied and drop stray temp files (hold the lock); their seqs."""
        done = []
        for seq in self.journal.seqs():
            if seq > self.state.seq:
                record = self.journal.read(seq)
                apply_record(self.path, record)
                self.state = RunState(**record["state"])
                done.append(seq)
        remove_stray_temps(self.path)
        if (self.experience_dir / "tensor.json").exists():
            self.adopt_disk_edits()
        return done

    def adopt_disk_edits(self) -> list[int]:
        """Record entries edited on disk outside the journal as one edit (hold the lock); their slots.

        A hand-written entry becomes present (coefficient 1 if it was 0), an emptied one absent, and the edit
        becomes part of the history, so rollback restores around it and training never treats it as free.
        """
        known = latest_texts(self.journal.records())
        tensor = self.load_experience()
        flat = [float(c) for c in tensor.coeff.detach().reshape(-1).tolist()]
        entries, coeff = [], []
        for slot, text in enumerate(tensor.texts()):
            expected = known.get(slot)
            if (text or None) == (expected or None):
                continue
            entries.append((slot, expected, text))
            if text and flat[slot] <= 0.0:
                coeff.append((slot, flat[slot], 1.0))
            elif not text and flat[slot] > 0.0:
                coeff.append((slot, flat[slot], 0.0))
        if entries:
            self.commit(Change("edit", asdict(self.state), entries=entries, coeff=coeff, info={"origin": "disk"}))
        return [slot for slot, _, _ in entries]

    def commit(self, change: Change) -> dict[str, Any]:
        """Make a change durable (one journal record), then write it out; returns the record."""
        change.metrics = [finite_record(m) for m in change.metrics]
        record = self.journal.write(change)
        apply_record(self.path, record)
        self.state = RunState(**record["state"])
        return record

    def save_state(self) -> None:
        """Write run.json atomically."""
        data = {"format": 1, "config": asdict(self.config), "state": asdict(self.state)}
        atomic_write_text(self.path / "run.json", json.dumps(data, indent=2) + "\n")

    def append_metrics(self, record: dict[str, Any]) -> None:
        """Append one line to metrics.jsonl (fsynced: a crash keeps earlier lines; NaN becomes null)."""
        append_line(self.metrics_path, json.dumps(finite_record(record), sort_keys=True, allow_nan=False))

    def metrics(self) -> list[dict[str, Any]]:
        """All metrics records (a torn last line from a crash is skipped)."""
        if not self.metrics_path.exists():
            return []
        records = []
        for line in read_text(self.metrics_path).splitlines():
            with contextlib.suppress(ValueError):
                records.append(json.loads(line))
        return records

    def write_patches(self, step: int, records: list[dict[str, Any]]) -> Path:
        """Record the patches of one step (atomic)."""
        path = self.patches_dir / f"{step:06d}.json"
        atomic_write_text(path, json.dumps(records, indent=1) + "\n")
        return path

    def read_patches(self, step: int) -> list[dict[str, Any]]:
        """The patch records of one step ([] when the step recorded none)."""
        path = self.patches_dir / f"{step:06d}.json"
        if not path.exists():
            return []
        data: list[dict[str, Any]] = json.loads(read_text(path))
        return data

    def patch_steps(self) -> list[int]:
        """Steps that have a patch record."""
        return sorted(int(p.stem) for p in self.patches_dir.glob("*.json")) if self.patches_dir.exists() else []

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Hold the run's training lock; RunLocked if another process (CLI or daemon) holds it."""
        path = self.path / ".lock"
        handle = open(path, "a+", encoding="utf-8")  # noqa: SIM115 - held for the duration of the lock
        try:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError as error:
                handle.seek(0)
                holder = handle.read().strip() or "another process"
                raise RunLocked(f"{self.path} is being trained by {holder}; stop it or wait, then retry") from error
            handle.seek(0)
            handle.truncate()
            handle.write(f"pid {os.getpid()}")
            handle.flush()
            yield
        finally:
            handle.close()
