"""Checks of what a request asks for, before anything is created: option ranges, a writable run folder."""

from __future__ import annotations

import contextlib
import math
import os
import secrets
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeGuard

from experience.train.executor import executor_problems
from experience_daemon.errors import ServiceError

if TYPE_CHECKING:
    from experience_daemon.service import TrainParams

GRAD_MODES = ("example", "llm")
CAPACITY_POLICIES = ("evict", "merge")


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


def train_param_problems(params: TrainParams) -> list[str]:
    """Every option of a train request that is out of range, as one sentence each (empty: all fine)."""
    problems: list[str] = []

    def at_least(name: str, low: int, optional: bool = False) -> None:
        value = getattr(params, name, None)
        if value is None and optional:
            return
        if not _is_int(value) or value < low:
            problems.append(f"{_flag(name)} must be a whole number >= {low}, got {value!r}")

    for name in ("batch_size", "epochs", "topk", "rows", "concurrency"):
        at_least(name, 1)
    for name in ("max_steps", "max_calls", "max_tokens"):
        at_least(name, 1, optional=True)
    at_least("seed", 0)
    lr = getattr(params, "lr", None)
    if not _is_number(lr) or not 0 < lr <= 1:
        problems.append(f"{_flag('lr')} must be a number in (0, 1], got {lr!r}")
    max_cost = getattr(params, "max_cost", None)
    if max_cost is not None and (not _is_number(max_cost) or max_cost <= 0):
        problems.append(f"{_flag('max_cost')} must be a positive number of USD, got {max_cost!r}")
    grad = getattr(params, "grad", "example")
    if grad not in GRAD_MODES:
        problems.append(f"{_flag('grad')} must be one of {', '.join(GRAD_MODES)}, got {grad!r}")
    query = getattr(params, "query", None)
    if query is not None and query not in ("llm", "lexical"):
        problems.append(f"{_flag('query')} must be llm or lexical, got {query!r}")
    retriever = getattr(params, "retriever", "jaccard")
    if retriever not in ("jaccard", "embedding", "hybrid"):
        problems.append(f"{_flag('retriever')} must be jaccard, embedding or hybrid, got {retriever!r}")
    grammar = getattr(params, "grammar", None)
    if grammar is not None and grammar not in ("on", "off"):
        problems.append(f"{_flag('grammar')} must be on or off, got {grammar!r}")
    capacity = getattr(params, "capacity", "evict")
    if capacity not in CAPACITY_POLICIES:
        problems.append(f"{_flag('capacity')} must be one of {', '.join(CAPACITY_POLICIES)}, got {capacity!r}")
    executor = getattr(params, "executor", None) or (None if getattr(params, "resume", False) else "inprocess")
    problems += executor_problems(executor, getattr(params, "workers", None))
    return problems


def check_train_params(params: TrainParams) -> None:
    """Raise InvalidParams naming every out-of-range option; called before a run is created or touched."""
    problems = train_param_problems(params)
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
