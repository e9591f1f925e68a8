"""File watching: notice hand edits of experience files, without echoing the daemon's own writes."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import threading
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

log = logging.getLogger(__name__)

DEBOUNCE_S = 0.1


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class OwnWrites:
    """What the daemon last wrote to each file (path + content hash): the watcher skips the echo."""

    def __init__(self) -> None:
        self._hashes: dict[str, str] = {}
        self._lock = threading.Lock()

    def record(self, path: Path, text: str) -> None:
        """Remember that the daemon is writing `text` to `path`."""
        with self._lock:
            self._hashes[str(path.resolve())] = _digest(text.encode("utf-8"))

    def is_own(self, path: Path) -> bool:
        """Whether the file holds exactly what the daemon last wrote there."""
        key = str(path.resolve())
        with self._lock:
            expected = self._hashes.get(key)
        if expected is None:
            return False
        try:
            return _digest(path.read_bytes()) == expected
        except FileNotFoundError:
            return expected == _digest(b"")

    def forget(self, path: Path) -> None:
        """Drop the record of a file a person changed since (a later revert is not an echo)."""
        with self._lock:
            self._hashes.pop(str(path.resolve()), None)


Changed = Callable[[str, list[Path]], Coroutine[Any, Any, None]]


class _Handler(FileSystemEventHandler):
    def __init__(self, on_path: Callable[[Path], None]) -> None:
        self.on_path = on_path

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.is_directory or event.event_type in ("opened", "closed_no_write"):
            return
        for raw in (event.src_path, getattr(event, "dest_path", "")):
            path = Path(raw.decode() if isinstance(raw, bytes) else raw) if raw else None
            if path is not None and not path.name.startswith(".") and not path.name.endswith("~"):
                self.on_path(path)


class RunWatcher:
    """Watches the experience folder of open runs; calls `changed(run_key, paths)` on the loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop, changed: Changed, *, debounce: float = DEBOUNCE_S) -> None:
        self.loop = loop
        self.changed = changed
        self.debounce = debounce
        self._observer = Observer()
        self._observer.daemon = True
        self._started = False
        self._watches: dict[str, object] = {}
        self._pending: dict[str, set[Path]] = {}
        self._timers: dict[str, asyncio.TimerHandle] = {}

    @property
    def watched(self) -> list[str]:
        """Keys of the runs being watched."""
        return list(self._watches)

    def watch(self, run_key: str, folder: Path) -> None:
        """Start watching one run's experience folder (idempotent)."""
        if run_key in self._watches:
            return
        if not self._started:
            self._observer.start()
            self._started = True

        def on_path(path: Path) -> None:
            self.loop.call_soon_threadsafe(self._queue, run_key, path)

        handler = _Handler(on_path)
        self._watches[run_key] = self._observer.schedule(handler, str(folder), recursive=True)
        log.info("watching %s", folder)

    def unwatch(self, run_key: str) -> None:
        """Stop watching a run."""
        watch = self._watches.pop(run_key, None)
        if watch is not None:
            self._observer.unschedule(watch)  # type: ignore[arg-type]

    def stop(self) -> None:
        """Stop the observer thread."""
        if self._started:
            self._observer.stop()
            self._observer.join(timeout=5)
            self._started = False

    def _queue(self, run_key: str, path: Path) -> None:
        if run_key not in self._watches:
            return
        self._pending.setdefault(run_key, set()).add(path)
        timer = self._timers.pop(run_key, None)
        if timer is not None:
            timer.cancel()
        self._timers[run_key] = self.loop.call_later(self.debounce, self._flush, run_key)

    def _flush(self, run_key: str) -> None:
        self._timers.pop(run_key, None)
        paths = sorted(self._pending.pop(run_key, set()))
        if paths:
            task = self.loop.create_task(self.changed(run_key, paths))
            task.add_done_callback(_log_failure)


def _log_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("handling a file change failed", exc_info=task.exception())
