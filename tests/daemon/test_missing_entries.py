"""The daemon over stdio: a deleted row folder is reported, NaN never reaches the wire, bad input makes nothing."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from daemon_client import Daemon
from pygls.exceptions import JsonRpcException

from experience.train.run_dir import RunConfig, RunDir


def new_run(run_dir: Path, dataset: Path, rows: int = 4) -> RunDir:
    """A fresh run made on disk (no training), as another process would leave it."""
    config = RunConfig(dataset=str(dataset), source_ext="py", target_ext="viba", task_prompt="T", rows=rows)
    return RunDir.create(run_dir, config)


async def error_of(daemon: Daemon, method: str, params: Any) -> JsonRpcException:
    """The JSON-RPC error a request is answered with."""
    with pytest.raises(JsonRpcException) as caught:
        await daemon.request(method, params)
    return caught.value


async def test_list_entries_marks_a_deleted_row_folder_missing(daemon: Daemon, run_dir: Path, dataset: Path) -> None:
    new_run(run_dir, dataset)
    shutil.rmtree(run_dir / "experience" / "0002")
    where = {"runDir": str(run_dir)}
    entries = await daemon.request("experience/listEntries", where)
    assert [e["missing"] for e in entries] == [False, False, True, False]
    assert entries[2]["filled"] is False and entries[2]["query"] == []
    shutil.rmtree(run_dir / "experience" / "0000")  # deleted while the run is open
    entries = await daemon.request("experience/listEntries", where)
    assert [e["missing"] for e in entries] == [True, False, True, False]
    text = await daemon.request("experience/readEntry", {**where, "row": 2, "column": "key"})
    assert text["text"] == ""


async def test_nonfinite_metrics_reach_the_client_as_null(daemon: Daemon, run_dir: Path, dataset: Path) -> None:
    new_run(run_dir, dataset)
    record = '{"step": 1, "split": "val", "loss": NaN, "exact": Infinity}\n'  # as an old writer could leave it
    (run_dir / "metrics.jsonl").write_text(record, encoding="utf-8")
    summary = await daemon.request("experience/openRun", {"runDir": str(run_dir)})
    last = summary["lastMetrics"]
    assert last["loss"] is None and last["exact"] is None and sorted(last["nonfinite"]) == ["exact", "loss"]
    status = await daemon.request("experience/status", {"runDir": str(run_dir)})
    assert status["runs"][0]["lastMetrics"] == last


async def test_train_with_bad_options_is_invalid_params_and_makes_nothing(
    daemon: Daemon, run_dir: Path, dataset: Path
) -> None:
    params = {"runDir": str(run_dir), "dataset": str(dataset), "epochs": 1, "batchSize": 0, "lr": 2.0}
    error = await error_of(daemon, "experience/train", params)
    assert error.code == -32602 and "--batch-size (batchSize)" in error.message and "lr" in error.message
    assert error.data["kind"] == "invalidParams" and len(error.data["problems"]) == 2
    assert not run_dir.exists() and not run_dir.parent.exists()
    status = await daemon.request("experience/status", {})
    assert status["runs"] == []


async def test_a_run_with_a_crafted_layout_is_refused(daemon: Daemon, run_dir: Path, dataset: Path) -> None:
    new_run(run_dir, dataset)
    meta_path = run_dir / "experience" / "tensor.json"
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    meta["layout"]["target_ext"] = "viba/../../../../outside.txt"
    meta_path.write_text(json.dumps(meta), encoding="utf-8")
    error = await error_of(daemon, "experience/readEntry", {"runDir": str(run_dir), "row": 0, "column": "value"})
    assert error.code == -32803 and str(meta_path) in error.message and "layout" in error.message
    assert error.data["kind"] == "TensorDirectoryError"
    assert (await daemon.request("experience/status", {}))["runs"] == []  # and the daemon serves on
