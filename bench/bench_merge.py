"""Benchmark: merge two runs trained on different halves of datasets/viba, held-out loss next to each half's.

Usage: python bench/bench_merge.py [--out bench/results/merge.json] [--epochs 1] [--policy trust]

Runs the commands a user runs: `experience train` on each half (train pairs alternate between the halves,
val is the dataset's own), then `experience merge A B --out C --eval` (the merged run and both halves scored
on viba val with the same local model, temperature 0), and `experience eval` of an empty run (zero-shot).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def halves(dataset: Path, work: Path) -> list[Path]:
    """Two dataset folders, each with every other train pair and the whole val split."""
    manifest = json.loads((dataset / "manifest.json").read_text(encoding="utf-8"))
    names = sorted(p.stem for p in (dataset / "train").glob(f"*.{manifest['source_ext']}"))
    out = []
    for index in range(2):
        folder = work / f"viba-half-{'ab'[index]}"
        (folder / "train").mkdir(parents=True)
        for name in names[index::2]:
            for ext in (manifest["source_ext"], manifest["target_ext"]):
                shutil.copy(dataset / "train" / f"{name}.{ext}", folder / "train")
        shutil.copytree(dataset / "val", folder / "val")
        if manifest.get("grammar"):
            shutil.copy(dataset / manifest["grammar"], folder)
        (folder / "manifest.json").write_text(json.dumps(manifest | {"patterns": {}}), encoding="utf-8")
        out.append(folder)
    return out


def experience(*args: str, cache: Path) -> str:
    """Run the `experience` CLI; its stdout (stderr shown on failure)."""
    cmd = [sys.executable, "-m", "experience_daemon.cli", *args, "--cache", str(cache)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed:\n{done.stderr[-3000:]}")
    return done.stdout


def main() -> None:
    """Train both halves, merge with --eval, score zero-shot; write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "merge.json"))
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--policy", default="trust", choices=("both", "trust", "llm"))
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-merge-"))
    cache = work / "cache.sqlite"
    started = time.perf_counter()
    result: dict[str, Any] = {"created": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "policy": args.policy}
    try:
        data = halves(ROOT / "datasets" / "viba", work)
        runs = [work / "run-a", work / "run-b"]
        for folder, run in zip(data, runs, strict=True):
            train = ["train", "--dataset", str(folder), "--run-dir", str(run), "--epochs", str(args.epochs)]
            experience(*train, "--quiet", cache=cache)
        merge = ["merge", str(runs[0]), str(runs[1]), "--out", str(work / "merged"), "--policy", args.policy]
        merged = json.loads(experience(*merge, "--eval", "--dataset", str(ROOT / "datasets" / "viba"), cache=cache))
        zero = ["eval", "--run-dir", str(work / "zero"), "--dataset", str(ROOT / "datasets" / "viba"), "--json"]
        scores = {Path(k).name: v for k, v in merged.pop("eval")["runs"].items()}
        scores["zero-shot"] = json.loads(experience(*zero, cache=cache))
        result |= {"merge": merged, "val": scores}
        result["train_pairs"] = [len(list((d / "train").iterdir())) // 2 for d in data]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    result["duration_s"] = round(time.perf_counter() - started, 1)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result["val"], indent=2))


if __name__ == "__main__":
    main()
