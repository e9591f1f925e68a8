"""The run journal: every change to a run is one record, made durable by one rename, then applied.

A record holds everything a change writes: entry texts (before and after), coefficients (before and
after), patch records, metrics lines, file moves and the run state after it. Writing the record is the
commit point; applying it (entry files, tensor.json, patches/, metrics.jsonl, run.json) is idempotent, so
a run killed between the two is finished on its next open. Before-values make any earlier point of the
history reconstructible: rollback is one more record, and nothing in the history is deleted.
"""

from __future__ import annotations

import json
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from experience.storage.atomic import append_line, atomic_write_text, durable_write_text, read_text
from experience.storage.layout import layout_from_json
from experience.storage.paths import check_entry_target, check_no_links

FORMAT = 1
STEP_KINDS = ("step", "epoch")
_TMP = re.compile(r"^\..+\.\d+\.[0-9a-f]{8}\.\d+\.tmp$")


@dataclass
class Change:
    """What one commit writes; `state` is the run state after it."""

    kind: str
    state: dict[str, Any]
    entries: list[tuple[int, str | None, str | None]] = field(default_factory=list)
    coeff: list[tuple[int, float, float]] = field(default_factory=list)
    metrics: list[dict[str, Any]] = field(default_factory=list)
    patches: tuple[int, list[dict[str, Any]]] | None = None
    moves: list[tuple[str, str]] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)

    def to_json(self, seq: int) -> dict[str, Any]:
        """The journal record of this change as commit number `seq`."""
        return {
            "format": FORMAT,
            "seq": seq,
            "kind": self.kind,
            "time": time.time(),
            "state": {**self.state, "seq": seq},
            "entries": [list(e) for e in self.entries],
            "coeff": [list(c) for c in self.coeff],
            "metrics": [{**m, "seq": seq} for m in self.metrics],
            "patches": None if self.patches is None else {"step": self.patches[0], "records": self.patches[1]},
            "moves": [list(m) for m in self.moves],
            "info": self.info,
        }


class JournalError(RuntimeError):
    """A journal record that cannot be read or applied; the message names the file."""


class Journal:
    """The journal/ folder of a run: one JSON record per commit, named by its sequence number."""

    def __init__(self, run_path: Path) -> None:
        self.run_path = run_path
        self.folder = run_path / "journal"

    def path(self, seq: int) -> Path:
        """File of record `seq`."""
        return self.folder / f"{seq:06d}.json"

    def seqs(self) -> list[int]:
        """Sequence numbers of every record, in order."""
        if not self.folder.is_dir():
            return []
        return sorted(int(p.stem) for p in self.folder.glob("[0-9]*.json") if p.stem.isdigit())

    def read(self, seq: int) -> dict[str, Any]:
        """One record; JournalError if it is unreadable."""
        path = self.path(seq)
        try:
            data: dict[str, Any] = json.loads(read_text(path))
        except (OSError, ValueError) as error:
            raise JournalError(f"{path} is unreadable ({error}); restore it from a copy of the run") from error
        return data

    def records(self) -> list[dict[str, Any]]:
        """Every record, in commit order."""
        return [self.read(seq) for seq in self.seqs()]

    def write(self, change: Change) -> dict[str, Any]:
        """Commit a change: its record becomes durable in one rename; returns the record."""
        seqs = self.seqs()
        seq = (seqs[-1] if seqs else 0) + 1
        record = change.to_json(seq)
        self.folder.mkdir(parents=True, exist_ok=True)
        durable_write_text(self.path(seq), json.dumps(record, allow_nan=False) + "\n")
        return record


def apply_record(run_path: Path, record: dict[str, Any]) -> None:
    """Write what a record says (idempotent: applying it twice leaves the same files)."""
    experience = run_path / "experience"
    entries, coeff = record.get("entries") or [], record.get("coeff") or []
    if entries or coeff:
        meta_path = experience / "tensor.json"
        check_no_links(run_path, meta_path)
        check_entry_target(meta_path, experience)
        meta = json.loads(read_text(meta_path))
        layout = layout_from_json(meta["layout"])
        values = meta["coeff"]
        for slot, _before, after in entries:
            row, column = divmod(_position(slot, len(values), record), 3)
            path = experience / layout.relpath((row, column))
            check_no_links(experience, path)
            check_entry_target(path, path.parent)
            atomic_write_text(path, after or "")
        if coeff:
            for position, _before, after in coeff:
                values[_position(position, len(values), record)] = float(after)
            atomic_write_text(meta_path, json.dumps(meta) + "\n")
    patches = record.get("patches")
    if patches is not None:
        path = run_path / "patches" / f"{int(patches['step']):06d}.json"
        atomic_write_text(path, json.dumps(patches["records"], indent=1) + "\n")
    for source, target in record.get("moves") or []:
        src, dst = run_path / source, run_path / target
        for path in (src, dst):
            check_no_links(run_path, path)
        if src.exists() and not dst.exists():
            dst.parent.mkdir(parents=True, exist_ok=True)
            os.replace(src, dst)
    metrics = record.get("metrics") or []
    if metrics and not _metrics_have(run_path / "metrics.jsonl", int(record["seq"])):
        for line in metrics:
            append_line(run_path / "metrics.jsonl", json.dumps(line, sort_keys=True, allow_nan=False))
    _write_state(run_path, record["state"])


def _position(value: object, size: int, record: dict[str, Any]) -> int:
    """A flat position from a record, checked against the tensor's size (a journal file is untrusted input)."""
    if not isinstance(value, int) or not 0 <= value < size:
        raise JournalError(
            f"journal record {record.get('seq')} names element {value!r} of a tensor of {size}; the record is "
            "corrupt or crafted: restore the run from a copy"
        )
    return value


def _metrics_have(path: Path, seq: int) -> bool:
    """Whether metrics.jsonl already holds the lines of commit `seq` (they are appended in seq order)."""
    if not path.exists():
        return False
    for line in reversed(read_text(path).splitlines()[-200:]):
        try:
            found = json.loads(line).get("seq")
        except ValueError:
            continue
        if isinstance(found, int):
            return found >= seq
    return False


def _write_state(run_path: Path, state: dict[str, Any]) -> None:
    """Replace the state in run.json, keeping its config."""
    path = run_path / "run.json"
    data = json.loads(read_text(path))
    data["state"] = state
    atomic_write_text(path, json.dumps(data, indent=2) + "\n")


def remove_stray_temps(run_path: Path) -> list[Path]:
    """Delete the temp files an interrupted atomic write left in the run (call only under the run's lock)."""
    removed = []
    for folder, dirs, files in os.walk(run_path, followlinks=False):
        dirs[:] = [d for d in dirs if not os.path.islink(os.path.join(folder, d))]
        for name in files:
            if _TMP.match(name):
                path = Path(folder) / name
                path.unlink(missing_ok=True)
                removed.append(path)
    return removed


def active_records(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Records not undone by a later rollback."""
    undone = {int(s) for r in records if r.get("kind") == "rollback" for s in r.get("info", {}).get("undone", [])}
    return [r for r in records if int(r["seq"]) not in undone]


def point_after_step(records: list[dict[str, Any]], step: int) -> dict[str, Any] | None:
    """The last active step (or epoch-end) record whose run state is `step`; None for step 0 or unknown."""
    found = None
    for record in active_records(records):
        if record.get("kind") in STEP_KINDS and int(record["state"]["step"]) == step:
            found = record
    return found


def values_at(records: list[dict[str, Any]], seq: int, key: str, current: dict[int, Any]) -> dict[int, Any]:
    """Per slot/position touched after `seq`: its value right after commit `seq` (entries or coeff)."""
    later = [r for r in records if int(r["seq"]) > seq]
    touched = {int(item[0]) for r in later for item in r.get(key) or []}
    result: dict[int, Any] = {}
    for r in reversed([r for r in records if int(r["seq"]) <= seq]):
        for position, _before, after in r.get(key) or []:
            if int(position) in touched and int(position) not in result:
                result[int(position)] = after
    for r in later:
        for position, before, _after in r.get(key) or []:
            result.setdefault(int(position), before)
    return {p: v for p, v in result.items() if v != current.get(p)}


def latest_texts(records: list[dict[str, Any]]) -> dict[int, str | None]:
    """Per slot ever written through the journal: the text its last record left."""
    texts: dict[int, str | None] = {}
    for record in records:
        for slot, _before, after in record.get("entries") or []:
            texts[int(slot)] = after
    return texts
