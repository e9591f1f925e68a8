"""The one dispatcher every LLM call goes through: limit, timeout, retry, cache, ledger, budget."""

from __future__ import annotations

import asyncio
import logging
import random
import threading
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from functools import partial
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

from .cache import ResponseCache
from .limiter import Limiter
from .types import Backend, BatchBackend, BudgetExceeded, Completion, KernelError, KernelTask, TransientError
from .usage import Budget, Usage

log = logging.getLogger(__name__)
_SELF_PRICED = frozenset({"claude-agent"})  # backends whose completions carry their own cost
T = TypeVar("T")



class Kernel:
    """The one dispatcher for every LLM call."""

    def __init__(
        self,
        backend: Backend,
        *,
        cache_path: Path | None = None,
        concurrency: int = 1,
        timeout: float | None = 120.0,
        retries: int = 3,
        backoff: float = 0.5,
        budget: Budget | None = None,
    ) -> None:
        if retries < 0:
            raise ValueError(f"retries must be >= 0, got {retries}")
        self.backend = backend
        self.usage = Usage()
        self.budget = budget or Budget()
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.backend_id = f"{backend.name}:{backend.model}"
        self.cache = ResponseCache(cache_path) if cache_path is not None else None
        self._limiter = Limiter(concurrency)
        self._lock = threading.Lock()
        self._reserved = 0
        self._rng = random.Random()
        self.warnings: list[str] = []  # said once each through `logging`; a trainer may show them to the user
        self._warn_if_cost_cap_cannot_trip()

    @property
    def concurrency(self) -> int:
        """The most real calls in flight at once."""
        return self._limiter.limit

    async def complete_many(self, tasks: Sequence[KernelTask]) -> list[Completion]:
        """Complete every task concurrently (bounded); results keep the order of ``tasks``.

        With a cache, identical tasks in one batch cost one call (the copies count as cache
        hits). On the first error the other tasks are cancelled and that error is raised;
        on BudgetExceeded the calls already in flight are finished first (they are paid
        for). Answers already received stay in the cache. A BatchBackend gets the uncached
        tasks in chunks of its ``max_batch``, one chunk at a time.
        """
        if self.cache is None:
            if self._batching(tasks):
                return await self._complete_batched(list(tasks), [None] * len(tasks))
            return await self._gather([self.complete(t) for t in tasks])
        keys = [t.cache_key(self.backend_id) for t in tasks]
        first: dict[str, int] = {}
        for index, key in enumerate(keys):
            first.setdefault(key, index)
        unique = sorted(first.values())
        if self._batching(unique):
            answers = await self._complete_batched([tasks[i] for i in unique], [keys[i] for i in unique])
        else:
            answers = await self._gather([self.complete(tasks[i]) for i in unique])
        by_key = {keys[i]: answer for i, answer in zip(unique, answers, strict=True)}
        results: list[Completion] = []
        for index, key in enumerate(keys):
            if first[key] == index:
                results.append(by_key[key])
            else:
                with self._lock:
                    self.usage.cache_hits += 1
                results.append(replace(by_key[key], cached=True))
        return results

    async def complete(self, task: KernelTask) -> Completion:
        """Complete one task: from the cache if it is there, else through the backend."""
        key = task.cache_key(self.backend_id) if self.cache is not None else None
        hit = self._lookup(key)
        if hit is not None:
            return hit
        async with self._limiter:
            hit = self._lookup(key)  # an identical task may have finished while we waited
            if hit is not None:
                return hit
            self._reserve(task)
            try:
                completion = await self._with_retries(partial(self.backend.complete, task), task.tag, self.timeout)
            finally:
                with self._lock:
                    self._reserved -= 1
        self._record(completion)
        if self.cache is not None and key is not None:
            self.cache.put(key, completion)
        return completion

    def run(self, tasks: Sequence[KernelTask]) -> list[Completion]:
        """Sync entry point; works from plain code AND from inside a running event loop.

        Inside a running loop it runs the coroutine on a private loop in a worker thread and
        waits (blocking the caller's loop meanwhile; async callers should await
        ``complete_many`` instead).
        """
        batch = list(tasks)
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return asyncio.run(self._run_on_private_loop(batch))
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="experience-kernel") as pool:
            return pool.submit(lambda: asyncio.run(self._run_on_private_loop(batch))).result()

    async def aclose_backend(self) -> None:
        """Release what the backend holds on the running loop (HTTP clients); safe to repeat."""
        closer = getattr(self.backend, "aclose", None)
        if callable(closer):
            await closer()

    def close(self) -> None:
        """Close the cache and the backend's resources (if it has a ``close``)."""
        if self.cache is not None:
            self.cache.close()
        closer = getattr(self.backend, "close", None)
        if callable(closer):
            closer()

    def __enter__(self) -> Kernel:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- internals -------------------------------------------------------------------------

    def _warn_if_cost_cap_cannot_trip(self) -> None:
        """A max_cost cap on a backend without token prices never trips: say so once."""
        if self.budget.max_cost is None:
            return
        if getattr(self.backend, "reports_cost", self.backend.name in _SELF_PRICED):
            return
        if self.backend.cost(1000, 1000) > 0:
            return
        message = (
            f"max_cost={self.budget.max_cost} can never be reached: {self.backend_id} has no token prices "
            "(every call costs $0 here); cap the run with max_calls or max_tokens instead"
        )
        log.warning("%s", message)
        self.warnings.append(message)


    def _batching(self, tasks: Sequence[object]) -> bool:
        return len(tasks) > 1 and isinstance(self.backend, BatchBackend) and self.backend.max_batch > 1

    async def _complete_batched(self, tasks: list[KernelTask], keys: list[str | None]) -> list[Completion]:
        """Cache hits first, then the rest in backend batches; each task is reserved, recorded and cached alone."""
        assert isinstance(self.backend, BatchBackend)
        results = [self._lookup(key) for key in keys]
        todo = [i for i, hit in enumerate(results) if hit is None]
        for start in range(0, len(todo), self.backend.max_batch):
            chunk = todo[start : start + self.backend.max_batch]
            allowed, refused = await self._run_chunk(self.backend, [tasks[i] for i in chunk])
            for i, completion in zip(chunk, allowed, strict=False):
                self._record(completion)
                if self.cache is not None and keys[i] is not None:
                    self.cache.put(str(keys[i]), completion)
                results[i] = completion
            if refused is not None:
                raise refused
        return [r for r in results if r is not None]

    async def _run_chunk(
        self, backend: BatchBackend, chunk: list[KernelTask]
    ) -> tuple[list[Completion], BudgetExceeded | None]:
        """One backend batch of the chunk's leading tasks the budget allows; the refusal, if one was cut off."""
        async with self._limiter:
            batch: list[KernelTask] = []
            refused: BudgetExceeded | None = None
            for task in chunk:
                try:
                    self._reserve(task)
                except BudgetExceeded as exc:
                    refused = exc
                    break
                batch.append(task)
            tag = ",".join(sorted({t.tag for t in batch if t.tag}))
            timeout = None if self.timeout is None else self.timeout * len(batch)  # a batch may take B calls' time
            call = partial(backend.complete_batch, batch)
            try:
                answers = await self._with_retries(call, tag, timeout) if batch else []
            finally:
                with self._lock:
                    self._reserved -= len(batch)
        if len(answers) != len(batch):
            raise KernelError(f"{self.backend_id} answered {len(answers)} of a batch of {len(batch)} tasks")
        return answers, refused

    async def _run_on_private_loop(self, batch: list[KernelTask]) -> list[Completion]:
        try:
            return await self.complete_many(batch)
        finally:
            await self.aclose_backend()

    async def _gather(self, coroutines: list[Coroutine[Any, Any, Completion]]) -> list[Completion]:
        """Run coroutines as tasks; on the first failure cancel the rest and raise it."""
        jobs = [asyncio.ensure_future(c) for c in coroutines]
        if not jobs:
            return []
        try:
            done, pending = await asyncio.wait(jobs, return_when=asyncio.FIRST_EXCEPTION)
        except BaseException:
            for job in jobs:
                job.cancel()
            await asyncio.gather(*jobs, return_exceptions=True)
            raise
        if pending:
            failed = next((j for j in done if not j.cancelled() and j.exception()), None)
            if failed is None or not isinstance(failed.exception(), BudgetExceeded):
                for job in pending:
                    job.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        errors = [job.exception() if job.done() and not job.cancelled() else None for job in jobs]
        error = next((e for e in errors if e is not None), None)  # every exception is retrieved
        if error is not None:  # raise the failure of the earliest task in the batch
            raise error
        return [job.result() for job in jobs]

    def _lookup(self, key: str | None) -> Completion | None:
        if self.cache is None or key is None:
            return None
        hit = self.cache.get(key)
        if hit is not None:
            with self._lock:
                self.usage.cache_hits += 1
        return hit

    def _reserve(self, task: KernelTask) -> None:
        with self._lock:
            cap = self.budget.breach(self.usage, self._reserved)
            if cap is None:
                self._reserved += 1
                return
            spent = self.usage.describe()
            if self._reserved:
                spent += f" (+{self._reserved} in flight)"
        raise BudgetExceeded(
            f"budget cap {cap} reached before a {self.backend_id} call"
            f"{f' ({task.tag})' if task.tag else ''}; spent so far: {spent}. "
            "Raise the cap to continue; answers already received are cached and free."
        )

    def _record(self, completion: Completion) -> None:
        cost = completion.cost
        if cost is None:
            cost = self.backend.cost(completion.prompt_tokens, completion.completion_tokens)
        with self._lock:
            self.usage.calls += 1
            self.usage.prompt_tokens += completion.prompt_tokens
            self.usage.completion_tokens += completion.completion_tokens
            self.usage.cost += cost
            self.usage.seconds += completion.seconds

    async def _with_retries(self, call: Callable[[], Awaitable[T]], tag: str, timeout: float | None) -> T:
        attempts = self.retries + 1
        last: BaseException | None = None
        for attempt in range(attempts):
            try:
                return await asyncio.wait_for(call(), timeout)
            except (TransientError, TimeoutError) as exc:
                last = exc
                if attempt + 1 == attempts:
                    break
                delay = self.backoff * 2**attempt * self._rng.uniform(0.5, 1.5)
                log.warning(
                    "%s call%s failed (%s); retry %d/%d in %.2f s",
                    self.backend_id,
                    f" ({tag})" if tag else "",
                    _describe(exc, timeout),
                    attempt + 1,
                    self.retries,
                    delay,
                )
                await asyncio.sleep(delay)
        raise KernelError(
            f"{self.backend_id} call{f' ({tag})' if tag else ''} failed after "
            f"{attempts} attempts; last error: {_describe(last, timeout)}. "
            "Check the backend, or raise Kernel(timeout=..., retries=...)."
        ) from last


def _describe(exc: BaseException | None, timeout: float | None) -> str:
    if isinstance(exc, TimeoutError) and not str(exc):
        return f"timed out after {timeout} s"
    return f"{type(exc).__name__}: {exc}"
