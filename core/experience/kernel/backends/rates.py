"""Raw llama.cpp token rates of a loaded model: prompt evaluation (prefill) and one-token decode steps."""

from __future__ import annotations

import statistics
import time
from collections.abc import Sequence
from typing import Any


def token_rates(llm: Any, tokens: Sequence[int], decode: int = 64, trials: int = 3) -> dict[str, Any]:
    """Median over `trials` of: evaluating `tokens` from an empty KV (prefill tok/s), then `decode` single-token
    llama_decode calls after them (decode tok/s; the tokens fed are the prompt's again, no sampling).

    Leaves the Llama with an empty prefix cache (its next call evaluates its whole prompt).
    """
    if len(tokens) < 2 or decode < 1 or trials < 1:
        raise ValueError(f"need >= 2 prompt tokens, decode >= 1 and trials >= 1, got {len(tokens)}, {decode}, {trials}")
    if len(tokens) + decode > llm.n_ctx():
        raise ValueError(f"{len(tokens)} prompt + {decode} decode tokens exceed the context of {llm.n_ctx()}")
    prefill: list[float] = []
    steps: list[float] = []
    try:
        for _ in range(trials):
            llm.reset()
            start = time.perf_counter()
            llm.eval(list(tokens))
            prefill.append(len(tokens) / (time.perf_counter() - start))
            start = time.perf_counter()
            for i in range(decode):
                llm.eval([tokens[i % len(tokens)]])
            steps.append(decode / (time.perf_counter() - start))
    finally:
        llm.reset()
    return {
        "prefill_tok_s": round(statistics.median(prefill), 2),
        "decode_tok_s": round(statistics.median(steps), 2),
        "prefill_tok_s_trials": [round(r, 2) for r in prefill],
        "decode_tok_s_trials": [round(r, 2) for r in steps],
        "prompt_tokens": len(tokens),
        "decode_tokens": decode,
        "threads": int(llm.context_params.n_threads),
        "threads_batch": int(llm.context_params.n_threads_batch),
    }
