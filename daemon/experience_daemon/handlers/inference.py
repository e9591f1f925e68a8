"""Handlers for using what runs learned: infer (answer inputs), mergeRuns."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from experience_daemon import protocol as p
from experience_daemon.handlers.host import Host


async def infer(server: Host, params: p.InferParams) -> p.InferResult:
    """The run's answers (the same RunModel as `experience infer` and `experience serve`)."""
    result: p.InferResult = await server.call(server.service.infer, params["runDir"], list(params["inputs"]))
    return result


async def merge_runs(server: Host, params: p.MergeRunsParams) -> p.MergeRunsResult:
    """Merge runs into a new run (the inputs are only read)."""
    result: p.MergeRunsResult = await server.call(
        server.service.merge_runs,
        list(params["runDirs"]),
        params["out"],
        policy=params.get("policy", "trust"),
        rows=params.get("rows"),
    )
    return result


HANDLERS: dict[str, Callable[..., Awaitable[Any]]] = {p.INFER: infer, p.MERGE_RUNS: merge_runs}
