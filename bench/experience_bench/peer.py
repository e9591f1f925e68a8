"""A peer method run for real: DSPy's BootstrapFewShot against the local model behind llama_cpp.server.

The peer runs in a child process (`python -m experience_bench.peer_dspy`) with the interpreter named by
$EXPERIENCE_BENCH_PYTHON (default: this one), so a missing, broken or hanging dspy is recorded as data
and never crashes the bench. Its answers are scored here exactly like every other method's.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from experience.kernel.serve import SERVER_ALIAS, llama_server
from experience.tasks.dataset import Dataset
from experience_bench.common import score

PYTHON_ENV = "EXPERIENCE_BENCH_PYTHON"


def peer_python() -> str:
    """The interpreter that runs the peer method ($EXPERIENCE_BENCH_PYTHON, else this one)."""
    return os.environ.get(PYTHON_ENV) or sys.executable


def process_peak_rss_mb(pid: int) -> float | None:
    """Peak resident memory (VmHWM) of a running process in MiB; None where /proc cannot tell."""
    try:
        status = Path(f"/proc/{pid}/status").read_text(encoding="utf-8")
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return None


def run_child(job: dict[str, Any], timeout: float) -> dict[str, Any]:
    """Run peer_dspy in a child interpreter; its JSON result, or {"error": ...} on any failure."""
    command = [peer_python(), "-m", "experience_bench.peer_dspy"]
    env = dict(os.environ)
    here = str(Path(__file__).resolve().parents[1])  # the folder holding experience_bench, for another interpreter
    env["PYTHONPATH"] = os.pathsep.join(p for p in (here, env.get("PYTHONPATH", "")) if p)
    try:
        done = subprocess.run(
            command, input=json.dumps(job), capture_output=True, text=True, timeout=timeout, env=env, check=False
        )
    except subprocess.TimeoutExpired:
        return {"error": f"the DSPy run did not finish within {timeout:.0f} s"}
    except OSError as error:
        return {"error": f"could not start {command[0]}: {error}"}
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if not lines:
        return {"error": f"no result (exit {done.returncode}): {done.stderr[-800:]}"}
    try:
        result: dict[str, Any] = json.loads(lines[-1])
    except ValueError as error:
        return {"error": f"unreadable result ({error}): {lines[-1][:300]}"}
    return result


def dspy_available() -> str | None:
    """None when the peer interpreter can import dspy, else the reason it cannot."""
    probe = [peer_python(), "-c", "import dspy; print(dspy.__version__)"]
    try:
        done = subprocess.run(probe, capture_output=True, text=True, timeout=120, check=False)
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"cannot run {probe[0]}: {error}"
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["unknown error"])[-1]
        return f"dspy is not importable by {probe[0]} ({last}); install it with: pip install 'experience[bench]'"
    return None


def dspy_baseline(
    datasets: Sequence[tuple[Dataset, Sequence[str]]],
    work: Path,
    *,
    k: int = 3,
    train_size: int = 8,
    max_tokens: int = 256,
    timeout: float = 600.0,
) -> dict[str, Any]:
    """BootstrapFewShot (k demos, metric = exact answer) per dataset; scores with parse failures as empty answers."""
    out: dict[str, Any] = {
        "method": f"DSPy BootstrapFewShot (k={k}, dspy.Predict, exact-match metric)",
        "k": k,
        "train_size": train_size,
        "max_tokens": max_tokens,
    }
    reason = dspy_available()
    if reason is not None:
        return out | {"status": "not run", "reason": reason}
    out["python"] = peer_python()
    results: dict[str, Any] = {}
    try:
        with llama_server(work / "llama-server.log") as (base_url, pid):
            out["server"] = {"command": "python -m llama_cpp.server", "n_threads": 2, "n_ctx": 4096}
            for dataset, splits in datasets:
                results[dataset.name] = _one_dataset(dataset, splits, base_url, k, train_size, max_tokens, timeout)
            out["server"]["peak_rss_mb"] = process_peak_rss_mb(pid)
    except Exception as error:
        return out | {"status": "failed", "reason": f"{type(error).__name__}: {error}", "datasets": results}
    failed = [name for name, r in results.items() if "error" in r]
    status = "ok" if not failed else "failed" if len(failed) == len(results) else "partial"
    return out | {"status": status, "datasets": results}


def _one_dataset(
    dataset: Dataset, splits: Sequence[str], base_url: str, k: int, train_size: int, max_tokens: int, timeout: float
) -> dict[str, Any]:
    train = dataset.split("train")[:train_size]
    job = {
        "base_url": base_url,
        "model": SERVER_ALIAS,
        "task_prompt": dataset.task_prompt,
        "max_tokens": max_tokens,
        "k": k,
        "train": [[p.source, p.target] for p in train],
        "splits": {s: [p.source for p in dataset.split(s)] for s in splits},
    }
    result = run_child(job, timeout)
    if "error" in result:
        return {"error": result["error"]}
    keys = ("dspy", "compile_seconds", "demos", "bootstrapped_demos", "compile_usage", "usage")
    summary: dict[str, Any] = {key: result.get(key) for key in keys}
    usage = result.get("usage") or {}
    summary["max_tokens_held"] = int(usage.get("longest", 0)) <= max_tokens
    summary["splits"] = {}
    for split in splits:
        got = result["splits"][split]
        pairs = dataset.split(split)
        scored = score(dataset, pairs, got["outputs"])
        summary["splits"][split] = {
            "n": scored.n,
            "loss": round(scored.loss, 4),
            "exact": round(scored.exact, 4),
            "parse_failures": got["parse_failures"],
            "note": "unparsed answers count as empty (loss 1)" if got["parse_failures"] else "",
            "errors": got["errors"],
            "calls_per_sample": round(got["calls"] / max(len(pairs), 1), 3),
            "seconds_per_sample": round(got["seconds"] / max(len(pairs), 1), 3),
        }
    return summary
