"""Checks of what a request asks for, before anything is created: option ranges, a writable run folder."""

from __future__ import annotations

import contextlib
import math
import os
import secrets
from collections.abc import Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Any, TypeGuard

from experience.train.executor import executor_problems
from experience.train.options import RunOptions, new_run_defaults, unknown_settings
from experience.train.run_dir import CAPACITY_POLICIES, GRAD_MODES
from experience_daemon.errors import ServiceError

CHOICES: dict[str, tuple[str, ...]] = {  # a new run's settings with a fixed set of values (None: the default)
    "grad": GRAD_MODES,
    "query": ("llm", "lexical"),
    "retriever": ("jaccard", "embedding", "hybrid"),
    "grammar": ("on", "off"),
    "capacity": CAPACITY_POLICIES,
}


class InvalidParams(ServiceError):
    """Options out of range or a run folder that cannot be used (a RunError: CLI exit 2, JSON-RPC invalidParams)."""

    kind = "invalidParams"


def _flag(name: str) -> str:
    """How both audiences know an option: `--batch-size` (CLI) / `batchSize` (JSON-RPC)."""
    head, *rest = name.split("_")
    return f"--{name.replace('_', '-')} ({head}{''.join(w.capitalize() for w in rest)})"


def _is_int(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> TypeGuard[float]:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def train_problems(settings: Mapping[str, Any], options: RunOptions) -> list[str]:
    """Every run setting or option of a train request that is out of range, one sentence each (empty: all fine)."""
    problems = unknown_settings(settings)
    chosen = new_run_defaults() | {name: value for name, value in settings.items() if value is not None}
    values = chosen | asdict(options)  # no name is both a run setting and an option

    def at_least(name: str, low: int, optional: bool = False) -> None:
        value = values.get(name)
        if value is None and optional:
            return
        if not _is_int(value) or value < low:
            problems.append(f"{_flag(name)} must be a whole number >= {low}, got {value!r}")

    for name in ("batch_size", "epochs", "topk", "rows", "concurrency"):
        at_least(name, 1)
    for name in ("max_steps", "max_calls", "max_tokens"):
        at_least(name, 1, optional=True)
    at_least("seed", 0)
    lr = values.get("lr")
    if not _is_number(lr) or not 0 < lr <= 1:
        problems.append(f"{_flag('lr')} must be a number in (0, 1], got {lr!r}")
    max_cost = values.get("max_cost")
    if max_cost is not None and (not _is_number(max_cost) or max_cost <= 0):
        problems.append(f"{_flag('max_cost')} must be a positive number of USD, got {max_cost!r}")
    for name, choices in CHOICES.items():
        value = values.get(name)
        if value is not None and value not in choices:
            problems.append(f"{_flag(name)} must be one of {', '.join(choices)}, got {value!r}")
    executor = options.executor or (None if options.resume else "inprocess")
    problems += executor_problems(executor, options.workers)
    return problems


def check_train(settings: Mapping[str, Any], options: RunOptions) -> None:
    """Raise InvalidParams naming every out-of-range setting or option; called before a run is created or touched."""
    problems = train_problems(settings, options)
    if problems:
        raise InvalidParams(
            f"invalid training options: {'; '.join(problems)}. Nothing was created or changed",
            {"problems": problems},
        )


def _probe(folder: Path) -> str | None:
    """Why a file cannot be created and removed in `folder` (None: it can)."""
    if not os.access(folder, os.W_OK | os.X_OK):
        return "no write permission"
    probe = folder / f".experience-write-probe-{os.getpid()}-{secrets.token_hex(4)}"
    try:
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as error:
        return error.strerror or str(error)
    os.close(fd)
    try:
        os.unlink(probe)
    except OSError as error:
        with contextlib.suppress(OSError):
            os.unlink(probe)
        return error.strerror or str(error)
    return None


def check_writable(path: Path) -> None:
    """Raise InvalidParams unless a run folder (and its experience/ folder) can be written.

    A folder that does not exist yet is judged by the nearest existing folder above it (where it would be made).
    """
    run_dir = Path(path)
    folders = [run_dir, run_dir / "experience"] if run_dir.exists() else []
    if not folders:
        parent = run_dir.parent
        while not parent.exists() and parent != parent.parent:
            parent = parent.parent
        folders = [parent]
    for folder in folders:
        if not folder.exists():
            continue
        if not folder.is_dir():
            raise InvalidParams(f"{folder} is not a folder; a run directory must be a folder", {"path": str(folder)})
        why = _probe(folder)
        if why is not None:
            raise InvalidParams(
                f"{folder} is not writable ({why}); evaluation and training need a writable run directory: "
                "fix its permissions, or copy the run somewhere writable and use that copy",
                {"path": str(folder)},
            )
