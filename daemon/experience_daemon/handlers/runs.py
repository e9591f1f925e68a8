"""Handlers for runs and entries: openRun, closeRun, listEntries, readEntry, writeEntry, status."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from experience_daemon import protocol as p
from experience_daemon.handlers.host import Host


async def open_run(server: Host, params: p.RunParams) -> p.RunSummary:
    """Open a run (the server then watches its files) and return its summary."""
    summary: p.RunSummary = await server.call(server.service.open_run, params["runDir"])
    return summary


async def close_run(server: Host, params: p.RunParams) -> p.ClosedResult:
    """Forget a run; its watch ends and its job (if any) is cancelled."""
    return {"closed": await server.call(server.service.close_run, params["runDir"])}


async def list_entries(server: Host, params: p.RunParams) -> list[p.EntryInfo]:
    """Every row of the run's experience."""
    entries: list[p.EntryInfo] = await server.call(server.service.list_entries, params["runDir"])
    return entries


async def read_entry(server: Host, params: p.EntryParams) -> p.EntryText:
    """Text and version of one entry."""
    entry: p.EntryText = await server.call(server.service.read_entry, params["runDir"], params["row"], params["column"])
    return entry


async def write_entry(server: Host, params: p.WriteEntryParams) -> p.VersionResult:
    """Write one entry unless its version moved on (error staleVersion, with the current one)."""
    version = await server.call(
        server.service.write_entry,
        params["runDir"],
        params["row"],
        params["column"],
        params["text"],
        params["version"],
    )
    return {"version": version}


async def status(server: Host, params: p.StatusParams) -> p.StatusResult:
    """What the open runs (or the named one) are doing."""
    runs: list[Any] = await server.call(server.service.status, params.get("runDir"))
    return {"runs": runs, "protocolVersion": p.PROTOCOL_VERSION}


HANDLERS: dict[str, Callable[..., Awaitable[Any]]] = {
    p.OPEN_RUN: open_run,
    p.CLOSE_RUN: close_run,
    p.LIST_ENTRIES: list_entries,
    p.READ_ENTRY: read_entry,
    p.WRITE_ENTRY: write_entry,
    p.STATUS: status,
}
