"""A client for the real daemon: a subprocess over stdio, driven by pytest-lsp's client (VS Code capabilities)."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities
from pytest_lsp.client import register_lsp_features

from experience_daemon.server import raw_converter

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 60.0


class Daemon:
    """A started daemon: send requests, collect notifications and progress."""

    def __init__(self, client: LanguageClient) -> None:
        self.client = client
        self.notes: dict[str, list[dict[str, Any]]] = {"experience/metrics": [], "experience/entryChanged": []}

    async def request(self, method: str, params: Any, *, timeout: float = TIMEOUT, msg_id: str | None = None) -> Any:
        """Send a request and wait for its result (errors raise pygls's JsonRpcException)."""
        call = self.client.protocol.send_request_async(method, params, msg_id=msg_id)
        return await asyncio.wait_for(call, timeout)

    def changes(self, **match: Any) -> list[dict[str, Any]]:
        """entryChanged notifications whose fields equal `match`."""
        notes = self.notes["experience/entryChanged"]
        return [n for n in notes if all(n.get(k) == v for k, v in match.items())]

    async def wait_for(self, condition: Callable[[], Any], what: str, timeout: float = 15.0) -> Any:
        """Poll until `condition()` is truthy (the event loop keeps reading the daemon meanwhile)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = condition()
            if value:
                return value
            await asyncio.sleep(0.05)
        raise AssertionError(f"timed out after {timeout} s waiting for {what}")

    def progress(self) -> dict[Any, list[Any]]:
        """Work-done progress values received, by token."""
        return self.client.progress_reports


def daemon_env(tmp: Path, backend: str | None) -> dict[str, str]:
    """Environment of a daemon under test: repo packages on the path, a private cache, UTF-8."""
    env = dict(os.environ)
    paths = [ROOT / "core", ROOT / "daemon", ROOT / "tests", ROOT / "tests" / "daemon"]
    env["PYTHONPATH"] = os.pathsep.join([*map(str, paths), env.get("PYTHONPATH", "")])
    env["EXPERIENCE_CACHE"] = str(tmp / "cache.sqlite")
    env["PYTHONUTF8"] = "1"
    env.pop("EXPERIENCE_TEST_BACKEND", None)
    if backend is not None:
        env["EXPERIENCE_TEST_BACKEND"] = f"daemon_doubles:{backend}"
    return env


def _client_factory() -> LanguageClient:
    client = LanguageClient(converter_factory=raw_converter)
    register_lsp_features(client)
    return client


async def start_daemon(tmp: Path, backend: str | None = "copying") -> Daemon:
    """Start `python -m experience_daemon` and initialize it as VS Code would."""
    config = ClientServerConfig(
        server_command=[sys.executable, "-m", "experience_daemon", "--stdio"],
        client_factory=_client_factory,
        server_env=daemon_env(tmp, backend),
    )
    client = await config.start()
    daemon = Daemon(client)
    for method, notes in daemon.notes.items():

        def record(params: Any, notes: list[dict[str, Any]] = notes) -> None:
            notes.append(params)

        client.feature(method)(record)
    params = types.InitializeParams(capabilities=client_capabilities("visual-studio-code"))
    await asyncio.wait_for(client.initialize_session(params), TIMEOUT)
    return daemon


async def stop_daemon(daemon: Daemon) -> None:
    """Shut down and exit, as a client should."""
    await asyncio.wait_for(daemon.client.shutdown_session(), TIMEOUT)
    await daemon.client.stop()


StartDaemon = Callable[..., Awaitable[Daemon]]
