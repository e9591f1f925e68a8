"""Where a run's LLM calls execute: in this process, or fanned out to Ray workers (`--executor ray --workers N`).

Training and evaluation code is the same for both: the driver runs forward, loss, backward (the grouping of
per-sample gradients by row) and one optimizer step; the executor only decides which process answers each call.
"""

from __future__ import annotations

from collections.abc import Callable

from experience.kernel import Backend, make_backend
from experience.kernel.remote import RAY_INSTALL, BackendSpec, RayBackend, ray_available
from experience.train.run_dir import RunError

EXECUTORS = ("inprocess", "ray")
LOCAL_THREADS = 1  # llama.cpp threads per Ray worker: one worker per core


def executor_problems(executor: str | None, workers: int | None) -> list[str]:
    """Every problem with an executor choice, one sentence each (empty: fine)."""
    problems: list[str] = []
    if executor is not None and executor not in EXECUTORS:
        problems.append(f"--executor must be one of {', '.join(EXECUTORS)}, got {executor!r}")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        problems.append(f"--workers must be a whole number >= 1, got {workers!r}")
    elif workers is not None and workers > 1 and executor == "inprocess":
        problems.append(f"--workers {workers} needs --executor ray (in-process training has one worker)")
    if executor == "ray" and not ray_available():
        problems.append(f"--executor ray needs Ray, which is not installed: {RAY_INSTALL}")
    return problems


def executor_backend(
    executor: str,
    workers: int,
    backend: str,
    model: str | None,
    base_url: str | None,
    factory: Callable[[], Backend] | None = None,
) -> tuple[Backend, int]:
    """The backend a kernel should call and the concurrency that keeps every worker busy."""
    # `factory` replaces the named backend (tests); with Ray the workers import it by name
    problems = executor_problems(executor, workers)
    if problems:
        raise RunError("; ".join(problems))
    if executor == "inprocess":
        return (factory() if factory is not None else make_backend(backend, model=model, base_url=base_url)), 1
    local = backend == "local" and factory is None
    options = (("n_threads", LOCAL_THREADS),) if local else ()
    spec = BackendSpec(backend, model, base_url, options, factory)
    slots = 1 if backend == "local" else 4  # llama.cpp answers one call at a time; endpoints take several
    remote = RayBackend(spec, workers, cpus=float(LOCAL_THREADS) if backend == "local" else 0.25, slots=slots)
    return remote, workers * slots


def executor_choice(
    run_executor: str, run_workers: int, asked_executor: str | None, asked_workers: int | None
) -> tuple[str, int]:
    """The executor and worker count to use: what was asked, else the run's (another executor: 1 worker)."""
    executor = asked_executor or run_executor
    workers = asked_workers if asked_workers is not None else run_workers if executor == run_executor else 1
    problems = executor_problems(executor, workers)
    if problems:
        raise RunError("; ".join(problems))
    return executor, workers
