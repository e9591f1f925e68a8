"""What a handler uses of the server, as a Protocol: handlers import this, never the server (imports point one way)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from lsprotocol import types
    from pygls.progress import Progress

    from experience_daemon.service import Service


class Host(Protocol):
    """The server as its handlers see it: the service, a worker pool, work-done progress, the client's capabilities."""

    @property
    def service(self) -> Service:
        """The service (imported on first use)."""
        ...

    @property
    def work_done_progress(self) -> Progress:
        """Work-done progress towards the client."""
        ...

    @property
    def client_capabilities(self) -> types.ClientCapabilities:
        """What the client said it supports in `initialize`."""
        ...

    async def call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run blocking service work in a worker thread."""
        ...
