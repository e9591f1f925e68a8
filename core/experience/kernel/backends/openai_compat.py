"""Any OpenAI-compatible chat endpoint (OpenAI, vLLM, llama.cpp's server, ...)."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from collections.abc import Mapping
from typing import Any

from ...text.gbnf import GbnfError, Grammar, parse_gbnf
from ..types import BackendUnavailable, Completion, KernelError, KernelTask, TransientError

log = logging.getLogger(__name__)

# USD per million (prompt, completion) tokens; models not listed cost 0.0 (unknown).
PRICES: dict[str, tuple[float, float]] = {
    "gpt-4o": (2.50, 10.00),
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4.1": (2.00, 8.00),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1-nano": (0.10, 0.40),
}

_LOCAL_KEY = "not-needed"  # local servers accept any key, the client insists on one


def _env(*names: str) -> str | None:
    for name in names:
        value = os.environ.get(name)
        if value:
            return value
    return None


class OpenAIBackend:
    """Chat completions through the ``openai`` AsyncOpenAI client (one client per event loop)."""

    name = "openai"

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        model: str | None = None,
        *,
        timeout: float = 600.0,
        prices: Mapping[str, tuple[float, float]] | None = None,
    ) -> None:
        try:
            import openai  # noqa: F401
        except ImportError as exc:
            raise BackendUnavailable(
                "the openai backend needs the openai package. Fix: pip install openai"
            ) from exc
        self.base_url = base_url or _env("LLM_BASE_URL", "OPENAI_BASE_URL")
        resolved_model = model or _env("LLM_MODEL")
        if not resolved_model:
            raise BackendUnavailable(
                "the openai backend needs a model name. Fix: pass model=... or set LLM_MODEL"
            )
        self.model = resolved_model
        key = api_key or _env("LLM_API_KEY", "OPENAI_API_KEY")
        if not key:
            if self.base_url is None:
                raise BackendUnavailable(
                    "no API key for the OpenAI endpoint. Fix: set LLM_API_KEY (or pass api_key)"
                )
            key = _LOCAL_KEY
        self._api_key = key
        self.timeout = timeout
        self.prices = dict(PRICES if prices is None else prices)
        self._clients: dict[asyncio.AbstractEventLoop, Any] = {}
        # grammar pass-through: None until the server shows whether it constrains answers, then True / False
        self.grammar_ok: bool | None = None
        self.warnings: list[str] = []  # said once each through `logging`
        self._grammars: dict[str, Grammar | None] = {}

    @property
    def where(self) -> str:
        """The endpoint, for messages."""
        return self.base_url or "https://api.openai.com/v1"

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        """Price the tokens with the price table (0.0 for unknown models)."""
        price = self.prices.get(self.model)
        if price is None:
            return 0.0
        return (prompt_tokens * price[0] + completion_tokens * price[1]) / 1_000_000

    def _client(self) -> Any:
        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is None:
            from openai import AsyncOpenAI

            for stale in [other for other in self._clients if other.is_closed()]:
                del self._clients[stale]  # its connections died with its loop

            client = AsyncOpenAI(
                base_url=self.base_url,
                api_key=self._api_key,
                max_retries=0,  # the dispatcher retries
                timeout=self.timeout,
            )
            self._clients[loop] = client
        return client

    async def complete(self, task: KernelTask) -> Completion:
        """Send one chat completion (``max_tokens``, which llama.cpp's server honours)."""
        import openai

        start = time.perf_counter()
        kwargs: dict[str, Any] = {
            "model": self.model,
            "messages": [{"role": m.role, "content": m.content} for m in task.messages],
            "max_tokens": task.max_tokens,
            "temperature": task.temperature,
        }
        if task.stop:
            kwargs["stop"] = list(task.stop)
        sent = task.grammar is not None and self.grammar_ok is not False
        if sent:  # llama.cpp's server reads `grammar`, vLLM's guided decoding `guided_grammar`
            kwargs["extra_body"] = {"grammar": task.grammar, "guided_grammar": task.grammar}
        try:
            response = await self._client().chat.completions.create(**kwargs)
        except openai.APIStatusError as exc:
            if not sent or exc.status_code not in (400, 422):
                raise self._translate(exc) from exc
            self._no_grammar(f"{self.where} refused the grammar ({exc.status_code}: {exc.message})")
            del kwargs["extra_body"]
            sent = False
            try:
                response = await self._client().chat.completions.create(**kwargs)
            except openai.OpenAIError as again:
                raise self._translate(again) from again
        except openai.OpenAIError as exc:
            raise self._translate(exc) from exc
        seconds = time.perf_counter() - start
        text = response.choices[0].message.content if response.choices else None
        usage = response.usage
        completion = Completion(
            text=text or "",
            prompt_tokens=int(getattr(usage, "prompt_tokens", 0) or 0),
            completion_tokens=int(getattr(usage, "completion_tokens", 0) or 0),
            seconds=seconds,
            model=self.model,
        )
        if sent and self.grammar_ok is None and task.grammar is not None:
            self._judge_grammar(task, completion)
        return completion

    def _judge_grammar(self, task: KernelTask, completion: Completion) -> None:
        """After the first constrained answers: a complete answer outside the grammar means the server ignores it."""
        assert task.grammar is not None
        if task.grammar not in self._grammars:
            try:
                self._grammars[task.grammar] = parse_gbnf(task.grammar)
            except GbnfError:
                self._grammars[task.grammar] = None  # beyond the subset this matcher reads: cannot judge
        grammar = self._grammars[task.grammar]
        if grammar is None or completion.completion_tokens >= task.max_tokens:
            return  # a cut answer is a prefix, not a sentence: no verdict
        if grammar.matches(completion.text):
            self.grammar_ok = True
        else:
            self._no_grammar(f"{self.where} answered outside the grammar it was sent (it ignores `grammar`)")

    def _no_grammar(self, why: str) -> None:
        """Stop sending grammars to this server, saying so once."""
        if self.grammar_ok is False:
            return  # another call in flight found it first
        self.grammar_ok = False
        message = f"{why}; answers from {self.model} are unconstrained from now on"
        log.warning("%s", message)
        self.warnings.append(message)

    async def aclose(self) -> None:
        """Close the client of the running loop (``Kernel.run`` calls this before its loop ends)."""
        client = self._clients.pop(asyncio.get_running_loop(), None)
        if client is not None:
            await client.close()

    def close(self) -> None:
        """Forget the clients of every loop (call ``aclose`` from a loop to close its own)."""
        self._clients.clear()

    def _translate(self, exc: Exception) -> KernelError:
        """Map an openai exception onto the kernel's retryable / fatal errors."""
        import openai

        where = self.where
        if isinstance(exc, openai.AuthenticationError | openai.PermissionDeniedError):
            return BackendUnavailable(
                f"bad API key for {where} ({exc.status_code}). Fix: set LLM_API_KEY"
            )
        if isinstance(exc, openai.NotFoundError):
            return BackendUnavailable(
                f"{where} has no model {self.model!r} or is not an OpenAI-compatible URL "
                f"(404). Fix: set LLM_MODEL / LLM_BASE_URL"
            )
        if isinstance(exc, openai.APITimeoutError):
            return TransientError(f"request to {where} timed out after {self.timeout} s")
        if isinstance(exc, openai.RateLimitError):
            return TransientError(f"rate limited by {where} (429): {exc}")
        if isinstance(exc, openai.APIStatusError):
            if exc.status_code >= 500:
                return TransientError(f"{where} answered {exc.status_code}: {exc}")
            return KernelError(f"{where} rejected the request ({exc.status_code}): {exc}")
        if isinstance(exc, openai.APIConnectionError):
            if _refused(exc):
                return BackendUnavailable(
                    f"cannot connect to {where} (connection refused or host not found). "
                    "Fix: start the server or set LLM_BASE_URL to a reachable endpoint"
                )
            return TransientError(f"connection to {where} failed: {_root(exc)}")
        return KernelError(f"openai client error for {where}: {exc}")


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def _refused(exc: BaseException) -> bool:
    """True when no connection could be made at all (refused, unknown host)."""
    for link in _chain(exc):
        if isinstance(link, ConnectionRefusedError | socket.gaierror):
            return True
        if type(link).__name__ == "ConnectError":  # httpx: the connection was never made
            return True
    return False


def _root(exc: BaseException) -> str:
    last = _chain(exc)[-1]
    return f"{type(last).__name__}: {last}"
