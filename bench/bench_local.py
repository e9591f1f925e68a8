"""The local backend's throughput on real translate prompts, interleaved A/B rounds (issue 12).

    python bench/bench_local.py --threads 2 --rounds 2 --out /tmp/local.json

Each round times the same 8 translate calls (st_moe's system prompt, one training pair as a shot, a source)
three ways: `legacy` (llama.cpp's default threads: half the CPUs for decode, all for prompts; one call at a
time, as before issue 12), `sequential` (--threads for both, one call at a time, prefix KV reused between
calls) and `batched` (--threads, one multi-sequence batch). It also records the raw prefill and decode rates and
whether the batched answers equal the sequential ones. Rounds interleave the three so that load from other
processes on a shared machine hits them alike.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path
from typing import Any

from experience.kernel import Completion, Kernel, KernelTask
from experience.kernel.backends.local import LocalBackend
from experience_bench.throughput import floor_seconds, translate_tasks

ROOT = Path(__file__).resolve().parents[1]


def timed(kernel: Kernel, tasks: list[KernelTask], batched: bool) -> tuple[float, list[Completion]]:
    """Seconds for the tasks as one batch, or one call at a time."""
    start = time.perf_counter()
    answers = kernel.run(tasks) if batched else [kernel.run([t])[0] for t in tasks]
    return time.perf_counter() - start, answers


def main() -> None:
    """Parse arguments, run the rounds, write JSON."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=None, help="threads of the new config (default: cores)")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--tasks", type=int, default=8)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    tasks = translate_tasks(ROOT / "datasets" / "viba", args.tasks)
    cpus = os.cpu_count() or 1
    legacy = Kernel(LocalBackend(n_threads=max(cpus // 2, 1), n_threads_batch=cpus, max_batch=1))
    new = Kernel(LocalBackend(n_threads=args.threads, max_batch=max(args.tasks, 2)))
    assert isinstance(new.backend, LocalBackend)
    rates = new.backend.token_rates(tasks[0])
    for kernel in (legacy, new):
        kernel.run(tasks[:2])  # load the model, build the batch context: not timed
    rows: dict[str, list[float]] = {"legacy": [], "sequential": [], "batched": []}
    answers: dict[str, list[Completion]] = {}
    for _ in range(args.rounds):
        for name, kernel, batched in (("legacy", legacy, False), ("sequential", new, False), ("batched", new, True)):
            seconds, answers[name] = timed(kernel, tasks, batched)
            rows[name].append(round(seconds, 3))
    prompt = sum(c.prompt_tokens for c in answers["sequential"])
    completion = sum(c.completion_tokens for c in answers["sequential"])
    floor = floor_seconds(prompt, completion, rates)
    median = {name: statistics.median(values) for name, values in rows.items()}
    result: dict[str, Any] = {
        "tasks": len(tasks),
        "threads": new.backend.n_threads,
        "legacy_threads": [legacy.backend.n_threads, legacy.backend.n_threads_batch],  # type: ignore[attr-defined]
        "load_average_at_start": os.getloadavg(),
        "rates": rates,
        "seconds": rows,
        "median_seconds": median,
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "floor_seconds": round(floor, 3),
        "floor_ratio": {name: round(value / floor, 3) for name, value in median.items()},
        "batched_over_sequential": round(median["batched"] / median["sequential"], 3),
        "batched_over_legacy": round(median["batched"] / median["legacy"], 3),
        "identical_batched_answers": sum(
            a.text == b.text for a, b in zip(answers["sequential"], answers["batched"], strict=True)
        ),
        "identical_legacy_answers": sum(
            a.text == b.text for a, b in zip(answers["sequential"], answers["legacy"], strict=True)
        ),
    }
    legacy.close()
    new.close()
    text = json.dumps(result, indent=1)
    if args.out is not None:
        args.out.write_text(text + "\n", encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
