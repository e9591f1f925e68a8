"""Benchmark: JaccardIndex build time and per-query top-k latency at 10^4..10^6 rows.

Usage: python bench/bench_retrieval.py --out bench/results/retrieval.json [--quick]

Synthetic, seeded data: every row holds 3-8 keywords drawn from a vocabulary of 5,000
(uniformly, or Zipf-like with --dist zipf); every query holds 3-8 keywords from the same
vocabulary. Latency is timed per query for the exact path (no noise, no weights) and for the
exploration path (Gaussian noise over every row). Target (DESIGN.md): < 50 ms per query at 10^6.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

try:
    from experience.retrieval import JaccardIndex
except ImportError:  # not installed: run from a checkout
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "core"))
    from experience.retrieval import JaccardIndex

TARGET_MS = 50.0
VOCAB = 5_000


def keyword_probabilities(dist: str) -> np.ndarray | None:
    """Probabilities of each vocabulary word (None: uniform)."""
    if dist == "uniform":
        return None
    weights = 1.0 / (np.arange(VOCAB) + 10.0)  # Zipf-like, head flattened a little
    probs: np.ndarray = weights / weights.sum()
    return probs


def synthetic_keyword_sets(
    rng: np.random.Generator, count: int, probs: np.ndarray | None
) -> list[list[str]]:
    """`count` keyword lists of 3-8 distinct words each."""
    sizes = rng.integers(3, 9, size=count)
    draws = rng.choice(VOCAB, size=(count, 16), p=probs)  # extra columns to survive dedup
    out: list[list[str]] = []
    for size, row in zip(sizes.tolist(), draws.tolist(), strict=True):
        words = list(dict.fromkeys(row))[:size]
        out.append([f"kw{w}" for w in words])
    return out


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100) of values."""
    return float(np.percentile(np.array(values), q))


def time_queries(
    index: JaccardIndex, queries: list[frozenset[str]], k: int, noise_std: float, seed: int
) -> list[float]:
    """Milliseconds per topk call, one per query (after one warm-up call)."""
    rng = np.random.default_rng(seed)
    index.topk(queries[0], k, noise_std=noise_std, rng=rng)
    times: list[float] = []
    for words in queries:
        start = time.perf_counter()
        index.topk(words, k, noise_std=noise_std, rng=rng)
        times.append((time.perf_counter() - start) * 1000.0)
    return times


def bench_size(rows: int, args: argparse.Namespace) -> dict[str, object]:
    """Build an index of `rows` rows and time queries on it."""
    rng = np.random.default_rng(args.seed + rows)
    probs = keyword_probabilities(args.dist)
    texts = ["\n".join(words) for words in synthetic_keyword_sets(rng, rows, probs)]
    start = time.perf_counter()
    index = JaccardIndex(texts)
    build_s = time.perf_counter() - start
    del texts
    queries = [frozenset(q) for q in synthetic_keyword_sets(rng, args.queries, probs)]
    exact = time_queries(index, queries, args.k, 0.0, args.seed)
    noisy = time_queries(index, queries, args.k, args.noise_std, args.seed)
    start = time.perf_counter()
    for row in rng.integers(0, rows, size=100).tolist():
        index.update(row, "\n".join(synthetic_keyword_sets(rng, 1, probs)[0]))
    index.topk(queries[0], args.k)  # pays for the postings the updates touched
    update_ms = (time.perf_counter() - start) * 1000.0 / 100
    result: dict[str, object] = {
        "build_s": round(build_s, 3),
        "query_ms_median": round(statistics.median(exact), 3),
        "query_ms_p95": round(percentile(exact, 95), 3),
        "noisy_query_ms_median": round(statistics.median(noisy), 3),
        "noisy_query_ms_p95": round(percentile(noisy, 95), 3),
        "update_ms_mean": round(update_ms, 4),
        "target_ms": TARGET_MS,
        "ok": percentile(exact, 95) < TARGET_MS and percentile(noisy, 95) < TARGET_MS,
        "queries": len(queries),
        "k": args.k,
        "noise_std": args.noise_std,
        "dist": args.dist,
        "vocab": VOCAB,
        "seed": args.seed,
        "machine": f"{platform.machine()} {platform.processor() or platform.system()}",
        "numpy": np.__version__,
    }
    return result


def main() -> int:
    """Run the benchmark and write JSON; exit 1 when a size misses the target."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, default=Path("bench/results/retrieval.json"))
    parser.add_argument("--quick", action="store_true", help="only 10^4 and 10^5 rows")
    parser.add_argument("--queries", type=int, default=100, help="timed queries per size (>= 50)")
    parser.add_argument("--k", type=int, default=4)
    parser.add_argument("--noise-std", type=float, default=0.1)
    parser.add_argument("--dist", choices=["uniform", "zipf"], default="uniform")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if args.queries < 50:
        parser.error("--queries must be >= 50")
    sizes = [10_000, 100_000] if args.quick else [10_000, 100_000, 1_000_000]
    results: dict[str, dict[str, object]] = {}
    for rows in sizes:
        results[str(rows)] = bench_size(rows, args)
        print(f"{rows:>9} rows: {json.dumps(results[str(rows)])}", file=sys.stderr)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return 0 if all(r["ok"] for r in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
