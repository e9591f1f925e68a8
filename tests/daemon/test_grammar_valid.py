"""The daemon over stdio: the grammar setting of a run and the `valid` metric in results and notifications."""

from __future__ import annotations

from pathlib import Path

import pytest
from daemon_client import Daemon
from pygls.exceptions import JsonRpcException

from learning_fixtures import with_viba_checks


async def test_valid_in_train_evaluate_and_metrics_and_grammar_in_the_summary(
    daemon: Daemon, run_dir: Path, dataset: Path
) -> None:
    params = {"runDir": str(run_dir), "dataset": str(with_viba_checks(dataset)), "epochs": 1, "rows": 6}
    result = await daemon.request("experience/train", params | {"batchSize": 2, "query": "lexical"})
    assert 0.0 <= result["valid"] <= 1.0
    records = [m["record"] for m in daemon.notes["experience/metrics"]]
    assert [r["split"] for r in records] == ["train", "train", "val"]
    assert all(0.0 <= r["valid"] <= 1.0 for r in records)
    evaluated = await daemon.request("experience/evaluate", {"runDir": str(run_dir), "split": "train"})
    assert set(evaluated) == {"loss", "exact", "valid", "n"}
    free = await daemon.request("experience/evaluate", {"runDir": str(run_dir), "grammar": "off", "record": False})
    assert set(free) == {"loss", "exact", "valid", "n"}  # an evaluation may answer free; the run stays "on"
    with pytest.raises(JsonRpcException, match="grammar"):
        await daemon.request("experience/evaluate", {"runDir": str(run_dir), "grammar": "maybe"})
    summary = await daemon.request("experience/openRun", {"runDir": str(run_dir)})
    assert summary["grammar"] == "on"  # the dataset names a grammar: on by default


async def test_grammar_off_and_no_checker(daemon: Daemon, run_dir: Path, dataset: Path) -> None:
    params = {"runDir": str(run_dir), "dataset": str(dataset), "epochs": 1, "rows": 6, "grammar": "off"}
    result = await daemon.request("experience/train", params)
    assert "valid" not in result  # no checker: no valid, never a made-up 1.0
    assert (await daemon.request("experience/openRun", {"runDir": str(run_dir)}))["grammar"] == "off"
    evaluated = await daemon.request("experience/evaluate", {"runDir": str(run_dir)})
    assert set(evaluated) == {"loss", "exact", "n"}


async def test_grammar_on_needs_a_dataset_grammar(daemon: Daemon, run_dir: Path, dataset: Path) -> None:
    params = {"runDir": str(run_dir), "dataset": str(dataset), "epochs": 1, "grammar": "on"}
    with pytest.raises(JsonRpcException, match="names no grammar"):
        await daemon.request("experience/train", params)
    assert not (run_dir / "run.json").exists()
    with pytest.raises(JsonRpcException, match="grammar"):
        await daemon.request("experience/train", params | {"grammar": "maybe"})
