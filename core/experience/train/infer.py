"""Answer inputs with a trained run: retrieve its experience and translate, reading the run dir only.

`RunModel` serves one run: it snapshots the experience into memory (an answer never sees a half-written
step), writes nothing to the run directory (no lock, no cache, no metrics), and reloads the snapshot when
the run changes on disk (a training step, an edit, a rollback, a hand-edited entry file), so a run can keep
training while it is served. The CLI (`experience infer`), the daemon (`experience/infer`) and the HTTP
server (`experience serve`) all answer through it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from experience.kernel import Kernel
from experience.nn.moe import StMoe
from experience.storage.store import Storage
from experience.tensor import SymbolicTensor, from_texts
from experience.train.run_dir import RunDir, RunError

RECHECK_SECONDS = 1.0  # how often the run's files are checked for changes (at most)


@dataclass(frozen=True)
class UsedRow:
    """One experience row retrieved for an input, best first."""

    row: int
    query: str
    key: str
    value: str
    trust: float
    key_path: str | None = None
    value_path: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON form (camelCase, as the protocol and the HTTP server send it)."""
        return {
            "row": self.row,
            "query": [w for w in self.query.splitlines() if w.strip()],
            "key": self.key,
            "value": self.value,
            "trust": self.trust,
            "keyPath": self.key_path,
            "valuePath": self.value_path,
        }


@dataclass(frozen=True)
class Answer:
    """The run's answer to one input, the rows it used and what the call cost."""

    text: str
    rows: tuple[UsedRow, ...]
    step: int
    usage: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"answer": self.text, "rows": [r.as_dict() for r in self.rows], "step": self.step, "usage": self.usage}


def fingerprint(run_dir: Path) -> tuple[int, ...]:
    """Modification times and sizes of run.json and every experience file (what an answer reads)."""
    marks: list[int] = []
    for path in [run_dir / "run.json", *sorted((run_dir / "experience").rglob("*"))]:
        try:
            stat = path.stat()
        except FileNotFoundError:
            marks.append(-1)
            continue
        marks += [stat.st_mtime_ns, stat.st_size]
    return tuple(marks)


class RunModel:
    """A run opened read-only for inference; `answer` is thread-safe (one forward at a time)."""

    def __init__(self, run_dir: str | Path, kernel: Kernel) -> None:
        self.path = Path(run_dir)
        if not (self.path / "run.json").is_file():
            raise RunError(f"no run at {self.path}: train one first (experience train --run-dir {self.path} ...)")
        self.kernel = kernel
        self._lock = threading.Lock()
        self._checked = 0.0
        self._marks: tuple[int, ...] = ()
        self.run: RunDir
        self.disk: SymbolicTensor
        self.model: StMoe
        self.reloads = 0
        self._load()

    @property
    def name(self) -> str:
        """The run's name: its folder name."""
        return self.path.resolve().name

    def refresh(self) -> bool:
        """Reload when the run changed on disk (checked at most every RECHECK_SECONDS); True if it reloaded."""
        now = time.monotonic()
        if now - self._checked < RECHECK_SECONDS:
            return False
        self._checked = now
        if fingerprint(self.path) == self._marks:
            return False
        try:
            self._load()
        except (RunError, OSError, ValueError):
            return False  # mid-commit or mid-write: keep answering from the last good snapshot, retry later
        return True

    def _load(self) -> None:
        marks = fingerprint(self.path)
        run = RunDir.open(self.path, recover=False)
        if run.needs_recovery():
            raise RunError(f"{self.path} has a commit being applied; answering from the previous snapshot")
        disk = run.load_experience()
        snapshot = SymbolicTensor(disk.coeff.detach().clone(), Storage(disk.texts(), tuple(disk.shape)))
        cfg = run.config
        model = StMoe(
            snapshot,
            self.kernel,
            task_prompt=cfg.task_prompt,
            topk=cfg.topk,
            seed=cfg.seed,
            max_tokens=cfg.max_tokens,
            grad=cfg.grad,
            query=cfg.query,
            retriever=cfg.retriever,  # no cache folder: a served run's directory is never written
        )
        model.eval()
        self.run, self.disk, self.model, self._marks = run, disk, model, marks
        self.reloads += 1

    def answer(self, source: str) -> Answer:
        """The run's answer to one input."""
        return self.answer_many([source])[0]

    def answer_many(self, sources: Sequence[str]) -> list[Answer]:
        """Answers to several inputs in one forward (their calls go to the kernel together)."""
        if any(not s.strip() for s in sources):
            raise ValueError("an input is empty: send the source text to translate")
        with self._lock:
            self.refresh()
            before = self.kernel.usage.snapshot()
            with torch.no_grad():
                out = self.model(from_texts(list(sources), (len(sources),)))
            spent = self.kernel.usage.snapshot() - before
            spec = self.model.last
            picks = spec.picks if spec is not None else [[] for _ in sources]
            usage = {"calls": spent.calls, "cache_hits": spent.cache_hits}
            usage |= {"prompt_tokens": spent.prompt_tokens, "completion_tokens": spent.completion_tokens}
            return [
                Answer(text or "", self._rows(rows), self.run.state.step, usage)
                for text, rows in zip(out.texts(), picks, strict=True)
            ]

    def _rows(self, rows: Sequence[int]) -> tuple[UsedRow, ...]:
        table = self.model.experience.texts()
        trust = self.model.experience.coeff.detach()[:, 2].tolist()
        used = []
        for row in rows:
            query, key, value = (table[3 * row + c] or "" for c in range(3))
            key_path, value_path = self.disk.path(row, 1), self.disk.path(row, 2)
            used.append(
                UsedRow(
                    row,
                    query,
                    key,
                    value,
                    float(trust[row]),
                    str(key_path) if key_path is not None else None,
                    str(value_path) if value_path is not None else None,
                )
            )
        return tuple(used)


__all__ = ["Answer", "RunModel", "UsedRow", "fingerprint"]
