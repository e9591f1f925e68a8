"""Testing only: let the daemon's tests swap every LLM backend for a scripted one.

`EXPERIENCE_TEST_BACKEND=module:factory` names a zero-argument callable returning a Backend (the
module must be importable, e.g. through PYTHONPATH). Unset (always, outside tests), the daemon uses
the real backends.
"""

from __future__ import annotations

import importlib
import logging
import os
from typing import TYPE_CHECKING, cast

if TYPE_CHECKING:  # at run time this module stays light: the daemon imports it before answering `initialize`
    from experience_daemon.workspace import BackendFactory

ENV = "EXPERIENCE_TEST_BACKEND"
log = logging.getLogger(__name__)


def backend_factory_from_env() -> BackendFactory | None:
    """The factory named by $EXPERIENCE_TEST_BACKEND, or None when it is unset."""
    spec = os.environ.get(ENV, "").strip()
    if not spec:
        return None
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise SystemExit(f"{ENV}={spec!r} must look like 'module:factory'")
    factory = getattr(importlib.import_module(module_name), attr, None)
    if not callable(factory):
        raise SystemExit(f"{ENV}={spec!r}: {module_name} has no callable {attr!r}")
    log.warning("TESTING: every LLM backend is replaced by %s (from $%s)", spec, ENV)
    return cast("BackendFactory", factory)


__all__ = ["ENV", "backend_factory_from_env"]
