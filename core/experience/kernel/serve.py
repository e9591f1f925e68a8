"""Serving the local model over HTTP with llama_cpp.server (an OpenAI-compatible endpoint on loopback)."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from experience.kernel.backends.local import default_model_path

SERVER_ALIAS = "smollm2"


def free_port() -> int:
    """A TCP port on 127.0.0.1 with no listener right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def llama_server(
    log_path: Path, *, model_path: Path | None = None, threads: int = 2, n_ctx: int = 4096, timeout: float = 90.0
) -> Iterator[tuple[str, int]]:
    """Serve a GGUF (default: the local model) with `python -m llama_cpp.server` on 127.0.0.1; yields the /v1
    base URL and the server's pid, and stops the server on exit."""
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "llama_cpp.server",
        "--model",
        str(model_path or default_model_path()),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--n_ctx",
        str(n_ctx),
        "--n_threads",
        str(threads),
        "--model_alias",
        SERVER_ALIAS,
    ]
    base_url = f"http://127.0.0.1:{port}/v1"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + timeout
            while True:
                if process.poll() is not None:
                    tail = log_path.read_text(errors="replace")[-1500:]
                    raise RuntimeError(f"llama_cpp.server exited with {process.returncode}: {tail}")
                try:
                    with urllib.request.urlopen(f"{base_url}/models", timeout=2):
                        break
                except OSError:
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"llama_cpp.server did not answer within {timeout} s") from None
                    time.sleep(0.2)
            yield base_url, process.pid
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
