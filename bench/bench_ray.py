"""Benchmark: training step time in-process vs `--executor ray` with 1 and 2 local workers, and a capacity model.

Usage: python bench/bench_ray.py [--out bench/results/ray.json] [--steps 3] [--batch-size 4] [--no-wait]

Each configuration trains a fresh run on the viba dataset (the same seed, so the same batches) with the real
local model (SmolLM2-135M, llama.cpp) and no response cache, so every call is a real LLM call. Each backend
is warmed up (model loaded) before timing. Answers are unconstrained (grammar "off": GBNF decoding is a
separate cost). Configurations: in-process with 1 and 2 llama.cpp threads, Ray with 1 worker and with
2 workers (1 thread each; one worker per core). From the 2-worker run: calls per second of this node, calls
per training sample, and the nodes needed to train 100,000 samples per epoch in 1, 8 and 24 hours. The
machine is shared: the script waits while an `experience bench` runs (unless --no-wait).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from experience.kernel import Kernel, KernelTask
from experience.kernel.backends import make_backend
from experience.tasks.dataset import load_dataset
from experience.train.executor import executor_backend
from experience.train.run_dir import RunConfig, RunDir
from experience.train.trainer import Trainer

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = 100_000
HOURS = (1, 8, 24)


def wait_for_quiet_machine(poll: float = 60.0) -> float:
    """Sleep while another `experience bench` runs the local model; the seconds waited."""
    waited = 0.0
    while other_bench_running():
        sys.stderr.write(f"an `experience bench` is running; waiting ({waited:.0f} s so far)\n")
        time.sleep(poll)
        waited += poll
    return waited


def other_bench_running() -> bool:
    """True while an `experience bench` runs (it shares these cores)."""
    return subprocess.run(["pgrep", "-f", "experience bench"], capture_output=True).returncode == 0


def measure(name: str, executor: str, workers: int, threads: int, args: argparse.Namespace) -> dict[str, Any]:
    """Train `args.steps` steps of one configuration; per-step seconds and calls."""
    dataset = load_dataset(ROOT / "datasets" / "viba")
    started = time.perf_counter()
    if executor == "inprocess":
        backend, fan_out = make_backend("local", n_threads=threads), 1
    else:
        backend, fan_out = executor_backend("ray", workers, "local", None, None)
    kernel = Kernel(backend, concurrency=fan_out)
    kernel.run([KernelTask.chat(f"warm up {i}", max_tokens=1) for i in range(workers)])  # loads every model
    setup = time.perf_counter() - started
    steps: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as folder:
        config = RunConfig(
            dataset=str(dataset.path), source_ext=dataset.source_ext, target_ext=dataset.target_ext,
            task_prompt=dataset.task_prompt, rows=32, batch_size=args.batch_size, seed=0,
            query=dataset.query or "llm", executor=executor, workers=workers, grammar="off",
        )
        run = RunDir.create(Path(folder) / "run", config)
        trainer = Trainer(run, dataset, kernel)
        order = trainer.epoch_order(0)
        for step in range(args.steps):
            batch = order[step * args.batch_size : (step + 1) * args.batch_size]
            before, tick = kernel.usage.snapshot(), time.perf_counter()
            record = trainer.step(batch, 0)
            used = kernel.usage - before
            steps.append({
                "samples": len(batch), "seconds": round(time.perf_counter() - tick, 3), "calls": used.calls,
                "completion_tokens": used.completion_tokens, "loss": record["loss"],
            })
            sys.stderr.write(f"{name}: step {step + 1} {steps[-1]}\n")
    served = backend.served() if hasattr(backend, "served") else [kernel.usage.calls]
    kernel.close()
    seconds = sum(s["seconds"] for s in steps)
    calls = sum(s["calls"] for s in steps)
    return {
        "executor": executor, "workers": workers, "threads_per_worker": threads,
        "load_average_1min_after": round(os.getloadavg()[0], 2), "other_bench_running_after": other_bench_running(),
        "setup_seconds": round(setup, 2), "steps": steps,
        "mean_step_seconds": round(seconds / len(steps), 3),
        "calls_per_second": round(calls / seconds, 3), "calls_per_worker": served,
    }


def capacity(best: dict[str, Any]) -> dict[str, Any]:
    """Calls per sample and per second of this node, and the nodes that train 100,000 samples per epoch."""
    samples = sum(s["samples"] for s in best["steps"])
    seconds = sum(s["seconds"] for s in best["steps"])
    per_sample = sum(s["calls"] for s in best["steps"]) / samples
    samples_per_second = samples / seconds
    return {
        "node": f"{os.cpu_count()} cores, {best['workers']} Ray workers x {best['threads_per_worker']} thread",
        "calls_per_second_per_node": best["calls_per_second"],
        "calls_per_sample": round(per_sample, 3),
        "samples_per_second_per_node": round(samples_per_second, 4),
        "nodes_for_100k_samples_per_epoch": {
            f"{h}h": math.ceil(SAMPLES / (samples_per_second * h * 3600)) for h in HOURS
        },
    }


def main() -> int:
    """Run the configurations and write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "ray.json"))
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--no-wait", action="store_true", help="do not wait for a running `experience bench`")
    parser.add_argument("--skip", nargs="*", default=[], help="configurations to leave out (e.g. inprocess-2t)")
    args = parser.parse_args()
    waited = 0.0 if args.no_wait else wait_for_quiet_machine()
    busy, load = other_bench_running(), round(os.getloadavg()[0], 2)
    configs = [("inprocess-1t", "inprocess", 1, 1), ("inprocess-2t", "inprocess", 1, 2),
               ("ray-1w", "ray", 1, 1), ("ray-2w", "ray", 2, 1)]
    results = {
        name: measure(name, executor, workers, threads, args)
        for name, executor, workers, threads in configs
        if name not in args.skip or name.startswith("ray-")
    }
    one, two = results["ray-1w"]["mean_step_seconds"], results["ray-2w"]["mean_step_seconds"]
    out = {
        "machine": {
            "cpus": os.cpu_count(), "python": platform.python_version(), "waited_seconds": waited,
            "other_bench_running_at_start": busy, "load_average_1min_at_start": load,
        },
        "model": "SmolLM2-135M-Instruct Q4_1 (llama.cpp), no response cache, no grammar",
        "dataset": "viba", "steps": args.steps, "batch_size": args.batch_size,
        "runs": results,
        "speedup_2_workers_vs_1": round(one / two, 3),
        "capacity": capacity(results["ray-2w"]),
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=2) + "\n")
    sys.stdout.write(json.dumps({k: out[k] for k in ("speedup_2_workers_vs_1", "capacity")}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
