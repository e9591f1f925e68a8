"""Typed events the core emits (through a callback) and every shell renders its own way."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Progress:
    """Work done so far: `done` of `total` units (samples), with a short message."""

    done: int
    total: int
    message: str = ""


@dataclass(frozen=True)
class Metrics:
    """One metrics record (the same dict that is appended to metrics.jsonl)."""

    record: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Log:
    """A human-readable line."""

    message: str
    level: str = "info"


@dataclass(frozen=True)
class EntryChanged:
    """An experience element changed (patched, hand-edited, accepted, rolled back)."""

    run_dir: str
    row: int
    column: int
    origin: str = "patch"


Event = Progress | Metrics | Log | EntryChanged
EventSink = Callable[[Event], None]


def ignore(_event: Event) -> None:
    """An event sink that drops everything."""


class Cancelled(RuntimeError):
    """Work that cannot stop half-way with a useful result (an evaluation) was cancelled."""


class CancelToken:
    """Cooperative cancellation: the shell sets it, the core checks it between units of work."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        """Ask the running work to stop at the next safe point."""
        self._event.set()

    @property
    def cancelled(self) -> bool:
        """Whether cancellation was requested."""
        return self._event.is_set()
