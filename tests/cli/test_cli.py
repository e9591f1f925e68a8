"""The `experience` CLI as a user runs it: a subprocess, real local model, real files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from learning_fixtures import write_dataset


def experience(*args: str, env: dict[str, str] | None = None, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run `experience ARGS` (via the module, so the checkout is what runs)."""
    return subprocess.run(
        [sys.executable, "-m", "experience_daemon.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


@pytest.mark.llm
def test_train_eval_show_with_the_local_model_and_a_warm_cache(tmp_path: Path, local_model_path: Path) -> None:
    dataset = write_dataset(tmp_path)
    cache = str(tmp_path / "cache.sqlite")
    run = tmp_path / "run dir é"
    train = ("train", "--dataset", str(dataset), "--run-dir", str(run), "--epochs", "1", "--batch-size", "2")
    first = experience(*train, "--cache", cache)
    assert first.returncode == 0, first.stderr
    result = json.loads(first.stdout)
    assert result["step"] == 2 and 0.0 <= result["loss"] <= 1.0
    metrics = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert metrics[0]["backend"] == "local" and metrics[0]["calls"] > 0
    assert metrics[0]["model"].startswith("SmolLM2")
    filled = [p for p in (run / "experience").iterdir() if p.is_dir() and (p / "value.viba").read_text()]
    assert filled, "training wrote no experience"
    assert "step " in first.stderr  # progress lines went to stderr, JSON to stdout

    ev = experience("eval", "--run-dir", str(run), "--json", "--cache", cache, "--quiet")
    assert ev.returncode == 0, ev.stderr
    assert set(json.loads(ev.stdout)) == {"loss", "exact", "n"}

    shown = experience("show", "--run-dir", str(run))
    assert shown.returncode == 0 and f"{len(filled)}/" in shown.stdout

    # the same command again: the old run is moved aside and every LLM call is a cache hit
    again = experience(*train, "--cache", cache)
    assert again.returncode == 0, again.stderr
    rerun = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert sum(r["calls"] for r in rerun) == 0 and sum(r["cache_hits"] for r in rerun) > 0
    assert [r["loss"] for r in rerun] == [r["loss"] for r in metrics]
    assert list(tmp_path.glob("run dir é.bak-*")), "the previous run was not kept"


def test_clear_errors(tmp_path: Path) -> None:
    dataset = write_dataset(tmp_path)
    missing_model = experience(
        "train",
        "--dataset",
        str(dataset),
        "--run-dir",
        str(tmp_path / "a"),
        "--model",
        str(tmp_path / "nope.gguf"),
        "--no-cache",
    )
    assert missing_model.returncode == 2 and "nope.gguf" in missing_model.stderr
    unreachable = experience(
        "train",
        "--dataset",
        str(dataset),
        "--run-dir",
        str(tmp_path / "b"),
        "--backend",
        "openai",
        "--base-url",
        "http://127.0.0.1:9/v1",
        "--model",
        "m",
        "--no-cache",
        env={"LLM_API_KEY": "x"},
    )
    assert unreachable.returncode == 2 and "127.0.0.1:9" in unreachable.stderr
    empty = tmp_path / "empty"
    empty.mkdir()
    no_data = experience("train", "--dataset", str(empty), "--run-dir", str(tmp_path / "c"))
    assert (no_data.returncode == 2 and "empty" in no_data.stderr.lower()) or "no " in no_data.stderr
    (empty / "manifest.json").write_text("{")
    malformed = experience("train", "--dataset", str(empty), "--run-dir", str(tmp_path / "d"))
    assert malformed.returncode == 2 and "malformed" in malformed.stderr
    no_run = experience("eval", "--run-dir", str(tmp_path / "none"))
    assert no_run.returncode == 2 and "--dataset" in no_run.stderr
    for out in (missing_model, unreachable, no_data, malformed, no_run):
        assert "Traceback" not in out.stderr
