"""Backends: local llama.cpp, an OpenAI-compatible server, the Claude agent's result handling."""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from experience.kernel import (
    BackendUnavailable,
    Kernel,
    KernelError,
    KernelTask,
    TransientError,
    make_backend,
)
from experience.kernel.backends.claude_agent import ClaudeAgentBackend, collect_result
from experience.kernel.backends.openai_compat import OpenAIBackend

try:
    from claude_agent_sdk import AssistantMessage, CLINotFoundError, ResultMessage, TextBlock
except ImportError:  # pragma: no cover - the SDK is a test dependency
    HAVE_SDK = False
else:
    HAVE_SDK = True
needs_sdk = pytest.mark.skipif(not HAVE_SDK, reason="pip install claude-agent-sdk")

QUESTION = KernelTask.chat("What is the capital of France? Answer in one word.", max_tokens=12)


# -- local --------------------------------------------------------------------------------


@pytest.mark.llm
def test_local_backend_answers_deterministically(local_backend: Any) -> None:
    kernel = Kernel(local_backend)  # no cache: both calls reach the model
    first, second = kernel.run([QUESTION]), kernel.run([QUESTION])
    assert "Paris" in first[0].text
    assert second[0].text == first[0].text
    assert 0 < first[0].completion_tokens <= 12
    assert first[0].prompt_tokens > 5
    assert first[0].model == "SmolLM2-135M-Instruct.Q4_1"
    assert kernel.usage.calls == 2
    assert kernel.usage.cost == 0.0


@pytest.mark.llm
def test_local_backend_honours_stop_strings(local_backend: Any) -> None:
    task = KernelTask.chat("Count from 1 to 10, separated by commas.", max_tokens=40, stop=("5",))
    text = Kernel(local_backend).run([task])[0].text
    assert "4" in text
    assert "5" not in text
    assert "6" not in text


def test_missing_model_file_is_unavailable(tmp_path: Path) -> None:
    missing = tmp_path / "nope.gguf"
    with pytest.raises(BackendUnavailable, match=r"nope\.gguf"):
        make_backend("local", model=str(missing))


def test_missing_llama_cpp_names_the_pip_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = tmp_path / "model.gguf"
    model.write_bytes(b"GGUF")
    monkeypatch.setitem(sys.modules, "llama_cpp", None)
    with pytest.raises(BackendUnavailable, match="pip install llama-cpp-python"):
        make_backend("local", model_path=model)


def test_unknown_backend_lists_the_choices() -> None:
    with pytest.raises(BackendUnavailable, match="local, openai, claude-agent"):
        make_backend("gpt-in-a-box")


# -- openai-compatible ----------------------------------------------------------------------


@pytest.mark.llm
def test_openai_backend_against_a_real_llama_server(llama_server: str) -> None:
    backend = make_backend("openai", base_url=llama_server, api_key="sk-test", model="smollm2")
    kernel = Kernel(backend)
    results = kernel.run([QUESTION, KernelTask.chat("Say hello.", max_tokens=8)])
    assert "Paris" in results[0].text
    assert all(r.prompt_tokens > 0 and r.completion_tokens > 0 for r in results)
    assert results[1].completion_tokens <= 8  # max_tokens reached the server
    assert kernel.usage.calls == 2
    assert kernel.usage.cost == 0.0  # "smollm2" is not in the price table
    assert isinstance(backend, OpenAIBackend)
    assert backend._clients == {}  # run() closed the HTTP client before its loop ended


def test_unreachable_endpoint_fails_fast_without_retries(closed_port_url: str) -> None:
    backend = OpenAIBackend(closed_port_url, "sk-test", "smollm2")
    kernel = Kernel(backend, retries=3, backoff=1.0)
    start = time.perf_counter()
    with pytest.raises(BackendUnavailable, match=closed_port_url.replace(".", r"\.")):
        kernel.run([QUESTION])
    assert time.perf_counter() - start < 5.0  # a retry would sleep >= 0.5 s each time


def test_openai_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLM_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("LLM_API_KEY", "sk-env")
    monkeypatch.setenv("LLM_MODEL", "gpt-4o-mini")
    backend = OpenAIBackend()
    assert (backend.base_url, backend.model) == ("http://127.0.0.1:9/v1", "gpt-4o-mini")
    assert backend.cost(1_000_000, 1_000_000) == pytest.approx(0.75)


def test_openai_without_model_or_key_says_what_to_set(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("LLM_BASE_URL", "LLM_API_KEY", "LLM_MODEL", "OPENAI_BASE_URL", "OPENAI_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(BackendUnavailable, match="LLM_MODEL"):
        OpenAIBackend()
    with pytest.raises(BackendUnavailable, match="LLM_API_KEY"):
        OpenAIBackend(model="gpt-4o")


class _StatusHandler(BaseHTTPRequestHandler):
    """Answers every request with the status code named by the first path segment."""

    def do_POST(self) -> None:
        status = int(self.path.strip("/").split("/")[0])
        body = json.dumps({"error": {"message": f"scripted {status}", "type": "x"}}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def status_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _StatusHandler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize(
    ("status", "error", "text"),
    [
        (401, BackendUnavailable, "LLM_API_KEY"),
        (403, BackendUnavailable, "LLM_API_KEY"),
        (404, BackendUnavailable, "LLM_MODEL"),
        (429, TransientError, "429"),
        (503, TransientError, "503"),
        (400, KernelError, "400"),
    ],
)
async def test_http_errors_map_to_kernel_errors(
    status_server: str, status: int, error: type[KernelError], text: str
) -> None:
    backend = OpenAIBackend(f"{status_server}/{status}/v1", "sk-test", "m")
    with pytest.raises(error, match=text) as info:
        await backend.complete(QUESTION)
    if error is KernelError:
        assert not isinstance(info.value, TransientError | BackendUnavailable)


# -- claude agent ---------------------------------------------------------------------------


def _result(**fields: Any) -> Any:
    base: dict[str, Any] = {
        "subtype": "success",
        "duration_ms": 10,
        "duration_api_ms": 8,
        "is_error": False,
        "num_turns": 3,
        "session_id": "s",
        "total_cost_usd": 0.0125,
        "usage": {"input_tokens": 100, "cache_read_input_tokens": 20, "output_tokens": 7},
        "result": "final words",
    }
    return ResultMessage(**{**base, **fields})


def _said(text: str, **fields: Any) -> Any:
    return AssistantMessage(content=[TextBlock(text)], model="claude-test", **fields)


@needs_sdk
def test_collect_result_reads_text_tokens_and_cost() -> None:
    got = collect_result([_said("first"), _said("last"), _result()])
    assert (got.text, got.model, got.turns) == ("last", "claude-test", 3)
    assert (got.prompt_tokens, got.completion_tokens) == (120, 7)
    assert got.cost == pytest.approx(0.0125)


@needs_sdk
def test_collect_result_falls_back_to_the_result_text() -> None:
    assert collect_result([_result()]).text == "final words"


@needs_sdk
@pytest.mark.parametrize(
    ("assistant_error", "result_fields", "error"),
    [
        (None, {"is_error": True, "api_error_status": 429}, TransientError),
        (None, {"is_error": True, "api_error_status": 529}, TransientError),
        (None, {"is_error": True, "api_error_status": 401}, BackendUnavailable),
        (None, {"is_error": True, "subtype": "error_max_turns"}, KernelError),
        ("rate_limit", {}, TransientError),
        ("authentication_failed", {}, BackendUnavailable),
        (None, None, TransientError),  # the stream ended without a ResultMessage
    ],
)
def test_collect_result_maps_failures(
    assistant_error: str | None, result_fields: dict[str, Any] | None, error: type[KernelError]
) -> None:
    messages = [_said("partial", error=assistant_error)]
    if result_fields is not None:
        messages.append(_result(**result_fields))
    with pytest.raises(error) as info:
        collect_result(messages)
    if error is KernelError:
        assert "error_max_turns" in str(info.value)


def _fake_query(answer: str | None, seen: dict[str, Any]) -> Any:
    async def query(*, prompt: str, options: Any) -> AsyncIterator[object]:
        scratch = Path(options.cwd)
        seen.update(prompt=prompt, options=options, task=(scratch / "task.md").read_text())
        seen["placeholder"] = (scratch / "answer.txt").read_text()
        if answer is not None:
            (scratch / "answer.txt").write_text(answer + "\n")
        yield _said("I wrote the answer to answer.txt.")
        yield _result()

    return query


@needs_sdk
async def test_claude_agent_answers_through_answer_txt(tmp_path: Path) -> None:
    seen: dict[str, Any] = {}
    backend = ClaudeAgentBackend(workspace=tmp_path, query=_fake_query("Paris", seen))
    task = KernelTask.chat("Capital of France?", system="Be brief.", shots=(("2+2?", "4"),))
    completion = await backend.complete(task)
    assert completion.text == "Paris"
    assert completion.cost == pytest.approx(0.0125)
    assert (completion.prompt_tokens, completion.completion_tokens) == (120, 7)
    assert seen["placeholder"].strip() == "TODO"
    task_md = seen["task"]
    assert task_md.index("Be brief.") < task_md.index("2+2?") < task_md.index("Capital")
    options = seen["options"]
    assert options.allowed_tools == ["Read", "Edit", "Write"]
    assert options.permission_mode == "acceptEdits"
    assert list(tmp_path.iterdir()) == []  # the scratch workspace was removed


@needs_sdk
async def test_claude_agent_falls_back_to_its_last_text(tmp_path: Path) -> None:
    backend = ClaudeAgentBackend(workspace=tmp_path, query=_fake_query(None, {}))
    task = KernelTask.chat("q", stop=("answer",))
    assert (await backend.complete(task)).text == "I wrote the "


@needs_sdk
async def test_claude_agent_without_cli_names_the_npm_package(tmp_path: Path) -> None:
    async def no_cli(*, prompt: str, options: Any) -> AsyncIterator[object]:
        raise CLINotFoundError("Claude Code not found")
        yield  # pragma: no cover

    backend = ClaudeAgentBackend(workspace=tmp_path, query=no_cli)
    with pytest.raises(BackendUnavailable, match="@anthropic-ai/claude-code"):
        await backend.complete(QUESTION)


def test_claude_agent_without_sdk_names_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "claude_agent_sdk", None)
    with pytest.raises(BackendUnavailable, match="pip install claude-agent-sdk"):
        make_backend("claude-agent")
