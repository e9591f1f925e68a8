"""Benchmark: merge two runs trained on different halves of datasets/viba, held-out loss next to each half's.

Usage: python bench/bench_merge.py [--out bench/results/merge.json] [--epochs 1] [--seeds 3] [--policy trust]

Runs the commands a user runs, per seed: `experience train` on each half (train pairs alternate between the
halves, val is the dataset's own) and on the whole train split, then `experience merge A B --out C --eval`
(the merged run and both halves scored on viba val with the same local model, temperature 0) and `experience
eval` of the whole-split run; once, `experience eval` of an empty run (zero-shot).
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


def one_seed(data: list[Path], work: Path, seed: int, epochs: int, policy: str, cache: Path) -> dict[str, Any]:
    """Train both halves and the whole train split with one seed, merge the halves with --eval; val scores."""
    viba = str(ROOT / "datasets" / "viba")
    runs = [work / f"run-a-{seed}", work / f"run-b-{seed}"]
    common = ["--epochs", str(epochs), "--seed", str(seed), "--quiet"]
    for folder, run in zip(data, runs, strict=True):
        experience("train", "--dataset", str(folder), "--run-dir", str(run), *common, cache=cache)
    whole = work / f"run-all-{seed}"
    experience("train", "--dataset", viba, "--run-dir", str(whole), *common, cache=cache)
    merge = ["merge", str(runs[0]), str(runs[1]), "--out", str(work / f"merged-{seed}"), "--policy", policy]
    merged = json.loads(experience(*merge, "--eval", "--dataset", viba, cache=cache))
    scores = {Path(k).name.rsplit("-", 1)[0]: v for k, v in merged.pop("eval")["runs"].items()}
    scores["run-all"] = json.loads(experience("eval", "--run-dir", str(whole), "--json", cache=cache))
    return {"merge": merged, "val": scores}


def spread(values: list[float]) -> dict[str, float]:
    """Mean and sample std (0 for one value)."""
    mean = sum(values) / len(values)
    std = (sum((v - mean) ** 2 for v in values) / (len(values) - 1)) ** 0.5 if len(values) > 1 else 0.0
    return {"mean": round(mean, 4), "std": round(std, 4), "n": len(values)}


def main() -> None:
    """Per seed: train both halves and the whole split, merge with --eval; zero-shot once; write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "merge.json"))
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--seeds", type=int, default=3, help="seeds 0..N-1 of the training runs")
    parser.add_argument("--policy", default="trust", choices=("both", "trust", "llm"))
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-merge-"))
    cache = work / "cache.sqlite"
    started = time.perf_counter()
    result: dict[str, Any] = {"created": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "policy": args.policy}
    try:
        data = halves(ROOT / "datasets" / "viba", work)
        per_seed = {str(s): one_seed(data, work, s, args.epochs, args.policy, cache) for s in range(args.seeds)}
        zero = ["eval", "--run-dir", str(work / "zero"), "--dataset", str(ROOT / "datasets" / "viba"), "--json"]
        result["zero_shot"] = json.loads(experience(*zero, cache=cache))
        result["per_seed"] = per_seed
        names = ("run-a", "run-b", "merged", "run-all")
        result["val_loss"] = {n: spread([float(r["val"][n]["loss"]) for r in per_seed.values()]) for n in names}
        result["train_pairs"] = [len(list((d / "train").iterdir())) // 2 for d in data]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    result["duration_s"] = round(time.perf_counter() - started, 1)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps({"val_loss": result["val_loss"], "zero_shot": result["zero_shot"]}, indent=2))


if __name__ == "__main__":
    main()
