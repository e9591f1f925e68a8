"""Value types of the LLM kernel: tasks, completions, the backend protocol and the errors."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable

Role = Literal["system", "user", "assistant"]


@dataclass(frozen=True)
class Message:
    """One chat turn."""

    role: Role
    content: str


@dataclass(frozen=True)
class KernelTask:
    """One independent LLM call: a chat prompt plus sampling settings.

    ``tag`` says what the call is for ("translate", "query", ...); it is reported in logs
    and metrics but is not part of the cache key, so two callers asking the same thing
    share one cached answer.
    """

    messages: tuple[Message, ...]
    max_tokens: int = 256
    temperature: float = 0.0
    stop: tuple[str, ...] = ()
    tag: str = ""
    grammar: str | None = None  # GBNF text the answer must match (None: unconstrained); part of the cache key

    def cache_key(self, backend_id: str) -> str:
        """Return the sha256 content address of this task for a backend id ("name:model")."""
        payload = {
            "backend": backend_id,
            "messages": [[m.role, m.content] for m in self.messages],
            "max_tokens": self.max_tokens,
            "temperature": self.temperature,
            "stop": list(self.stop),
        }
        if self.grammar is not None:  # only when set, so unconstrained tasks keep their cached answers
            payload["grammar"] = self.grammar
        blob = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()

    @classmethod
    def chat(
        cls,
        user: str,
        *,
        system: str | None = None,
        shots: tuple[tuple[str, str], ...] = (),
        max_tokens: int = 256,
        temperature: float = 0.0,
        stop: tuple[str, ...] = (),
        tag: str = "",
        grammar: str | None = None,
    ) -> KernelTask:
        """Build a task: optional system prompt, few-shot (user, assistant) turns, the user turn."""
        turns: list[Message] = []
        if system:
            turns.append(Message("system", system))
        for question, answer in shots:
            turns.append(Message("user", question))
            turns.append(Message("assistant", answer))
        turns.append(Message("user", user))
        return cls(tuple(turns), max_tokens, temperature, stop, tag, grammar)


@dataclass(frozen=True)
class Completion:
    """What a backend answered, with its token counts and the seconds it took.

    ``cost`` is the USD the backend itself reported for the call (the Claude agent does);
    ``None`` means the dispatcher prices the tokens with ``Backend.cost``.
    """

    text: str
    prompt_tokens: int
    completion_tokens: int
    seconds: float
    model: str
    cached: bool = False
    cost: float | None = None


@runtime_checkable
class Backend(Protocol):
    """An LLM that can complete a chat task; the dispatcher is its only caller."""

    name: str
    model: str

    async def complete(self, task: KernelTask) -> Completion:
        """Answer one task (raise TransientError for retryable failures)."""
        ...

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        """Return the USD price of a call with these token counts (0.0 when free or unknown)."""
        ...


@runtime_checkable
class BatchBackend(Protocol):
    """A backend that answers several tasks in one call (the local llama.cpp backend: one multi-sequence batch)."""

    max_batch: int

    async def complete_batch(self, tasks: Sequence[KernelTask]) -> list[Completion]:
        """Answer every task (results in task order); ``Completion.seconds`` is each task's share of the call."""
        ...


class KernelError(RuntimeError):
    """Base of every kernel error; the message names the problem and the fix."""


class TransientError(KernelError):
    """A failure worth retrying: rate limit, 5xx, timeout, connection reset."""


class BackendUnavailable(KernelError):
    """The backend cannot work (missing model, unreachable endpoint, bad key); not retried."""


class BudgetExceeded(KernelError):
    """A budget cap was reached; the run stops cleanly before overspending."""
