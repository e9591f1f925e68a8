"""Errors of the service API; each names what went wrong and what to do (the server maps codes)."""

from __future__ import annotations

from typing import Any

from experience.train.run_dir import RunError


class ServiceError(RunError):
    """A request the service understood but cannot do; `data` goes with the JSON-RPC error."""

    kind = "requestFailed"

    def __init__(self, message: str, data: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.data = data or {}


class StaleVersion(ServiceError):
    """A write based on an entry version that is no longer current."""

    kind = "staleVersion"


class NotFound(ServiceError):
    """An entry, run or patch that does not exist."""

    kind = "notFound"


class RunBusy(ServiceError):
    """The run is already training (or evaluating) in this daemon."""

    kind = "busy"


class PatchConflict(ServiceError):
    """A staged patch that no longer applies, or that is not staged any more."""

    kind = "patchConflict"
