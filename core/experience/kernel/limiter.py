"""A counting semaphore that bounds concurrent calls across event loops and threads."""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from types import TracebackType


def _wake(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


class Limiter:
    """Like ``asyncio.Semaphore``, but one instance may be awaited from several loops at once.

    ``asyncio.Semaphore`` binds to the first loop that waits on it; a kernel is also used
    through ``Kernel.run`` on private loops in worker threads, so the limit is kept here with
    a thread lock and waiters are woken on their own loop.
    """

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError(f"concurrency must be >= 1, got {limit}")
        self.limit = limit
        self._active = 0
        self._lock = threading.Lock()
        self._waiters: deque[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = deque()

    @property
    def active(self) -> int:
        """Number of slots held now."""
        return self._active

    async def acquire(self) -> None:
        """Wait for a free slot (FIFO)."""
        loop = asyncio.get_running_loop()
        with self._lock:
            if self._active < self.limit and not self._waiters:
                self._active += 1
                return
            entry = (loop, loop.create_future())
            self._waiters.append(entry)
        try:
            await entry[1]
        except asyncio.CancelledError:
            with self._lock:
                if entry in self._waiters:
                    self._waiters.remove(entry)
                    raise
            self.release()  # the slot was handed over just as we were cancelled
            raise

    def release(self) -> None:
        """Free a slot, handing it straight to the oldest waiter if there is one."""
        with self._lock:
            while self._waiters:
                loop, future = self._waiters.popleft()
                try:
                    loop.call_soon_threadsafe(_wake, future)
                except RuntimeError:  # that waiter's loop is closed: try the next one
                    continue
                return
            self._active -= 1

    async def __aenter__(self) -> None:
        await self.acquire()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()
