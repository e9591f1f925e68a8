"""The CLI with the local model: training with embeddings offline, one call per sample, infer and merge --eval."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from learning_fixtures import PAIRS, write_dataset

DEAD_PROXY = "http://127.0.0.1:9"  # any attempt to reach the network through a proxy fails at once


def experience(*args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """Run `experience ARGS` (the checkout's module) with every proxy pointing at a closed port."""
    env = {**os.environ, "HTTP_PROXY": DEAD_PROXY, "HTTPS_PROXY": DEAD_PROXY, "ALL_PROXY": DEAD_PROXY}
    env = {k: v for k, v in env.items() if k not in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "NO_PROXY", "no_proxy")}
    cmd = [sys.executable, "-m", "experience_daemon.cli", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)


@pytest.mark.llm
def test_embedding_runs_offline_with_one_call_per_sample_then_infer_and_merge(
    tmp_path: Path, local_model_path: Path
) -> None:
    dataset = write_dataset(tmp_path)
    cache = str(tmp_path / "cache.sqlite")
    runs = [tmp_path / "emb", tmp_path / "jac"]
    for run, retriever in zip(runs, ("embedding", "jaccard"), strict=True):
        train = ["train", "--dataset", str(dataset), "--run-dir", str(run), "--epochs", "1", "--batch-size", "2"]
        done = experience(*train, "--retriever", retriever, "--query", "lexical", "--cache", cache)
        assert done.returncode == 0, done.stderr
        assert json.loads((run / "run.json").read_text())["config"]["retriever"] == retriever
        steps = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
        train_steps = [r for r in steps if r["split"] == "train"]
        assert train_steps and all(r["calls"] + r["cache_hits"] <= r["n"] for r in train_steps)  # <= 1 per sample
        assert all(r["requests_per_sample"] <= 1.0 for r in train_steps)
    source = tmp_path / "add_one.py"
    source.write_text(PAIRS["val"]["add_one"][0], encoding="utf-8")
    answered = experience("infer", "--run-dir", str(runs[0]), str(source), "--json")
    assert answered.returncode == 0, answered.stderr
    answer = json.loads(answered.stdout)["answers"][0]
    assert answer["answer"].strip() and answer["rows"], "a trained run answers with the rows it retrieved"
    merged = experience("merge", *map(str, runs), "--out", str(tmp_path / "merged"), "--eval", "--cache", cache)
    assert merged.returncode == 0, merged.stderr
    report = json.loads(merged.stdout)
    assert report["identical"] >= 1 and set(report["eval"]["runs"]) == {*map(str, runs), str(tmp_path / "merged")}
    assert all(0.0 <= s["loss"] <= 1.0 and s["n"] == 1 for s in report["eval"]["runs"].values())
    assert "val loss" in merged.stderr
