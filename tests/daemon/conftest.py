"""Fixtures: daemons started over stdio for a test, a tiny dataset, a run folder with an awkward name."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from daemon_client import Daemon, StartDaemon, start_daemon, stop_daemon
from daemon_doubles import write_dataset


@pytest_asyncio.fixture
async def start(tmp_path: Path) -> AsyncIterator[StartDaemon]:
    """Start daemons (stopped at the end of the test); `await start(backend="slow")`."""
    started: list[Daemon] = []

    async def launch(backend: str | None = "copying") -> Daemon:
        daemon = await start_daemon(tmp_path, backend)
        started.append(daemon)
        return daemon

    yield launch
    for daemon in started:
        if not daemon.client.stopped:
            await stop_daemon(daemon)


@pytest_asyncio.fixture
async def daemon(start: StartDaemon) -> Daemon:
    """One daemon with the instant scripted backend."""
    return await start()


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    """A tiny dataset: 4 train pairs, 1 val pair (folder name with a space and non-ASCII)."""
    return write_dataset(tmp_path / "données tiny")


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    """Where the test's run lives (a path with a space and non-ASCII characters)."""
    return tmp_path / "runs" / "run één"
