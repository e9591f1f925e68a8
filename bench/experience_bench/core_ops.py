"""Benchmark: make / slice / stack / diff / patch on 10,000 elements (target < 1 s each).

Usage: python -m experience_bench.core_ops --out bench/results/core.json [--n 10000] [--repeats 3]

Elements are small code-like texts (3 lines) in an [n/100, 100] grid. `make` and `patch` work on
tensors bound to a run directory, so every element is written to its own file (atomically);
`slice_view`, `slice_copy` (a reversed full slice), `stack` (two halves into one tensor of n) and
`diff` (every element changed) work on texts in memory. Each op's figure is the median of
`--repeats` runs, wall clock; `cpu_seconds` (the process's CPU time, all threads) shows how much
of it was spent waiting on a busy machine. `fs_floor` is not a library op: it is what this
machine's filesystem needs to create n files by temp file + rename with bare os calls, to tell
framework time from disk time.
The work folder is a temporary directory removed at the end.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import experience as ex

TARGET_S = 1.0
_names = itertools.count()


def grid(n: int, variant: str) -> list[list[str]]:
    """n texts as nested lists of shape [n/100, 100] (or [1, n] when n is not a multiple of 100)."""
    width = 100 if n % 100 == 0 else n
    texts = [f"def f{i}(x):\n    y = x {variant} {i}\n    return y\n" for i in range(n)]
    return [texts[r : r + width] for r in range(0, n, width)]


def timed(setup: Callable[[], Any], run: Callable[[Any], Any], repeats: int) -> tuple[list[float], list[float]]:
    """Wall and CPU seconds (all threads, user + system) of `run(setup())` per repeat."""
    walls, cpus = [], []
    for _ in range(repeats):
        state = setup()
        cpu, start = time.process_time(), time.perf_counter()
        run(state)
        walls.append(time.perf_counter() - start)
        cpus.append(time.process_time() - cpu)
    return walls, cpus


def fs_floor(work: Path, n: int, width: int) -> None:
    """Create n small files, temp file + rename each, with bare os calls."""
    folder = work / f"floor{next(_names)}"
    for i in range(n):
        row = folder / str(i // width)
        if i % width == 0:
            os.makedirs(row)
        final = os.path.join(row, f"{i % width}.txt")
        fd = os.open(final + ".tmp", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        os.write(fd, b"def f(x):\n    return x\n")
        os.close(fd)
        os.replace(final + ".tmp", final)


def bench(n: int, repeats: int, work: Path) -> dict[str, dict[str, Any]]:
    """Time every op; returns {op: {seconds, n, target_s, ok, runs, cpu_seconds}}."""
    plus, times = grid(n, "+"), grid(n, "*")
    memory = ex.tensor(plus)
    better = ex.tensor(times)
    half = ex.tensor(grid(n // 2, "+"))
    grad = ex.diff(memory, better)

    def on_disk() -> ex.SymbolicTensor:
        return ex.tensor(plus, work, name=f"target{next(_names)}")

    cases: dict[str, tuple[Callable[[], Any], Callable[[Any], Any]]] = {
        "make": (lambda: None, lambda _: ex.tensor(plus, work, name=f"make{next(_names)}")),
        "slice_view": (lambda: memory, lambda t: t.view[:, ::-1]),
        "slice_copy": (lambda: memory, lambda t: t[:, ::-1]),
        "stack": (lambda: half, lambda t: ex.stack([t, t], 0)),
        "diff": (lambda: memory, lambda t: ex.diff(t, better)),
        "patch": (on_disk, lambda t: ex.patch(t, grad)),
        "fs_floor": (lambda: None, lambda _: fs_floor(work, n, len(plus[0]))),
    }
    results: dict[str, dict[str, Any]] = {}
    for op, (setup, run) in cases.items():
        runs, cpus = timed(setup, run, repeats)
        seconds = statistics.median(runs)
        results[op] = {
            "seconds": round(seconds, 4),
            "n": n,
            "target_s": TARGET_S,
            "ok": seconds < TARGET_S,
            "runs": [round(s, 4) for s in runs],
            "cpu_seconds": round(statistics.median(cpus), 4),
        }
    return results


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark, write JSON, print a table; exit 1 when a library op misses its target."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("bench/results/core.json"))
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="bench-core-"))
    try:
        results = bench(args.n, args.repeats, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"{'op':<12}{'n':>8}{'median s':>10}{'cpu s':>8}{'target s':>10}  ok   runs (wall s)")
    for op, row in results.items():
        runs = " ".join(f"{s:.3f}" for s in row["runs"])
        print(
            f"{op:<12}{row['n']:>8}{row['seconds']:>10.3f}{row['cpu_seconds']:>8.3f}"
            f"{row['target_s']:>10.1f}  {'yes' if row['ok'] else 'NO ':<4} {runs}"
        )
    missed = [op for op, row in results.items() if not row["ok"] and op != "fs_floor"]
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
