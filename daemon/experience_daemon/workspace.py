"""The open runs of a daemon or CLI process, their event sinks and kernels: what jobs, edits and inference share.

Imports point one way: service -> jobs, edits, inference -> workspace. Service is a Workspace with the use cases
on top; the modules below it take a Workspace and never import the service.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable
from pathlib import Path

from experience.events import EntryChanged, Event, EventSink, ignore
from experience.kernel import Backend, Budget, Kernel, make_backend
from experience.train.executor import executor_backend
from experience_daemon.session import RunSession
from experience_daemon.watcher import OwnWrites

RunEventSink = Callable[[str, Event], None]
BackendFactory = Callable[[], Backend]


def default_cache_path() -> Path:
    """The LLM response cache: $EXPERIENCE_CACHE, else ~/.cache/experience/llm-cache.sqlite."""
    env = os.environ.get("EXPERIENCE_CACHE")
    if env:
        return Path(env)
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "experience" / "llm-cache.sqlite"


class Workspace:
    """The open runs (one session each), where their events go and how kernels are made.

    `events` gets every event; `run_events(run_dir, event)` gets them with the run they belong to.
    `backend_factory` replaces every backend (tests only: see experience_daemon.testing).
    """

    def __init__(
        self,
        events: EventSink = ignore,
        *,
        run_events: RunEventSink | None = None,
        backend_factory: BackendFactory | None = None,
        refresh_keywords: bool = True,
    ) -> None:
        self.events = events
        self.run_events = run_events
        self.backend_factory = backend_factory
        self.refresh_keywords = refresh_keywords
        self.own_writes = OwnWrites()
        self.sessions: dict[str, RunSession] = {}
        self._lock = threading.Lock()

    def emit(self, run_key: str, event: Event) -> None:
        """Send an event to both sinks."""
        self.events(event)
        if self.run_events is not None:
            self.run_events(run_key, event)

    def emit_changes(self, session: RunSession, origin: str, slots: Iterable[int] | None = None) -> list[int]:
        """Emit EntryChanged for every slot whose text changed since it was last reported."""
        changed = session.changes(slots)
        for slot in changed:
            row, column = divmod(slot, 3)
            self.emit(session.key, EntryChanged(session.key, row, column, origin))
        return changed

    # -- kernel --------------------------------------------------------------------------
    def make_kernel(
        self,
        backend: str,
        model: str | None,
        base_url: str | None,
        *,
        cache: str | None = None,
        no_cache: bool = False,
        budget: Budget | None = None,
        concurrency: int = 1,
        executor: str = "inprocess",
        workers: int = 1,
    ) -> Kernel:
        """A kernel for a backend (in-process, or on `workers` Ray workers), with the shared cache unless disabled."""
        cache_path = None if no_cache else Path(cache) if cache else default_cache_path()
        if cache_path is not None:
            cache_path.parent.mkdir(parents=True, exist_ok=True)
        if executor != "inprocess":
            chosen, fan_out = executor_backend(executor, workers, backend, model, base_url, self.backend_factory)
            concurrency = max(concurrency, fan_out)
        elif self.backend_factory is not None:
            chosen = self.backend_factory()
        else:
            chosen = make_backend(backend, model=model, base_url=base_url)
        if backend != "local":
            concurrency = max(concurrency, 4)
        return Kernel(chosen, cache_path=cache_path, concurrency=concurrency, budget=budget)

    # -- sessions ------------------------------------------------------------------------
    def session(self, run_dir: str | Path) -> RunSession:
        """The open session of a run (opened on first use)."""
        key = str(Path(run_dir).resolve())
        with self._lock:
            found = self.sessions.get(key)
            if found is None:
                found = self.sessions[key] = RunSession(Path(key), self.own_writes)
            return found

    def close_run(self, run_dir: str | Path) -> bool:
        """Forget an open run (its job, if any, is cancelled); True if it was open."""
        with self._lock:
            session = self.sessions.pop(str(Path(run_dir).resolve()), None)
        if session is None:
            return False
        if session.job is not None:
            session.job.cancel.cancel()
        session.close()
        return True

    def close(self) -> None:
        """Cancel every job and close every run."""
        for key in list(self.sessions):
            self.close_run(key)
