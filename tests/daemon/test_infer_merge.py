"""experience/infer and experience/mergeRuns over a real stdio daemon."""

from __future__ import annotations

from pathlib import Path

import pytest
from daemon_client import StartDaemon
from pygls.exceptions import JsonRpcException

from learning_fixtures import PAIRS, files


async def test_infer_answers_with_the_rows_used_and_writes_nothing(
    start: StartDaemon, run_dir: Path, dataset: Path
) -> None:
    daemon = await start()
    train = {"runDir": str(run_dir), "dataset": str(dataset), "epochs": 1, "rows": 6, "batchSize": 1}
    await daemon.request("experience/train", train | {"query": "lexical"})
    before = files(run_dir)
    source = PAIRS["val"]["add_one"][0]
    got = await daemon.request("experience/infer", {"runDir": str(run_dir), "inputs": [source, source]})
    assert len(got["answers"]) == 2 and got["answers"][0] == got["answers"][1]
    answer = got["answers"][0]
    assert answer["step"] == 4 and answer["rows"] and Path(answer["rows"][0]["valuePath"]).is_file()
    assert answer["answer"].startswith("add_one :=")  # the scripted model copies the best row's value, renamed
    assert files(run_dir) == before
    with pytest.raises(JsonRpcException) as caught:
        await daemon.request("experience/infer", {"runDir": str(run_dir), "inputs": ["  "]})
    assert "non-empty" in caught.value.message


async def test_merge_runs_over_stdio(start: StartDaemon, tmp_path: Path, dataset: Path) -> None:
    daemon = await start()
    runs = [tmp_path / "runs" / name for name in ("a", "b")]
    for seed, run in enumerate(runs):
        params = {"runDir": str(run), "dataset": str(dataset), "epochs": 1, "rows": 6, "batchSize": 1, "seed": seed}
        await daemon.request("experience/train", params)
    out = tmp_path / "runs" / "merged"
    result = await daemon.request("experience/mergeRuns", {"runDirs": [str(r) for r in runs], "out": str(out)})
    assert result["rows"] == 4 and result["identical"] == 4 and result["policy"] == "trust"
    summary = await daemon.request("experience/openRun", {"runDir": str(out)})
    assert summary["filled"] == 4
    with pytest.raises(JsonRpcException) as caught:
        await daemon.request("experience/mergeRuns", {"runDirs": [str(r) for r in runs], "out": str(out)})
    assert "already exists" in caught.value.message
