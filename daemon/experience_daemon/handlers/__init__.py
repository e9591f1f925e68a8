"""Thin async handlers, one module per topic: decode (done by the server), call the service, encode."""

from __future__ import annotations

from experience_daemon.handlers import review, runs, training

HANDLERS = {**runs.HANDLERS, **training.HANDLERS, **review.HANDLERS}

__all__ = ["HANDLERS"]
