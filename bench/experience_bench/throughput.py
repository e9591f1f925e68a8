"""Throughput figures of the local model (issue 12), measured in the bench run itself: the raw prefill and decode
token rates, the floor ratio of a training step (its seconds per sample over its tokens at those rates), a batch
of 8 translate calls against the same 8 one at a time, and the same training steps on the backend as it was
before batching (llama.cpp's default threads: half the CPUs for decode; one call at a time)."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from experience.kernel import Backend, Kernel, KernelTask
from experience.prompts import render
from experience.tasks.dataset import load_dataset
from experience_bench.learning import Lab, LearnPlan
from experience_bench.system import figure, step_records

FLOOR_TARGET = 1.3
BATCH_TARGET = 0.5  # "B prompts cost well under B sequential calls"
BATCH = 8


def per_sample(records: list[dict[str, Any]]) -> dict[str, float]:
    """Seconds, real prompt tokens and real completion tokens per sample, over all the steps' samples."""
    samples = max(sum(int(r["n"]) for r in records), 1)
    return {
        "seconds": sum(float(r["seconds"]) for r in records) / samples,
        "prompt_tokens": sum(int(r["prompt_tokens"]) for r in records) / samples,
        "completion_tokens": sum(int(r["completion_tokens"]) for r in records) / samples,
    }


def floor_seconds(prompt_tokens: float, completion_tokens: float, rates: dict[str, Any]) -> float:
    """The time those tokens take at the raw rates: prompt / prefill rate + completion / decode rate."""
    return prompt_tokens / float(rates["prefill_tok_s"]) + completion_tokens / float(rates["decode_tok_s"])


def floor_figures(
    cold: list[dict[str, Any]], legacy: list[dict[str, Any]] | None, rates: dict[str, Any] | None
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Seconds per sample per step (now, and before batching when measured) and their ratio to the token floor."""
    now = per_sample(cold)
    details: dict[str, Any] = {"now": now, "rates": rates}
    figures = [figure("seconds per sample per training step", now["seconds"], "s", None, None, _tokens(now))]
    if legacy:
        before = per_sample(legacy)
        details["before"] = before
        note = "same steps, llama.cpp default threads (half the CPUs for decode), one call at a time; "
        note += _tokens(before)
        figures.append(figure("seconds per sample per step before batching", before["seconds"], "s", None, None, note))
        details["same_step_losses"] = [r.get("loss") for r in cold] == [r.get("loss") for r in legacy]
    if rates is None:
        note = "no raw token rates: the backend is not the in-process llama.cpp model"
        figures.append(figure("step time / token floor", None, "x", f"<= {FLOOR_TARGET:g}", None, note))
        return figures, details
    floor = floor_seconds(now["prompt_tokens"], now["completion_tokens"], rates)
    ratio = now["seconds"] / floor if floor > 0 else None
    details["floor_seconds_per_sample"] = round(floor, 4)
    prefill, decode = float(rates["prefill_tok_s"]), float(rates["decode_tok_s"])
    rate_note = f"prefill {prefill:g} tok/s, decode {decode:g} tok/s at {rates['threads']} threads"
    figures += [
        figure("raw prefill rate (this run)", prefill, "tok/s", None, None, _trials(rates, "prefill")),
        figure("raw decode rate (this run)", decode, "tok/s", None, None, _trials(rates, "decode")),
        figure(
            "step time / token floor (s per sample per step over its tokens at the raw rates)",
            ratio,
            "x",
            f"<= {FLOOR_TARGET:g}",
            None if ratio is None else ratio <= FLOOR_TARGET,
            f"floor {floor:.3f} s per sample ({rate_note})",
        ),
    ]
    if legacy:
        before_ratio = details["before"]["seconds"] / floor if floor > 0 else None
        details["before_floor_ratio"] = None if before_ratio is None else round(before_ratio, 3)
    return figures, details


def batch_figures(kernel: Kernel, tasks: list[KernelTask]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The same tasks one call at a time, then as one `complete_many` (one batch on a BatchBackend), after a warm-up."""
    kernel.run(tasks[:2])  # builds the batch context and warms the one-task path: not counted
    kernel.run(tasks[:1])
    start = time.perf_counter()
    one_by_one = [kernel.run([t])[0] for t in tasks]
    sequential_s = time.perf_counter() - start
    start = time.perf_counter()
    together = kernel.run(tasks)
    batch_s = time.perf_counter() - start
    equal = sum(a.text == b.text for a, b in zip(one_by_one, together, strict=True))
    ratio = batch_s / sequential_s if sequential_s > 0 else None
    note = f"{len(tasks)} translate calls: {batch_s:.2f} s as one batch, {sequential_s:.2f} s one at a time; "
    note += f"{equal}/{len(tasks)} answers identical"
    fig = figure(
        f"batch of {len(tasks)} / {len(tasks)} sequential calls",
        ratio,
        "x",
        f"< {BATCH_TARGET:g}",
        None if ratio is None else ratio < BATCH_TARGET,
        note,
    )
    details = {
        "tasks": len(tasks),
        "batch_seconds": round(batch_s, 3),
        "sequential_seconds": round(sequential_s, 3),
        "identical_answers": equal,
        "completion_tokens_batch": sum(c.completion_tokens for c in together),
        "completion_tokens_sequential": sum(c.completion_tokens for c in one_by_one),
    }
    return [fig], details


def translate_tasks(dataset: Path, n: int = BATCH) -> list[KernelTask]:
    """n real translate prompts: the st_moe system prompt, one training pair as a shot, a validation source."""
    data = load_dataset(dataset)
    shot = data.split("train")[0]
    system = render("translate_system", task_prompt=data.task_prompt)
    sources = [p.source for p in (data.split("val") + data.split("train")[1:])][:n]
    shots = ((shot.source.rstrip("\n"), shot.target.rstrip("\n")),)
    return [
        KernelTask.chat(s.rstrip("\n"), system=system, shots=shots, max_tokens=128, tag="translate") for s in sources
    ]


def legacy_backend(backend: Backend) -> Backend | None:
    """The local backend as it was before issue 12 (same model), or None for another backend."""
    from experience.kernel.backends.local import LocalBackend

    if not isinstance(backend, LocalBackend):
        return None
    cpus = os.cpu_count() or 1
    return LocalBackend(
        backend.model_path, n_ctx=backend.n_ctx, n_threads=max(cpus // 2, 1), n_threads_batch=cpus, max_batch=1
    )


def measure(
    make: Callable[[], Backend], dataset: Path, work: Path, plan: LearnPlan, steps: int
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Token rates, batch of 8 and the step floor (against the cold steps in work/sys-cold), plus legacy steps."""
    tasks = translate_tasks(dataset)
    kernel = Kernel(make(), cache_path=None)
    try:
        rater = getattr(kernel.backend, "token_rates", None)
        rates = rater(tasks[0]) if callable(rater) else None
        batch, batch_details = batch_figures(kernel, tasks)
        legacy = legacy_backend(kernel.backend)
    finally:
        kernel.close()
    legacy_records = None
    if legacy is not None:
        legacy_kernel = Kernel(legacy, cache_path=work / "legacy-cache.sqlite")
        try:
            run_dir = work / "sys-legacy"
            shutil.rmtree(run_dir, ignore_errors=True)
            lab = Lab(legacy_kernel)
            lab.create(run_dir, dataset, plan, seed=0)
            lab.train(run_dir, epochs=1, max_steps=steps)
            legacy_records = step_records(run_dir)
        finally:
            legacy_kernel.close()
    floor, floor_details = floor_figures(step_records(work / "sys-cold"), legacy_records, rates)
    return floor + batch, {"floor": floor_details, "batch": batch_details}


def _tokens(row: dict[str, float]) -> str:
    tokens = f"{row['prompt_tokens']:.0f} prompt + {row['completion_tokens']:.0f} completion"
    return f"{tokens} tokens per sample (real calls)"


def _trials(rates: dict[str, Any], kind: str) -> str:
    trials = ", ".join(f"{r:g}" for r in rates[f"{kind}_tok_s_trials"])
    size = rates["prompt_tokens"] if kind == "prefill" else rates["decode_tokens"]
    return f"median of {trials} tok/s ({size} tokens, {rates['threads']} threads)"
