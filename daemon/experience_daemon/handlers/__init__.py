"""Thin async handlers, one module per topic: call the service (the server decodes and encodes)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from experience_daemon.handlers import inference, review, runs, training

Handler = Callable[..., Awaitable[Any]]

HANDLERS: dict[str, Handler] = {**runs.HANDLERS, **training.HANDLERS, **review.HANDLERS, **inference.HANDLERS}

__all__ = ["HANDLERS"]
