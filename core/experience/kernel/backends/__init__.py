"""Backend factory: ``make_backend("local" | "openai" | "claude-agent", ...)``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..types import Backend, BackendUnavailable

BACKENDS = ("local", "openai", "claude-agent")


def make_backend(
    name: str,
    *,
    model: str | None = None,
    base_url: str | None = None,
    api_key: str | None = None,
    **options: Any,
) -> Backend:
    """Build a backend by name; for ``local``, ``model`` may be a path to a GGUF file.

    Options: local -> ``model_path``, ``n_ctx``, ``n_threads``; openai -> ``timeout``,
    ``prices``; claude-agent -> ``workspace``, ``max_turns``. Backends are imported only
    when chosen, so a missing optional package fails only the backend that needs it.
    """
    if name == "local":
        from .local import LocalBackend

        model_path = options.pop("model_path", None)
        if model_path is None and model:
            model_path = model
        return LocalBackend(None if model_path is None else Path(model_path), **options)
    if name == "openai":
        from .openai_compat import OpenAIBackend

        return OpenAIBackend(base_url, api_key, model, **options)
    if name == "claude-agent":
        from .claude_agent import ClaudeAgentBackend

        return ClaudeAgentBackend(model, **options)
    raise BackendUnavailable(f"unknown backend {name!r}; choose one of: {', '.join(BACKENDS)}")


__all__ = ["BACKENDS", "make_backend"]
