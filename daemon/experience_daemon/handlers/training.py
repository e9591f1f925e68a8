"""Handlers for long work: train, step, evaluate (with work-done progress) and cancel."""

from __future__ import annotations

import asyncio
import contextlib
import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import fields
from pathlib import Path
from typing import Any

from lsprotocol import types

from experience.events import CancelToken, Event, EventSink, Progress
from experience.train.options import RunOptions
from experience_daemon import protocol as p
from experience_daemon.errors import ServiceError
from experience_daemon.handlers.host import Host

Work = Callable[[CancelToken, EventSink], Any]
OPTION_NAMES = frozenset(f.name for f in fields(RunOptions))


def snake(name: str) -> str:
    """camelCase -> snake_case (batchSize -> batch_size)."""
    return re.sub(r"[A-Z]", lambda m: "_" + m.group(0).lower(), name)


class WorkDone:
    """Work-done progress of one request; the server creates the token (VS Code sends none)."""

    def __init__(self, server: Host, title: str, token: str | int | None) -> None:
        self.server = server
        self.title = title
        self.token = token
        self.loop = asyncio.get_running_loop()

    async def begin(self, cancel: CancelToken) -> None:
        """Create a token (unless the client sent one), send `begin`; a client cancel sets it."""
        progress = self.server.work_done_progress
        if self.token is None:
            window = self.server.client_capabilities.window
            if window is None or not window.work_done_progress:
                return
            token = f"experience-{uuid.uuid4().hex[:12]}"
            try:
                await progress.create_async(token)
            except Exception:  # a client that refuses the token simply sees no progress
                return
            self.token = token
        progress.begin(
            self.token,
            types.WorkDoneProgressBegin(title=self.title, cancellable=True, percentage=0),
        )
        future = progress.tokens.get(self.token)
        if future is not None:
            future.add_done_callback(lambda f: cancel.cancel() if f.cancelled() else None)

    def sink(self, event: Event) -> None:
        """Event sink for the worker thread: progress events become `report`s on the event loop."""
        if isinstance(event, Progress) and self.token is not None:
            self.loop.call_soon_threadsafe(self._report, event)

    def _report(self, event: Progress) -> None:
        if self.token is None:
            return
        percentage = min(100, event.done * 100 // max(event.total, 1))
        self.server.work_done_progress.report(
            self.token, types.WorkDoneProgressReport(message=event.message, percentage=percentage)
        )

    def end(self, message: str) -> None:
        """Send `end` and forget the token."""
        if self.token is None:
            return
        self.server.work_done_progress.end(self.token, types.WorkDoneProgressEnd(message=message))
        self.server.work_done_progress.tokens.pop(self.token, None)
        self.token = None


def _summary(result: dict[str, Any]) -> str:
    if result.get("stopped"):
        return f"stopped at step {result.get('step')}"
    if "loss" in result:
        return f"loss {float(result['loss']):.4f}, exact {float(result.get('exact', 0)):.2f}"
    return "done"


async def run_job(server: Host, params: dict[str, Any], title: str, work: Work) -> dict[str, Any]:
    """Run blocking work with progress; stopped by $/cancelRequest, progress cancel or cancel."""
    cancel = CancelToken()
    progress = WorkDone(server, title, params.get("workDoneToken"))
    await progress.begin(cancel)
    job = asyncio.ensure_future(server.call(work, cancel, progress.sink))
    try:
        result: dict[str, Any] = await asyncio.shield(job)
    except asyncio.CancelledError:
        cancel.cancel()
        with contextlib.suppress(Exception):
            await job  # the trainer stops at its next safe point; the run stays resumable
        progress.end("cancelled")
        raise
    except Exception as error:
        progress.end(f"failed: {error}")
        raise
    progress.end(_summary(result))
    return result


def _wire(result: dict[str, Any]) -> p.TrainResult:
    out = {("runDir" if k == "run_dir" else k): v for k, v in result.items()}
    return out  # type: ignore[return-value]


async def train(server: Host, params: p.TrainRequest) -> p.TrainResult:
    """Train a run (a new one needs `dataset`); an existing run is continued, never replaced."""
    run_dir = params["runDir"]
    exists = (Path(run_dir) / "run.json").exists()
    resume = params.get("resume", exists)
    if exists and not resume:
        raise ServiceError(
            f"{run_dir} already holds a run; pass resume: true to continue it or choose another "
            "runDir (the daemon never moves a run aside)"
        )
    skip = {"runDir", "resume", *p.LSP_KEYS}
    asked: dict[str, Any] = {snake(k): v for k, v in params.items() if k not in skip}
    options = RunOptions(resume=resume, **{k: v for k, v in asked.items() if k in OPTION_NAMES})
    settings = {k: v for k, v in asked.items() if k not in OPTION_NAMES}  # RunConfig fields: checked by the service
    title = f"Training {Path(run_dir).name}"
    result = await run_job(
        server,
        dict(params),
        title,
        lambda cancel, sink: server.service.train(run_dir, options, settings, cancel, events=sink),
    )
    return _wire(result)


async def step(server: Host, params: p.StepRequest) -> p.TrainResult:
    """One training step of an existing run."""
    run_dir = params["runDir"]
    result = await run_job(
        server,
        dict(params),
        f"Step of {Path(run_dir).name}",
        lambda cancel, sink: server.service.step(
            run_dir,
            params.get("dataset"),
            cancel,
            no_cache=params.get("noCache", False),
            events=sink,
        ),
    )
    return _wire(result)


async def evaluate(server: Host, params: p.EvaluateRequest) -> p.EvalResult:
    """Evaluate a run's experience on a split (with progress; cancelling it answers an error, records nothing)."""
    options: dict[str, Any] = {snake(k): v for k, v in params.items() if k not in {"runDir", *p.LSP_KEYS}}
    run_dir = params["runDir"]
    result = await run_job(
        server,
        dict(params),
        f"Evaluating {Path(run_dir).name}",
        lambda cancel, sink: server.service.evaluate(run_dir, events=sink, cancel=cancel, **options).as_dict(),
    )
    answer: p.EvalResult = {"loss": float(result["loss"]), "exact": float(result["exact"]), "n": int(result["n"])}
    if result.get("valid") is not None:
        answer["valid"] = float(result["valid"])
    return answer


async def cancel(server: Host, params: p.RunParams) -> p.CancelResult:
    """Ask the run's training to stop at its next safe point."""
    return {"cancelled": server.service.cancel(params["runDir"])}


HANDLERS: dict[str, Callable[..., Awaitable[Any]]] = {
    p.TRAIN: train,
    p.STEP: step,
    p.EVALUATE: evaluate,
    p.CANCEL: cancel,
}
