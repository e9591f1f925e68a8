"""Handlers for review mode and history: patches, previewPatch, acceptPatch, rejectPatch, rollback."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from experience_daemon import protocol as p
from experience_daemon.handlers.host import Host


async def patches(server: Host, params: p.PatchesParams) -> list[p.PatchInfo]:
    """Patch records of one step, or of every step; optionally only one state."""
    found: list[p.PatchInfo] = await server.call(
        server.service.patches, params["runDir"], params.get("step"), params.get("state")
    )
    return found


async def preview_patch(server: Host, params: p.PreviewParams) -> p.PatchPreview:
    """The entry as a patch leaves it; for a staged patch, exactly what acceptPatch would write."""
    preview: p.PatchPreview = await server.call(
        server.service.preview_patch, params["runDir"], params["patchId"], params.get("side", "after")
    )
    return preview


async def accept_patch(server: Host, params: p.PatchParams) -> p.PatchDecision:
    """Apply a staged patch to its entry (error patchConflict if it no longer applies)."""
    decision: p.PatchDecision = await server.call(server.service.accept_patch, params["runDir"], params["patchId"])
    return decision


async def reject_patch(server: Host, params: p.PatchParams) -> p.PatchDecision:
    """Mark a staged patch rejected."""
    decision: p.PatchDecision = await server.call(server.service.reject_patch, params["runDir"], params["patchId"])
    return decision


async def rollback(server: Host, params: p.RollbackParams) -> p.RollbackResult:
    """Restore a run's experience as after a step (error busy/runLocked while it trains)."""
    result: p.RollbackResult = await server.call(server.service.rollback, params["runDir"], params["toStep"])
    return result


HANDLERS: dict[str, Callable[..., Awaitable[Any]]] = {
    p.ROLLBACK: rollback,
    p.PATCHES: patches,
    p.PREVIEW_PATCH: preview_patch,
    p.ACCEPT_PATCH: accept_patch,
    p.REJECT_PATCH: reject_patch,
}
