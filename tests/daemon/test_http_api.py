"""`experience serve`: a real uvicorn server on loopback, called with the real `openai` client."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest
import uvicorn

from doubles import ScriptedBackend
from experience.kernel import Kernel
from experience.kernel.serve import free_port
from experience.tasks.dataset import load_dataset
from experience.train import infer
from experience.train.run_dir import RunConfig, RunDir
from experience.train.trainer import Trainer
from experience_daemon.http_api import create_app
from experience_daemon.service import Service
from learning_fixtures import PAIRS, copying_translator, write_dataset

SOURCE = PAIRS["val"]["add_one"][0]
KEY = "test-key"


def _run(tmp_path: Path, backend: str = "local") -> Path:
    cfg = RunConfig(
        dataset=str(write_dataset(tmp_path)), source_ext="py", target_ext="viba",
        task_prompt="Translate the Python function into Viba.", rows=6, batch_size=1, query="lexical",
        backend=backend,
    )  # fmt: skip
    RunDir.create(tmp_path / "run", cfg)
    return tmp_path / "run"


def _train(path: Path, steps: int) -> None:
    run = RunDir.open(path)
    with run.lock():
        kernel = Kernel(ScriptedBackend(copying_translator))
        Trainer(run, load_dataset(run.config.dataset), kernel).train(3, max_steps=steps)


@pytest.fixture
def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, Path]]:
    """A run served by uvicorn in this process (scripted answers), at http://127.0.0.1:<port>/v1."""
    monkeypatch.setattr(infer, "RECHECK_SECONDS", 0.0)
    path = _run(tmp_path)
    service = Service(backend_factory=lambda: ScriptedBackend(copying_translator))
    app = create_app(service.inference, path, api_key=KEY, concurrency=2)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started
    yield f"http://127.0.0.1:{port}/v1", path
    server.should_exit = True
    thread.join(10)
    service.close()


def test_models_chat_and_streaming_with_the_openai_client(served: tuple[str, Path]) -> None:
    url, path = served
    _train(path, 4)
    client = openai.OpenAI(base_url=url, api_key=KEY)
    assert [m.id for m in client.models.list().data] == ["run"]
    reply = client.chat.completions.create(model="run", messages=[{"role": "user", "content": SOURCE}])
    assert reply.choices[0].message.content is not None
    assert reply.choices[0].message.content.startswith("add_one :=")
    extra = reply.model_extra or {}
    assert extra["experience"]["step"] == 4 and extra["experience"]["rows"]  # the rows used, for who wants them
    stream = client.chat.completions.create(
        model="run", messages=[{"role": "user", "content": SOURCE}], stream=True
    )
    text = "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)
    assert text == reply.choices[0].message.content


def test_bad_requests_get_4xx_with_a_message(served: tuple[str, Path]) -> None:
    url, _ = served
    client = openai.OpenAI(base_url=url, api_key=KEY)
    with pytest.raises(openai.AuthenticationError, match="API key"):
        openai.OpenAI(base_url=url, api_key="wrong").models.list()
    with pytest.raises(openai.BadRequestError, match="no user message"):
        client.chat.completions.create(model="run", messages=[{"role": "system", "content": "hi"}])
    with pytest.raises(openai.NotFoundError, match="not served here"):
        client.chat.completions.create(model="gpt-9", messages=[{"role": "user", "content": SOURCE}])
    request = urllib.request.Request(
        f"{url}/chat/completions", data=b"{not json", headers={"Authorization": f"Bearer {KEY}"}, method="POST"
    )
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=10)
    assert caught.value.code == 400 and "not JSON" in json.loads(caught.value.read())["error"]["message"]


def test_it_keeps_serving_while_the_run_trains(served: tuple[str, Path]) -> None:
    url, path = served
    client = openai.OpenAI(base_url=url, api_key=KEY)
    trainer = threading.Thread(target=_train, args=(path, 8))
    trainer.start()
    steps = []
    while trainer.is_alive() or not steps:
        reply = client.chat.completions.create(model="run", messages=[{"role": "user", "content": SOURCE}])
        steps.append((reply.model_extra or {})["experience"]["step"])
    trainer.join()
    last = client.chat.completions.create(model="run", messages=[{"role": "user", "content": SOURCE}])
    assert (last.model_extra or {})["experience"]["step"] == 8
    assert steps == sorted(steps)  # answers follow the run forward, never from a half-written step back


@pytest.mark.llm
def test_experience_serve_with_the_local_model(tmp_path: Path) -> None:
    """The command as a user runs it: a subprocess, the real local model, the health check, one answer."""
    path = _run(tmp_path)
    _train(path, 4)
    port = free_port()
    env = {**os.environ, "EXPERIENCE_CACHE": str(tmp_path / "cache.sqlite")}
    cmd = [sys.executable, "-m", "experience_daemon.cli", "serve", "--run-dir", str(path), "--port", str(port)]
    proc = subprocess.Popen(cmd, env=env, stderr=subprocess.PIPE, text=True)
    try:
        deadline, health = time.monotonic() + 60, None
        while health is None and time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as response:
                    health = json.loads(response.read())
            except OSError:
                time.sleep(0.3)
        assert health is not None and health["step"] == 4, proc.stderr
        client = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="unused")
        reply = client.chat.completions.create(model="run", messages=[{"role": "user", "content": SOURCE}])
        assert (reply.choices[0].message.content or "").strip()
        assert reply.usage is not None and reply.usage.prompt_tokens > 0
    finally:
        proc.terminate()
        proc.wait(10)
