"""Claude through the Claude Agent SDK, answering by editing a file in a scratch workspace."""

from __future__ import annotations

import dataclasses
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..types import BackendUnavailable, Completion, KernelError, KernelTask, TransientError

_INSTALL = (
    "pip install claude-agent-sdk (it needs the `claude` CLI: npm install -g "
    "@anthropic-ai/claude-code, and ANTHROPIC_API_KEY set)"
)
_KEY_FIX = "set ANTHROPIC_API_KEY (or log the claude CLI in)"
_PLACEHOLDER = "TODO"
_PROMPT = (
    "Read task.md in the current directory: it holds a conversation. Write the next "
    "assistant reply to it. Replace the whole content of answer.txt (it now says TODO) with "
    "exactly that reply and nothing else: no commentary, no code fences unless the reply "
    "itself needs them. Do not create or change any other file."
)

QueryFn = Callable[..., AsyncIterator[Any]]


@dataclass(frozen=True)
class AgentResult:
    """What an agent run produced: its last text, token usage, reported cost and model."""

    text: str
    prompt_tokens: int
    completion_tokens: int
    cost: float | None
    model: str | None
    turns: int


def collect_result(messages: Iterable[object]) -> AgentResult:
    """Fold SDK messages into an AgentResult; raise the kernel error a failed run maps to."""
    text = ""
    model: str | None = None
    result: Any = None
    for message in messages:
        kind = type(message).__name__
        if kind == "AssistantMessage":
            _raise_for_assistant_error(getattr(message, "error", None))
            model = getattr(message, "model", None) or model
            parts = [
                str(block.text)
                for block in getattr(message, "content", None) or []
                if type(block).__name__ == "TextBlock"
            ]
            if parts:
                text = "".join(parts)
        elif kind == "ResultMessage":
            result = message
    if result is None:
        raise TransientError("the Claude agent stopped without a result message")
    if result.is_error:
        _raise_for_result_error(result)
    if not text and result.result:
        text = str(result.result)
    usage: dict[str, Any] = result.usage or {}
    prompt_tokens = sum(
        int(usage.get(field) or 0)
        for field in ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")
    )
    cost = result.total_cost_usd
    return AgentResult(
        text=text,
        prompt_tokens=prompt_tokens,
        completion_tokens=int(usage.get("output_tokens") or 0),
        cost=None if cost is None else float(cost),
        model=model,
        turns=int(result.num_turns),
    )


def _raise_for_assistant_error(error: str | None) -> None:
    if error in ("authentication_failed", "billing_error"):
        raise BackendUnavailable(f"the Claude API refused the call ({error}). Fix: {_KEY_FIX}")
    if error in ("rate_limit", "server_error"):
        raise TransientError(f"the Claude API failed transiently ({error})")


def _raise_for_result_error(result: Any) -> None:
    status = getattr(result, "api_error_status", None)
    detail = "; ".join(getattr(result, "errors", None) or []) or str(result.result or "")
    if status in (401, 403):
        raise BackendUnavailable(f"the Claude API refused the key ({status}). Fix: {_KEY_FIX}")
    if status is not None and (status == 429 or status >= 500):
        raise TransientError(f"the Claude API answered {status}: {detail}")
    raise KernelError(f"the Claude agent run failed ({result.subtype}): {detail}")


def render_task(task: KernelTask) -> str:
    """Write the conversation as the Markdown the agent reads from task.md."""
    lines = [
        "# Task",
        "",
        "Below is a conversation, one section per turn, in order. Write the next assistant",
        "reply and put only that reply in answer.txt.",
    ]
    for number, message in enumerate(task.messages, 1):
        lines += ["", f"## Turn {number}: {message.role}", "", message.content]
    return "\n".join(lines) + "\n"


def truncate_at_stop(text: str, stop: tuple[str, ...]) -> str:
    """Cut ``text`` at the first stop string (the agent cannot be told to stop)."""
    cut = min((i for s in stop if s and (i := text.find(s)) >= 0), default=len(text))
    return text[:cut]


class ClaudeAgentBackend:
    """The Claude Agent SDK with Read/Edit/Write tools in a scratch workspace.

    ``max_tokens`` and ``temperature`` are not controllable through the agent; stop strings
    are applied to the answer afterwards. ``query`` may be injected (tests, proxies).
    """

    name = "claude-agent"
    reports_cost = True  # the SDK reports each call's cost

    def __init__(
        self,
        model: str | None = None,
        workspace: Path | None = None,
        *,
        max_turns: int = 8,
        query: QueryFn | None = None,
    ) -> None:
        try:
            import claude_agent_sdk
        except ImportError as exc:
            raise BackendUnavailable(
                f"the claude-agent backend needs the Claude Agent SDK. Fix: {_INSTALL}"
            ) from exc
        self._sdk: Any = claude_agent_sdk
        self._query: QueryFn = query if query is not None else claude_agent_sdk.query
        self.model = model or "default"
        self._model_option = model
        self.workspace = workspace
        self.max_turns = max_turns

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        """Unknown from tokens alone; the SDK reports each call's cost in the Completion."""
        return 0.0

    def _options(self, scratch: Path) -> Any:
        tools = ["Read", "Edit", "Write"]
        kwargs: dict[str, Any] = {
            "allowed_tools": tools,
            "cwd": scratch,
            "permission_mode": "acceptEdits",
            "max_turns": self.max_turns,
            "model": self._model_option,
        }
        fields = {f.name for f in dataclasses.fields(self._sdk.ClaudeAgentOptions)}
        if "tools" in fields:  # restrict the tool set itself, not only what is pre-approved
            kwargs["tools"] = tools
        return self._sdk.ClaudeAgentOptions(**kwargs)

    async def complete(self, task: KernelTask) -> Completion:
        """Run the agent on task.md and read its answer from answer.txt."""
        start = time.perf_counter()
        if self.workspace is not None:
            Path(self.workspace).mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix="experience-agent-", dir=self.workspace) as tmp:
            scratch = Path(tmp)
            (scratch / "task.md").write_text(render_task(task), encoding="utf-8")
            answer_file = scratch / "answer.txt"
            answer_file.write_text(_PLACEHOLDER + "\n", encoding="utf-8")
            messages = await self._run(scratch)
            result = collect_result(messages)
            written = answer_file.read_text(encoding="utf-8").strip("\n")
        text = written if written.strip() not in ("", _PLACEHOLDER) else result.text
        return Completion(
            text=truncate_at_stop(text, task.stop),
            prompt_tokens=result.prompt_tokens,
            completion_tokens=result.completion_tokens,
            seconds=time.perf_counter() - start,
            model=result.model or self.model,
            cost=result.cost,
        )

    async def _run(self, scratch: Path) -> list[object]:
        sdk = self._sdk
        try:
            return [m async for m in self._query(prompt=_PROMPT, options=self._options(scratch))]
        except sdk.CLINotFoundError as exc:
            raise BackendUnavailable(
                f"the claude CLI was not found ({exc}). Fix: {_INSTALL}"
            ) from exc
        except sdk.CLIJSONDecodeError as exc:
            raise TransientError(f"garbled output from the claude CLI: {exc}") from exc
        except sdk.CLIConnectionError as exc:
            raise TransientError(f"lost the connection to the claude CLI: {exc}") from exc
        except sdk.ProcessError as exc:
            raise KernelError(
                f"the claude CLI failed: {exc}. If it is an authentication error: {_KEY_FIX}"
            ) from exc
