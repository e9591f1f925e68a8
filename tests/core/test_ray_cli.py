"""`experience train/eval --executor ray --workers 2` as a user runs them: a subprocess, a local Ray instance."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from learning_fixtures import files, write_dataset


def experience(*args: str, timeout: float = 900, path: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run `experience ARGS` (via the module, so the checkout is what runs); `path` goes first on PYTHONPATH."""
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    if path is not None:
        env["PYTHONPATH"] = os.pathsep.join([path, env.get("PYTHONPATH", "")])
    return subprocess.run(
        [sys.executable, "-m", "experience_daemon.cli", *args], capture_output=True, text=True, timeout=timeout, env=env
    )


def test_without_ray_installed_the_cli_names_the_extra(tmp_path: Path) -> None:
    shadow = tmp_path / "shadow" / "ray"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text('raise ImportError("No module named ray")\n')  # as if ray were absent
    run = tmp_path / "run"
    args = ("--dataset", str(write_dataset(tmp_path)), "--run-dir", str(run), "--executor", "ray", "--quiet")
    done = experience("train", *args, path=str(shadow.parent))
    assert done.returncode == 2 and "pip install -e '.[ray]'" in done.stderr, done.stderr
    assert not run.exists()


def test_bad_executor_options_fail_before_anything_is_created(tmp_path: Path) -> None:
    dataset = str(write_dataset(tmp_path))
    run = tmp_path / "run"
    for extra, message in [
        (("--workers", "2"), "--workers 2 needs --executor ray"),
        (("--executor", "ray", "--workers", "0"), "--workers must be a whole number >= 1, got 0"),
    ]:
        done = experience("train", "--dataset", dataset, "--run-dir", str(run), *extra, "--quiet")
        assert done.returncode == 2 and message in done.stderr, done.stderr
        assert not run.exists()


@pytest.mark.llm
def test_train_on_two_ray_workers_writes_the_in_process_run(tmp_path: Path, local_model_path: Path) -> None:
    pytest.importorskip("ray")
    dataset = str(write_dataset(tmp_path))
    cache = str(tmp_path / "cache.sqlite")
    common = ("--dataset", dataset, "--epochs", "1", "--batch-size", "2", "--cache", cache, "--quiet")
    ray_run, here_run = tmp_path / "ray", tmp_path / "inprocess"
    first = experience("train", "--run-dir", str(ray_run), "--executor", "ray", "--workers", "2", *common)
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["step"] == 2
    config = json.loads((ray_run / "run.json").read_text())["config"]
    assert (config["executor"], config["workers"]) == ("ray", 2)
    metrics = [json.loads(line) for line in (ray_run / "metrics.jsonl").read_text().splitlines()]
    assert metrics[0]["backend"] == "local" and metrics[0]["model"].startswith("SmolLM2")
    assert sum(m["calls"] for m in metrics) > 0  # the workers' llama.cpp answered (the cache was empty)
    # the same answers (now cached) in-process: the same run dir, file for file
    second = experience("train", "--run-dir", str(here_run), *common)
    assert second.returncode == 0, second.stderr
    assert files(ray_run / "experience") == files(here_run / "experience")
    assert files(ray_run / "patches") == files(here_run / "patches")
    assert {p.name for p in ray_run.iterdir()} == {p.name for p in here_run.iterdir()}
    # eval of a ray run uses the run's executor
    ev = experience("eval", "--run-dir", str(ray_run), "--json", "--cache", cache, "--quiet")
    assert ev.returncode == 0, ev.stderr
    assert set(json.loads(ev.stdout)) >= {"loss", "exact", "n"}
