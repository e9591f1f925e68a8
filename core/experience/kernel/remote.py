"""Ray workers that each host an LLM backend, and a Backend that fans the kernel's calls out to them.

The kernel (cache, retries, timeout, budget, ledger) stays on the driver; only `Backend.complete` crosses
to a worker, so a run on N workers asks the same questions and gets the same answers as one in-process.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from types import ModuleType
from typing import Any

from .backends import make_backend
from .types import Backend, BackendUnavailable, BatchBackend, Completion, KernelError, KernelTask

RAY_INSTALL = "pip install -e '.[ray]'"
_SELF_PRICED = frozenset({"claude-agent"})


def require_ray() -> ModuleType:
    """The `ray` module, or BackendUnavailable naming the install command."""
    try:
        return importlib.import_module("ray")
    except ImportError as error:
        raise BackendUnavailable(
            f"--executor ray needs Ray, which is not installed. Fix: {RAY_INSTALL} "
            "(or train in-process: --executor inprocess)"
        ) from error


def ray_available() -> bool:
    """True when `ray` imports."""
    try:
        require_ray()
    except BackendUnavailable:
        return False
    return True


@dataclass(frozen=True)
class BackendSpec:
    """How a worker builds its backend: `make_backend(name, ...)`, or a zero-argument `factory` (tests)."""

    name: str
    model: str | None = None
    base_url: str | None = None
    options: tuple[tuple[str, Any], ...] = ()
    factory: Callable[[], Backend] | None = None

    def build(self) -> Backend:
        """The backend this spec names, built in the calling process."""
        if self.factory is not None:
            return self.factory()
        return make_backend(self.name, model=self.model, base_url=self.base_url, **dict(self.options))


class BackendWorker:
    """The body of one Ray actor: one backend, answering the tasks the driver sends it."""

    def __init__(self, spec: BackendSpec) -> None:
        self.backend = spec.build()
        self.calls = 0

    def describe(self) -> dict[str, Any]:
        """Name, model, whether the backend prices calls, and where this worker runs."""
        backend = self.backend
        priced = bool(getattr(backend, "reports_cost", backend.name in _SELF_PRICED)) or backend.cost(1000, 1000) > 0
        node = ""
        try:
            node = str(importlib.import_module("ray").get_runtime_context().get_node_id())
        except Exception:
            node = ""
        batch = backend.max_batch if isinstance(backend, BatchBackend) else 1
        info = {"name": backend.name, "model": backend.model, "priced": priced, "max_batch": batch}
        return info | {"pid": os.getpid(), "node": node}

    async def complete(self, task: KernelTask) -> Completion:
        """Answer one task; the completion carries its price (the driver has no copy of the backend)."""
        self.calls += 1
        return self._priced(await self.backend.complete(task))

    async def complete_batch(self, tasks: list[KernelTask]) -> list[Completion]:
        """Answer a shard of a batch: one backend batch when the backend batches, else concurrently."""
        self.calls += len(tasks)
        backend = self.backend
        if isinstance(backend, BatchBackend) and backend.max_batch > 1:
            done = list(await backend.complete_batch(tasks))
        else:
            done = list(await asyncio.gather(*(backend.complete(t) for t in tasks)))
        return [self._priced(c) for c in done]

    def _priced(self, done: Completion) -> Completion:
        if done.cost is None:
            done = replace(done, cost=self.backend.cost(done.prompt_tokens, done.completion_tokens))
        return done

    def served(self) -> int:
        """Tasks this worker was sent."""
        return self.calls

    async def close(self) -> None:
        """Release the backend's resources."""
        closer = getattr(self.backend, "aclose", None)
        if callable(closer):
            await closer()
        closer = getattr(self.backend, "close", None)
        if callable(closer):
            closer()


def ensure_ray(num_cpus: int | None = None) -> bool:
    """Start a local Ray instance (or join $RAY_ADDRESS) unless one is up; True when this call started it."""
    ray = require_ray()
    if ray.is_initialized():
        return False
    options: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False}
    if not os.environ.get("RAY_ADDRESS"):
        options["num_cpus"] = num_cpus or os.cpu_count() or 1
    ray.init(**options)
    return True


class RayBackend:
    """A Backend whose calls run on `workers` Ray actors, each hosting the backend `spec` builds.

    Each call goes to the worker with the fewest calls in flight (ties: the lowest index), so a batch of B
    calls splits about B / workers per worker. `cpus` is what each worker reserves on its node.
    """

    def __init__(self, spec: BackendSpec, workers: int, *, cpus: float = 1.0, slots: int = 1) -> None:
        if workers < 1:
            raise ValueError(f"workers must be >= 1, got {workers}")
        ray = require_ray()
        self._ray = ray
        self._started = ensure_ray()
        have = float(ray.cluster_resources().get("CPU", 0.0))
        if have < workers * cpus:
            self._shutdown()
            raise BackendUnavailable(
                f"--workers {workers} needs {workers * cpus:g} CPUs but the Ray instance has {have:g}; "
                "lower --workers, or join a larger cluster (set RAY_ADDRESS)"
            )
        actor = ray.remote(BackendWorker).options(num_cpus=cpus, max_concurrency=slots, scheduling_strategy="SPREAD")
        self.workers = [actor.remote(spec) for _ in range(workers)]
        self.slots = slots
        try:
            infos = ray.get([w.describe.remote() for w in self.workers])
        except Exception as error:
            self.close()
            why = _cause(error)
            raise BackendUnavailable(f"a Ray worker could not start its {spec.name} backend: {why}") from error
        self.infos: list[dict[str, Any]] = infos
        self.name: str = infos[0]["name"]
        self.model: str = infos[0]["model"]
        self.reports_cost = bool(infos[0]["priced"])
        # a batching backend (llama.cpp) makes this one too: a batch splits into one shard per worker
        self.max_batch = workers * int(infos[0]["max_batch"]) if infos[0]["max_batch"] > 1 else 1
        self._load = [0] * workers

    async def complete(self, task: KernelTask) -> Completion:
        """Answer one task on the least busy worker; its errors come back as the kernel's own."""
        index = min(range(len(self.workers)), key=lambda i: (self._load[i], i))
        done: Completion = await self._wait(index, self.workers[index].complete.remote(task))
        return done

    async def complete_batch(self, tasks: Sequence[KernelTask]) -> list[Completion]:
        """Data-parallel: contiguous shards of the batch, one per worker, each answered as one batch there."""
        size, count = len(tasks), len(self.workers)
        bounds = [size * i // count for i in range(count + 1)]
        shards = [(i, list(tasks[bounds[i] : bounds[i + 1]])) for i in range(count) if bounds[i + 1] > bounds[i]]
        parts = await asyncio.gather(*(self._wait(i, self.workers[i].complete_batch.remote(s)) for i, s in shards))
        return [done for part in parts for done in part]

    async def _wait(self, index: int, ref: Any) -> Any:
        """The result of a call on worker `index`; its errors come back as the kernel's own."""
        self._load[index] += 1
        try:
            return await ref
        except asyncio.CancelledError:  # the kernel's timeout or a failed batch: stop the worker's call too
            self._ray.cancel(ref)
            raise
        except self._ray.exceptions.RayTaskError as error:
            cause = getattr(error, "cause", None)
            if isinstance(cause, Exception):
                raise cause from error
            raise KernelError(f"Ray worker {index} failed: {error}") from error
        except self._ray.exceptions.RayActorError as error:
            raise BackendUnavailable(
                f"Ray worker {index} ({self.name}) died: {_cause(error)}; the step was not committed, "
                "resume with --resume"
            ) from error
        finally:
            self._load[index] -= 1

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        """0.0: every completion from a worker already carries its price."""
        return 0.0

    def served(self) -> list[int]:
        """Tasks each worker was sent, by worker."""
        counts: list[int] = self._ray.get([w.served.remote() for w in self.workers])
        return counts

    def close(self) -> None:
        """Stop the workers (and the Ray instance if this backend started it); safe to repeat."""
        workers, self.workers = getattr(self, "workers", []), []
        for worker in workers:
            with contextlib.suppress(Exception):
                self._ray.get(worker.close.remote(), timeout=10)
            self._ray.kill(worker)
        self._shutdown()

    def _shutdown(self) -> None:
        if self._started:
            self._ray.shutdown()
            self._started = False


def _cause(error: BaseException) -> str:
    """The innermost message of a Ray error (its first line), else the error itself."""
    cause = getattr(error, "cause", None)
    if isinstance(cause, BaseException) and cause is not error:
        return _cause(cause)
    text = str(error).strip().splitlines()
    return text[-1] if text else type(error).__name__
