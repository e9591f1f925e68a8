"""One writer, always current: rollback, re-based accepts, edits refused mid-training, no stale coefficients."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import pytest
from daemon_client import StartDaemon
from pygls.exceptions import JsonRpcException

from doubles import ScriptedBackend
from experience.kernel import Kernel
from experience.tasks.dataset import load_dataset
from experience.train.run_dir import RunDir
from experience.train.trainer import Trainer
from learning_fixtures import copying_translator, files


def coefficients(run_dir: Path) -> list[float]:
    """The experience's coefficients as stored in tensor.json."""
    data: list[float] = json.loads((run_dir / "experience" / "tensor.json").read_text("utf-8"))["coeff"]
    return data


async def test_rollback_over_stdio_restores_the_files_and_reports_changes(
    start: StartDaemon, run_dir: Path, dataset: Path
) -> None:
    daemon = await start()
    train = {"runDir": str(run_dir), "dataset": str(dataset), "epochs": 1, "rows": 6, "batchSize": 1, "maxSteps": 2}
    await daemon.request("experience/train", train)
    copy = files(run_dir / "experience")
    await daemon.request("experience/train", {"runDir": str(run_dir), "resume": True, "epochs": 1})
    assert files(run_dir / "experience") != copy
    result = await daemon.request("experience/rollback", {"runDir": str(run_dir), "toStep": 2})
    assert result["step"] == 2 and result["undone"] == [3, 4] and result["restored"] > 0
    assert files(run_dir / "experience") == copy
    await daemon.wait_for(lambda: daemon.changes(origin="rollback"), "entry changes from the rollback")
    summary = await daemon.request("experience/openRun", {"runDir": str(run_dir)})
    assert summary["step"] == 2 and summary["grad"] == "example" and summary["capacity"] == "evict"
    with pytest.raises(JsonRpcException) as caught:
        await daemon.request("experience/rollback", {"runDir": str(run_dir), "toStep": 7})
    assert "steps 0..2" in caught.value.message


async def test_two_staged_patches_for_one_row_never_concatenate(
    start: StartDaemon, run_dir: Path, dataset: Path
) -> None:
    daemon = await start()
    train = {"runDir": str(run_dir), "dataset": str(dataset), "epochs": 1, "rows": 6, "batchSize": 2, "maxSteps": 1}
    await daemon.request("experience/train", {**train, "review": True})
    keys = [p for p in await daemon.request("experience/patches", {"runDir": str(run_dir)}) if p["column"] == "key"]
    first, second = keys[0], keys[1]
    stored = json.loads((run_dir / "patches" / "000001.json").read_text("utf-8"))
    for record in stored:  # the second patch now targets the first one's row, as two steps' cold starts can
        if record["id"] == second["id"]:
            record["row"] = first["row"]
    (run_dir / "patches" / "000001.json").write_text(json.dumps(stored), encoding="utf-8")
    await daemon.request("experience/acceptPatch", {"runDir": str(run_dir), "patchId": first["id"]})
    where = {"runDir": str(run_dir), "row": first["row"], "column": "key"}
    text = (await daemon.request("experience/readEntry", where))["text"]
    with pytest.raises(JsonRpcException) as caught:
        await daemon.request("experience/acceptPatch", {"runDir": str(run_dir), "patchId": second["id"]})
    assert caught.value.code == -32005 and f"row {first['row']}" in caught.value.message
    assert (await daemon.request("experience/readEntry", where))["text"] == text  # not B + A


async def test_an_edit_during_this_daemons_training_is_refused_not_lost(
    start: StartDaemon, run_dir: Path, dataset: Path
) -> None:
    daemon = await start(backend="slow")
    train = {"runDir": str(run_dir), "dataset": str(dataset), "epochs": 1, "rows": 6, "batchSize": 1}
    job = asyncio.ensure_future(daemon.request("experience/train", train, timeout=120))
    await daemon.wait_for(lambda: (run_dir / "run.json").exists(), "the run to exist")

    async def running() -> bool:
        status = await daemon.request("experience/status", {"runDir": str(run_dir)})
        return bool(status["runs"][0]["job"])

    for _ in range(100):
        if await running():
            break
        await asyncio.sleep(0.05)
    where = {"runDir": str(run_dir), "row": 0, "column": "key"}
    current = await daemon.request("experience/readEntry", where)
    with pytest.raises(JsonRpcException) as caught:
        await daemon.request("experience/writeEntry", {**where, "text": "mine\n", "version": current["version"]})
    assert caught.value.code == -32003 and "retry" in caught.value.message
    await daemon.request("experience/cancel", {"runDir": str(run_dir)})
    await job


async def test_an_edit_after_training_elsewhere_keeps_what_the_other_process_learned(
    start: StartDaemon, run_dir: Path, dataset: Path
) -> None:
    daemon = await start()
    train = {"runDir": str(run_dir), "dataset": str(dataset), "epochs": 1, "rows": 6, "batchSize": 2, "maxSteps": 1}
    await daemon.request("experience/train", train)
    await daemon.request("experience/openRun", {"runDir": str(run_dir)})
    run = RunDir.open(run_dir)  # another writer: this test process, as `experience train --resume` would
    with run.lock():
        Trainer(run, load_dataset(run.config.dataset), Kernel(ScriptedBackend(copying_translator))).train(1)
    learned = coefficients(run_dir)
    assert os.environ.get("EXPERIENCE_TEST_BACKEND") is None  # the daemon, not this process, uses the double
    entries = await daemon.request("experience/listEntries", {"runDir": str(run_dir)})
    empty = next(e["row"] for e in entries if not e["filled"])
    where = {"runDir": str(run_dir), "row": empty, "column": "key"}
    current = await daemon.request("experience/readEntry", where)
    await daemon.request(
        "experience/writeEntry", {**where, "text": "def mine():\n    pass\n", "version": current["version"]}
    )
    after = coefficients(run_dir)
    assert [c for i, c in enumerate(after) if i != 3 * empty + 1] == [
        c for i, c in enumerate(learned) if i != 3 * empty + 1
    ]
    assert after[3 * empty + 1] == 1.0
    summary = await daemon.request("experience/openRun", {"runDir": str(run_dir)})
    assert summary["step"] == RunDir.open(run_dir).state.step
