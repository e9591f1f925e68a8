"""The OpenAI-compatible backend passes a task's grammar on; a server that refuses or ignores it is said once."""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest

from experience.kernel import Kernel, KernelTask
from experience.kernel.backends.openai_compat import OpenAIBackend

TAG = 'root ::= "ZEBRA-" [0-9] [0-9]\n'  # no model says this unasked


def _task(prompt: str = "Say hello.", grammar: str | None = TAG) -> KernelTask:
    return KernelTask.chat(prompt, max_tokens=16, grammar=grammar)


@pytest.mark.llm
def test_llama_server_decodes_under_the_grammar(llama_server: str) -> None:
    backend = OpenAIBackend(llama_server, "sk-test", "smollm2")
    kernel = Kernel(backend)
    constrained, free = kernel.run([_task(), _task(grammar=None)])
    assert re.fullmatch(r"ZEBRA-[0-9]{2}", constrained.text), constrained.text
    assert "ZEBRA" not in free.text
    assert backend.grammar_ok is True and backend.warnings == []


class _Fake(BaseHTTPRequestHandler):
    """A chat endpoint that refuses (mode "refuse") or ignores (mode "ignore") a grammar; records bodies."""

    mode = "refuse"
    bodies: ClassVar[list[dict[str, Any]]] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).bodies.append(body)
        if "grammar" in body and self.mode == "refuse":
            self._send(400, {"error": {"message": "Unrecognized request argument supplied: grammar"}})
            return
        reply = {
            "id": "x", "object": "chat.completion", "created": 0, "model": body["model"],
            "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "hello"}}],
            "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4},
        }
        self._send(200, reply)

    def _send(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.fixture
def fake_server() -> Iterator[tuple[str, type[_Fake]]]:
    """A loopback chat endpoint (test double) and its handler class, to set the mode and read the bodies."""
    handler = type("Handler", (_Fake,), {"bodies": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1", handler
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("mode", ["refuse", "ignore"])
def test_a_server_without_grammars_is_said_once_and_answers_unconstrained(
    fake_server: tuple[str, type[_Fake]], mode: str, caplog: pytest.LogCaptureFixture
) -> None:
    url, handler = fake_server
    handler.mode = mode
    backend = OpenAIBackend(url, "sk-test", "fake")
    with caplog.at_level(logging.WARNING):
        answers = Kernel(backend).run([_task(f"q{i}") for i in range(3)])
    assert [a.text for a in answers] == ["hello"] * 3  # every task answered, none failed
    assert backend.grammar_ok is False and len(backend.warnings) == 1
    assert ("refused the grammar (400" if mode == "refuse" else "answered outside the grammar") in backend.warnings[0]
    assert sum("unconstrained" in r.getMessage() for r in caplog.records) == 1
    sent = [b for b in handler.bodies if "grammar" in b]
    assert sent[0]["grammar"] == TAG and sent[0]["guided_grammar"] == TAG  # llama.cpp and vLLM names
    assert len(sent) == 1 and len(handler.bodies) == (4 if mode == "refuse" else 3)  # then no more grammars
