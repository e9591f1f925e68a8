"""Test doubles shared by the test suites (never imported by the library).

Use: ``from doubles import ScriptedBackend`` (tests/ is on sys.path through tests/conftest.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

from experience.kernel import Completion, KernelTask, TransientError


def word_count(text: str) -> int:
    """Whitespace-split word count: the double's token count."""
    return len(text.split())


class ScriptedBackend:
    """A backend whose answers come from a function or a list; records every call.

    - ``replies``: ``KernelTask -> str``, or a list consumed in call order (running out fails
      the test loudly), or one string returned every time.
    - ``delay``: seconds each call sleeps (to test timeouts and concurrency).
    - ``fail_first``: the first n calls raise ``error`` (default ``TransientError``);
      ``error`` may be any exception class or instance.
    - ``price``: USD per token, prompt and completion alike.
    Tokens are whitespace-split word counts of the messages and of the reply.
    """

    name = "scripted"

    def __init__(
        self,
        replies: Callable[[KernelTask], str] | Sequence[str] | str = "ok",
        *,
        model: str = "scripted-1",
        delay: float = 0.0,
        fail_first: int = 0,
        error: BaseException | type[BaseException] = TransientError,
        price: float = 0.0,
    ) -> None:
        self.model = model
        self.delay = delay
        self.fail_first = fail_first
        self.error = error
        self.price = price
        self._replies = replies
        self._next = 0
        self.calls: list[KernelTask] = []  # every attempt, failed ones included
        self.in_flight = 0
        self.max_in_flight = 0

    @property
    def tags(self) -> list[str]:
        """The tags of the recorded calls, in order."""
        return [task.tag for task in self.calls]

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        """Price tokens at ``price`` USD each."""
        return (prompt_tokens + completion_tokens) * self.price

    def reply_for(self, task: KernelTask) -> str:
        """Return the scripted reply for ``task`` (advancing a list script)."""
        if isinstance(self._replies, str):
            return self._replies
        if callable(self._replies):
            return self._replies(task)
        if self._next >= len(self._replies):
            raise AssertionError(
                f"ScriptedBackend ran out of replies after {len(self._replies)} calls"
            )
        reply = self._replies[self._next]
        self._next += 1
        return reply

    async def complete(self, task: KernelTask) -> Completion:
        """Record the call, wait ``delay``, fail if scripted to, else answer."""
        self.calls.append(task)
        attempt = len(self.calls)
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self.delay:
                await asyncio.sleep(self.delay)
            if attempt <= self.fail_first:
                error = self.error
                raise error(f"scripted failure {attempt}") if isinstance(error, type) else error
            text = self.reply_for(task)
        finally:
            self.in_flight -= 1
        return Completion(
            text=text,
            prompt_tokens=sum(word_count(m.content) for m in task.messages),
            completion_tokens=word_count(text),
            seconds=self.delay,
            model=self.model,
        )
