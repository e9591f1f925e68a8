"""Prompting baselines on the same model: k random training pairs, or every training pair, as chat turns."""

from __future__ import annotations

import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from experience.kernel import Kernel, KernelTask
from experience.prompts import render
from experience.tasks.dataset import Dataset, Pair
from experience.text.answer import blocks, trim_blocks
from experience_bench.common import Score, score, spread_dict

SHOT_HEADROOM = 32  # completion tokens beyond the longest example answer (as st_moe allows)


def pick_shots(train: Sequence[Pair], k: int, seed: int) -> list[Pair]:
    """k training pairs drawn with a seeded RNG (the same seed always gives the same prompt)."""
    if k < 0:
        raise ValueError(f"k must be >= 0, got {k}")
    if k > len(train):
        raise ValueError(f"k={k} shots asked for but the train split has {len(train)} pairs")
    return random.Random(seed).sample(list(train), k)


def few_shot_task(
    task_prompt: str, shots: Sequence[Pair], source: str, max_tokens: int = 256, grammar: str | None = None
) -> KernelTask:
    """The chat task: the system prompt of st_moe, each shot as a user/assistant turn, then the source."""
    turns = tuple((p.source.rstrip("\n"), p.target.rstrip("\n")) for p in shots)
    longest = max((len(answer) for _, answer in turns), default=0)
    # under a grammar the answer gets the whole limit, as st_moe gives it (a constrained answer is longer)
    limit = min(max_tokens, SHOT_HEADROOM + longest) if turns and grammar is None else max_tokens
    return KernelTask.chat(
        source.rstrip("\n"),
        system=render("translate_system", task_prompt=task_prompt),
        shots=turns,
        max_tokens=limit,
        tag="few-shot",
        grammar=grammar,
    )


def answer_blocks(shots: Sequence[Pair]) -> int:
    """How many blank-line-separated blocks an answer may keep: the most any shot's target has."""
    return max((len(blocks(p.target)) for p in shots), default=1)


@dataclass(frozen=True)
class PromptRun:
    """Scores and what the LLM spent on one split."""

    score: Score
    calls: int
    cache_hits: int
    prompt_tokens: int
    completion_tokens: int
    seconds: float
    outputs: tuple[str, ...]
    answer_cost: dict[str, float] = field(default_factory=dict)  # every request, cached or not, per sample
    valid: float | None = None  # share the dataset's checker accepts (cut at the token limit: invalid)


def run_prompt(
    kernel: Kernel, dataset: Dataset, pairs: Sequence[Pair], shots: Sequence[Pair], grammar: bool = False
) -> PromptRun:
    """Answer every pair with the fixed few-shot prompt (no shots: zero-shot), under the dataset's grammar if
    `grammar`, and score the answers."""
    if grammar and dataset.grammar is None:
        raise ValueError(f"dataset {dataset.name!r} names no grammar; run the baseline with grammar=False")
    before, started = kernel.usage.snapshot(), time.perf_counter()
    rule = dataset.grammar if grammar else None
    tasks = [few_shot_task(dataset.task_prompt, shots, p.source, grammar=rule) for p in pairs]
    keep = answer_blocks(shots)
    completions = kernel.run(tasks)
    outputs = tuple(trim_blocks(c.text, keep) for c in completions)
    cut = [c.completion_tokens >= t.max_tokens for c, t in zip(completions, tasks, strict=True)]
    used = kernel.usage - before
    n = max(len(pairs), 1)
    cost = {
        "requests_per_sample": round(len(completions) / n, 3),
        "prompt_tokens_per_sample": round(sum(c.prompt_tokens for c in completions) / n, 1),
        "completion_tokens_per_sample": round(sum(c.completion_tokens for c in completions) / n, 1),
    }
    return PromptRun(
        score(dataset, pairs, outputs),
        used.calls,
        used.cache_hits,
        used.prompt_tokens,
        used.completion_tokens,
        round(time.perf_counter() - started, 3),
        outputs,
        cost,
        dataset.valid_share(outputs, cut),
    )


def few_shot_baseline(
    kernel: Kernel, dataset: Dataset, splits: Sequence[str], seeds: Sequence[int], k: int = 3, grammar: bool = False
) -> dict[str, Any]:
    """Per split: loss and exact of the k-shot prompt over `seeds` (a different draw of shots per seed)."""
    train = dataset.split("train")
    per_split: dict[str, Any] = {}
    for split in splits:
        pairs = dataset.split(split)
        runs = {seed: run_prompt(kernel, dataset, pairs, pick_shots(train, k, seed), grammar) for seed in seeds}
        per_split[split] = summarize(runs, len(pairs))
        per_split[split]["shots"] = {str(s): [p.name for p in pick_shots(train, k, s)] for s in seeds}
    return {
        "method": f"fixed few-shot prompt, k={k} random training pairs as chat turns",
        "k": k,
        "seeds": list(seeds),
        "splits": per_split,
    }


def all_pairs_baseline(
    kernel: Kernel, dataset: Dataset, splits: Sequence[str], grammar: bool = False
) -> dict[str, Any]:
    """Per split: every training pair in the prompt, in dataset order (one deterministic run, no seeds)."""
    shots = dataset.split("train")
    per_split: dict[str, Any] = {}
    for split in splits:
        pairs = dataset.split(split)
        per_split[split] = summarize({0: run_prompt(kernel, dataset, pairs, shots, grammar)}, len(pairs))
    return {
        "method": f"every training pair ({len(shots)}) as chat turns, in dataset order",
        "shots": [p.name for p in shots],
        "splits": per_split,
    }


def summarize(runs: dict[int, PromptRun], n: int) -> dict[str, Any]:
    """Spread of loss/exact over seeds plus per-sample calls, tokens and seconds of the real calls."""
    values = list(runs.values())
    samples = max(n * len(values), 1)
    valid = [r.valid for r in values if r.valid is not None]
    return {
        "n": n,
        "loss": spread_dict([r.score.loss for r in values]),
        "exact": spread_dict([r.score.exact for r in values]),
        **({"valid": spread_dict(valid)} if valid else {}),
        "per_seed": {
            str(s): {"loss": round(r.score.loss, 4), "exact": round(r.score.exact, 4)}
            | ({"valid": round(r.valid, 4)} if r.valid is not None else {})
            for s, r in runs.items()
        },
        "calls_per_sample": round(sum(r.calls for r in values) / samples, 3),
        "cache_hits": sum(r.cache_hits for r in values),
        "prompt_tokens_per_sample": round(sum(r.prompt_tokens for r in values) / samples, 1),
        "completion_tokens_per_sample": round(sum(r.completion_tokens for r in values) / samples, 1),
        "seconds_per_sample": round(sum(r.seconds for r in values) / samples, 3),
        "answer_cost": {
            key: round(sum(r.answer_cost.get(key, 0.0) for r in values) / max(len(values), 1), 3)
            for key in ("requests_per_sample", "prompt_tokens_per_sample", "completion_tokens_per_sample")
        },
    }
