"""Long work on a run: create, train (or one step) and evaluate, one job per run at a time."""

from __future__ import annotations

import contextlib
import shutil
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from experience.events import CancelToken, Event, EventSink, Log, Metrics
from experience.kernel import Budget
from experience.tasks.dataset import Dataset, load_dataset
from experience.train.executor import executor_choice
from experience.train.options import RunOptions, new_run_config
from experience.train.rollback import rollback as rollback_run
from experience.train.run_dir import RunConfig, RunDir, RunError
from experience.train.trainer import EvalResult, Trainer
from experience_daemon.errors import RunBusy
from experience_daemon.session import Job, RunSession
from experience_daemon.validation import check_writable
from experience_daemon.workspace import Workspace


@contextlib.contextmanager
def job(session: RunSession, kind: str, cancel: CancelToken | None) -> Iterator[Job]:
    """Mark the run busy for the duration (RunBusy if it already is)."""
    with session.lock:
        if session.job is not None:
            raise RunBusy(
                f"{session.key} is already running a {session.job.kind} in this daemon; "
                "cancel it (experience/cancel) or wait",
                {"job": session.job.kind},
            )
        session.refresh_run()
        current = session.job = Job(kind, cancel or CancelToken())
    try:
        yield current
    finally:
        session.job = None


def job_sink(workspace: Workspace, session: RunSession, extra: EventSink | None) -> EventSink:
    """A job's events go to the workspace's sinks and `extra`; train steps report changed entries."""

    def sink(event: Event) -> None:
        workspace.emit(session.key, event)
        if extra is not None:
            extra(event)
        if isinstance(event, Metrics) and event.record.get("split") == "train":
            workspace.emit_changes(session, "patch")

    return sink


def new_run(
    workspace: Workspace, run_dir: str, settings: Mapping[str, Any], options: RunOptions, dataset: Dataset
) -> RunDir:
    """Create a run for `dataset` (a run already there is moved aside to a .bak folder)."""
    path = Path(run_dir)
    config = new_run_config(dataset, settings, options)  # before anything moves: a refusal leaves all as it was
    if (path / "run.json").exists():
        workspace.close_run(path)
        backup = path.with_name(f"{path.name}.bak-{time.strftime('%Y%m%d-%H%M%S')}")
        shutil.move(str(path), str(backup))
        note = f"{path} held a run; moved it to {backup} (pass --resume to continue a run instead)"
        workspace.events(Log(note))
    return RunDir.create(path, config)


def train(
    workspace: Workspace,
    run_dir: str,
    settings: Mapping[str, Any],
    options: RunOptions,
    cancel: CancelToken | None,
    events: EventSink | None,
) -> dict[str, Any]:
    """Train (or resume) a run: lock first, then read its state, sharing the session's experience."""
    if options.resume:
        session = workspace.session(run_dir)
    else:
        if not options.dataset:
            raise RunError("train needs --dataset DIR for a new run (or --resume to continue one)")
        dataset = load_dataset(options.dataset)
        dataset.split("train")
        new_run(workspace, run_dir, settings, options, dataset)
        session = workspace.session(run_dir)
    budget = Budget(max_calls=options.max_calls, max_tokens=options.max_tokens, max_cost=options.max_cost)
    with job(session, "train", cancel) as current, session.run.lock():
        session.reload()  # under the lock: what another writer did before us is what we continue from
        run, cfg = session.run, session.run.config
        if options.resume:
            dataset = load_dataset(options.dataset or cfg.dataset)
        check_writable(run.path)
        cfg.executor, cfg.workers = executor_choice(cfg.executor, cfg.workers, options.executor, options.workers)
        kernel = workspace.make_kernel(
            cfg.backend,
            cfg.model,
            cfg.base_url,
            cache=options.cache,
            no_cache=options.no_cache,
            budget=budget,
            concurrency=options.concurrency,
            executor=cfg.executor,
            workers=cfg.workers,
        )
        sink = job_sink(workspace, session, events)
        for warning in getattr(kernel, "warnings", []):
            sink(Log(warning, "warning"))
        if options.resume and (ignored := kept_settings(cfg, settings)):
            sink(Log(ignored, "warning"))
        try:
            trainer = Trainer(
                run,
                dataset,
                kernel,
                events=sink,
                cancel=current.cancel,
                experience=session.experience,
            )
            result = trainer.train(options.epochs, max_steps=options.max_steps)
        finally:
            kernel.close()
            session.mark_current()
            workspace.emit_changes(session, "patch")
    # where the run now is wins over the keys of the last metrics record (its epoch is the one evaluated)
    return {"run_dir": str(run.path), **result, "step": run.state.step, "epoch": run.state.epoch}


def kept_settings(cfg: RunConfig, settings: Mapping[str, Any]) -> str | None:
    """The warning for settings a resumed run does not take (it keeps run.json's), or None when none differ."""
    differ = {k: v for k, v in settings.items() if v is not None and hasattr(cfg, k) and getattr(cfg, k) != v}
    if not differ:
        return None
    asked = ", ".join(f"{k}={v} (the run's: {getattr(cfg, k)})" for k, v in sorted(differ.items()))
    return f"a resumed run keeps the settings in its run.json; ignored: {asked}. Train a new run to change them"


def rollback(workspace: Workspace, run_dir: str, to_step: int) -> dict[str, Any]:
    """Restore a run's experience as after `to_step`, under its lock (refused while it trains)."""
    session = workspace.session(run_dir)
    with job(session, "rollback", None), session.run.lock():
        session.reload()
        result = rollback_run(session.run, session.experience, to_step)
        session.mark_current()
    workspace.emit_changes(session, "rollback")
    return {"runDir": session.key, **result}


def evaluate(
    workspace: Workspace,
    run_dir: str,
    dataset: str | None,
    options: dict[str, Any],
    events: EventSink | None,
    cancel: CancelToken | None = None,
) -> EvalResult:
    """Evaluate a run (created empty first when missing: the zero-shot baseline)."""
    split, record = str(options.get("split", "val")), bool(options.get("record", True))
    backend, model, base_url = options.get("backend"), options.get("model"), options.get("base_url")
    path = Path(run_dir)
    if not (path / "run.json").exists():
        if not dataset:
            raise RunError(f"no run at {path}; pass --dataset to evaluate an empty (zero-shot) run there")
        fresh = {"backend": backend, "model": model, "base_url": base_url}  # None: a new run's default
        new_run(workspace, run_dir, fresh, RunOptions(dataset=dataset), load_dataset(dataset))
    session = workspace.session(run_dir)
    session.refresh_run()
    run = session.run
    data = load_dataset(dataset or run.config.dataset)
    pairs = data.split(split if split in data.splits else "val")
    if record:
        check_writable(run.path)
    executor, workers = executor_choice(
        run.config.executor, run.config.workers, options.get("executor"), options.get("workers")
    )
    kernel = workspace.make_kernel(
        backend or run.config.backend,
        model or run.config.model,
        base_url or run.config.base_url,
        cache=options.get("cache"),
        no_cache=bool(options.get("no_cache", False)),
        executor=executor,
        workers=workers,
    )
    try:
        sink = job_sink(workspace, session, events)
        grammar = options.get("grammar")  # None: the run's setting
        trainer = Trainer(
            run, data, kernel, events=sink, cancel=cancel, experience=session.experience, grammar=grammar
        )
        return trainer.evaluate(pairs, split, record=record)
    finally:
        kernel.close()
