"""One training run through the daemon with the real local model (SmolLM2 via llama.cpp): tiny and slow."""

from __future__ import annotations

from pathlib import Path

import pytest
from daemon_client import StartDaemon
from daemon_doubles import PAIRS, write_dataset
from lsprotocol import types


@pytest.mark.llm
async def test_the_daemon_trains_with_the_local_model(
    start: StartDaemon, tmp_path: Path, local_model_path: Path
) -> None:
    pairs = {"train": dict(list(PAIRS["train"].items())[:2]), "val": PAIRS["val"]}
    dataset = write_dataset(tmp_path, pairs, name="two")
    run_dir = tmp_path / "run"
    daemon = await start(backend=None)  # no test backend: the default local model
    params = {"runDir": str(run_dir), "dataset": str(dataset), "epochs": 1, "rows": 4, "batchSize": 2}
    result = await daemon.request("experience/train", params, timeout=600)
    assert result["step"] == 1 and result["epoch"] == 1
    assert result["split"] == "val" and result["n"] == 1 and 0.0 <= result["loss"] <= 1.0
    records = [m["record"] for m in daemon.notes["experience/metrics"]]
    assert [r["split"] for r in records] == ["train", "val"]
    assert records[0]["backend"] == "local" and records[0]["calls"] >= 2
    (_token, reports), *_ = daemon.progress().items()
    assert isinstance(reports[-1], types.WorkDoneProgressEnd)
    entries = await daemon.request("experience/listEntries", {"runDir": str(run_dir)})
    assert any(e["filled"] for e in entries)  # the step wrote experience from the model's outputs
