"""Batched decoding with llama.cpp's low-level API.

Several prompts run as sequences of one llama_batch: their common token prefix is evaluated once (or kept from
the previous call) and its KV copied to every sequence (llama_memory_seq_cp), their suffixes are evaluated
together, and then each step decodes one token of every unfinished sequence in a single llama_decode. Each
sequence has its own sampler chain (greedy at temperature 0, optional GBNF grammar).

Each sequence gets its own KV stream (kv_unified off) and flash attention stays off (Llama's default): measured
here, a unified cache or flash attention changes the attention sums of a sequence with its neighbours (the KV
cells of a sequence then sit at other offsets), and greedy answers of this small model then drift from the
one-at-a-time path; with separate streams they are equal on the tested prompts (tests/core/
test_local_throughput.py). Not always: in the bench 7 of 8 translations (128 tokens max) were identical, the
8th forked after ~60 identical tokens at a near-tie (B-token matmuls may take other CPU kernels than 1-token).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import llama_cpp
from llama_cpp import _internals as _typed_internals

from ..types import KernelError

_SLACK = 16  # KV cells kept free beyond the planned need
_internals: Any = _typed_internals  # llama-cpp-python's wrappers are only partly typed


@dataclass(frozen=True)
class Request:
    """One prompt to decode: its tokens and its sampling settings."""

    tokens: tuple[int, ...]
    max_tokens: int
    temperature: float = 0.0
    stop: tuple[str, ...] = ()
    grammar: str | None = None
    seed: int = 0


@dataclass(frozen=True)
class Output:
    """What one sequence produced."""

    text: str
    prompt_tokens: int
    completion_tokens: int
    reused_tokens: int  # prompt tokens whose KV came from a shared prefix or the previous call


@dataclass
class _Seq:
    request: Request
    seq_id: int
    sampler: Any
    generated: list[int] = field(default_factory=list)
    fed: list[int] = field(default_factory=list)  # tokens decoded into this sequence after its prompt
    text: bytes | None = None  # set when finished

    @property
    def done(self) -> bool:
        return self.text is not None


def common_prefix(a: Sequence[int], b: Sequence[int]) -> int:
    """Length of the longest common prefix of two token lists."""
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def shared_prefix(prompts: Sequence[Sequence[int]]) -> int:
    """Tokens every prompt starts with, leaving at least the last token of each to evaluate (for its logits)."""
    first = prompts[0]
    shared = min(len(p) for p in prompts) - 1
    for other in prompts[1:]:
        shared = min(shared, common_prefix(first, other))
    return max(shared, 0)


def cells_needed(request: Request) -> int:
    """KV cells a sequence may fill: its prompt and its longest answer."""
    return len(request.tokens) + request.max_tokens + _SLACK


class BatchDecoder:
    """A second llama.cpp context on the same weights: `n_seq` sequences, each with `seq_ctx` KV cells of its own."""

    def __init__(self, llm: Any, *, n_seq: int, seq_ctx: int, n_threads: int, n_threads_batch: int) -> None:
        params = type(llm.context_params).from_buffer_copy(llm.context_params)
        params.n_ctx = n_seq * seq_ctx
        params.n_seq_max = n_seq
        params.kv_unified = False
        params.flash_attn_type = llama_cpp.LLAMA_FLASH_ATTN_TYPE_DISABLED
        params.n_threads = n_threads
        params.n_threads_batch = n_threads_batch
        self._llm = llm
        self._vocab = llm._model.vocab
        self._ctx = _internals.LlamaContext(model=llm._model, params=params, verbose=False)
        self.n_seq = n_seq
        self.seq_ctx = int(self._ctx.n_ctx()) // n_seq
        self.n_batch = int(params.n_batch)
        self._batch = _internals.LlamaBatch(n_tokens=self.n_batch, embd=0, n_seq_max=n_seq, verbose=False)
        self._mem = llama_cpp.llama_get_memory(self._ctx.ctx)
        self._kept: list[int] = []  # the tokens whose KV sequence 0 holds

    def close(self) -> None:
        """Free the context and its batch."""
        self._batch.close()
        self._ctx.close()

    def fits(self, request: Request) -> bool:
        """Whether a request's worst case fits a sequence's KV cells."""
        return cells_needed(request) <= self.seq_ctx

    def run(self, requests: Sequence[Request], samplers: Sequence[Any]) -> list[Output]:
        """Decode every request to its end (EOG, a stop string or max_tokens); outputs in request order."""
        if not 1 <= len(requests) <= self.n_seq:
            raise ValueError(f"a batch holds 1..{self.n_seq} requests, got {len(requests)}")
        too_long = [cells_needed(r) for r in requests if not self.fits(r)]
        if too_long:
            raise KernelError(
                f"a batched task needs up to {max(too_long)} KV cells but a batch sequence has {self.seq_ctx}. "
                "Fix: send it alone (one-task path), shorten it, or lower max_tokens"
            )
        prompts = [list(r.tokens) for r in requests]
        shared = shared_prefix(prompts)
        reused = min(common_prefix(self._kept, prompts[0][:shared]), shared)
        self._kept = []
        llama_cpp.llama_memory_seq_keep(self._mem, 0)
        llama_cpp.llama_memory_seq_rm(self._mem, 0, reused, -1)
        self._decode_run(0, prompts[0][reused:shared], reused)
        for seq_id in range(1, len(requests)):
            llama_cpp.llama_memory_seq_cp(self._mem, 0, seq_id, -1, -1)  # seq 0 holds just the prefix
        seqs = [_Seq(r, i, s) for i, (r, s) in enumerate(zip(requests, samplers, strict=True))]
        self._prefill(seqs, shared)
        while any(not s.done for s in seqs):
            self._step([s for s in seqs if not s.done])
        self._kept = prompts[0] + seqs[0].fed
        return [
            Output(
                text=(s.text or b"").decode("utf-8", errors="ignore"),
                prompt_tokens=len(s.request.tokens),
                completion_tokens=len(s.generated),
                reused_tokens=shared if s.seq_id else reused,
            )
            for s in seqs
        ]

    # -- internals ---------------------------------------------------------------------------

    def _decode_run(self, seq_id: int, tokens: Sequence[int], start: int) -> None:
        """Evaluate tokens of one sequence without logits (a prefix), in chunks of n_batch."""
        for offset in range(0, len(tokens), self.n_batch):
            chunk = tokens[offset : offset + self.n_batch]
            self._batch.reset()
            for i, token in enumerate(chunk):
                self._add(token, start + offset + i, seq_id, False)
            self._decode()

    def _prefill(self, seqs: list[_Seq], shared: int) -> None:
        """Evaluate every suffix (packed n_batch tokens at a time), sampling each sequence's first token."""
        pending = [(s, t, shared + i) for s in seqs for i, t in enumerate(s.request.tokens[shared:])]
        for offset in range(0, len(pending), self.n_batch):
            chunk = pending[offset : offset + self.n_batch]
            self._batch.reset()
            last: list[tuple[_Seq, int]] = []
            for index, (seq, token, pos) in enumerate(chunk):
                is_last = pos == len(seq.request.tokens) - 1
                self._add(token, pos, seq.seq_id, is_last)
                if is_last:
                    last.append((seq, index))
            self._decode()
            for seq, index in last:
                self._sample(seq, index)

    def _step(self, active: list[_Seq]) -> None:
        """One token of every active sequence in one decode, then sample each."""
        self._batch.reset()
        for seq in active:
            token = seq.generated[-1]
            seq.fed.append(token)
            self._add(token, len(seq.request.tokens) + len(seq.fed) - 1, seq.seq_id, True)
        self._decode()
        for index, seq in enumerate(active):
            self._sample(seq, index)

    def _sample(self, seq: _Seq, index: int) -> None:
        token = int(llama_cpp.llama_sampler_sample(seq.sampler.sampler, self._ctx.ctx, index))
        request = seq.request
        if llama_cpp.llama_vocab_is_eog(self._vocab, token):
            seq.text = self._detokenize(seq)
            return
        seq.generated.append(token)
        text = self._detokenize(seq)
        stops = [s.encode("utf-8") for s in request.stop if s.encode("utf-8") in text]
        if stops:
            seq.text = text[: text.index(stops[0])]
        elif len(seq.generated) >= request.max_tokens:
            seq.text = text

    def _detokenize(self, seq: _Seq) -> bytes:
        return bytes(self._llm.detokenize(seq.generated, prev_tokens=list(seq.request.tokens)))

    def _add(self, token: int, pos: int, seq_id: int, logits: bool) -> None:
        batch = self._batch.batch
        j = batch.n_tokens
        batch.token[j] = token
        batch.pos[j] = pos
        batch.seq_id[j][0] = seq_id
        batch.n_seq_id[j] = 1
        batch.logits[j] = logits
        batch.n_tokens = j + 1

    def _decode(self) -> None:
        if self._batch.batch.n_tokens == 0:
            return
        code = llama_cpp.llama_decode(self._ctx.ctx, self._batch.batch)
        if code != 0:
            self._kept = []
            llama_cpp.llama_memory_clear(self._mem, True)
            raise KernelError(
                f"llama_decode failed with code {code} (1: no free KV cells for the batch). "
                "Fix: send fewer or shorter tasks at once"
            )


def make_sampler(llm: Any, request: Request, grammar: Any | None) -> Any:
    """A sampler chain like Llama.create_completion's: grammar first, then greedy (temperature 0) or top-k/p."""
    sampler = _internals.LlamaSampler()
    if grammar is not None:
        sampler.add_grammar(llm._model, grammar)
    if request.temperature <= 0.0:
        sampler.add_greedy()
    else:
        sampler.add_top_k(40)
        sampler.add_typical(1.0, 1)
        sampler.add_top_p(0.95, 1)
        sampler.add_min_p(0.05, 1)
        sampler.add_temp(request.temperature)
        sampler.add_dist(request.seed)
    return sampler

