"""The daemon over stdio: training with progress, one step, evaluation, cancellation, and the run lock."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from daemon_client import ROOT, Daemon, StartDaemon, daemon_env
from daemon_doubles import PAIRS, write_dataset
from lsprotocol import types
from pygls.exceptions import JsonRpcException

from experience.train.run_dir import RunDir

LONG = {"epochs": 20, "rows": 6, "batchSize": 2}  # 40 steps of ~1.2 s with the slow backend


def params(run_dir: Path, dataset: Path, **extra: Any) -> dict[str, Any]:
    """Train params of a small run."""
    return {"runDir": str(run_dir), "dataset": str(dataset), "epochs": 1, "rows": 6, "batchSize": 2, **extra}


async def first_step(daemon: Daemon, run_dir: Path) -> None:
    """Wait until the run reported a training step."""
    await daemon.wait_for(
        lambda: [m for m in daemon.notes["experience/metrics"] if m["runDir"] == str(run_dir)], "a step", 60
    )


async def test_train_reports_server_created_progress_metrics_and_changes(
    daemon: Daemon, run_dir: Path, dataset: Path
) -> None:
    result = await daemon.request("experience/train", params(run_dir, dataset))
    assert result["runDir"] == str(run_dir) and result["step"] == 2 and result["epoch"] == 1
    assert result["split"] == "val" and result["n"] == 1 and 0.0 <= result["loss"] <= 1.0
    (token, reports), *others = daemon.progress().items()
    assert others == [] and str(token).startswith("experience-")  # created by the server, before `begin`
    assert isinstance(reports[0], types.WorkDoneProgressBegin) and reports[0].cancellable
    assert isinstance(reports[-1], types.WorkDoneProgressEnd) and "loss" in (reports[-1].message or "")
    steps = [r for r in reports if isinstance(r, types.WorkDoneProgressReport) and "step" in (r.message or "")]
    assert [r.percentage for r in steps] == [50, 100]
    records = [m["record"] for m in daemon.notes["experience/metrics"]]
    assert [(r["split"], r["step"]) for r in records] == [("train", 1), ("train", 2), ("val", 2)]
    assert records[0]["backend"] == "scripted"
    changed = daemon.changes(origin="patch", column="key")
    assert changed and all(c["runDir"] == str(run_dir) for c in changed)


async def test_step_and_evaluate(daemon: Daemon, run_dir: Path, dataset: Path) -> None:
    await daemon.request("experience/train", params(run_dir, dataset, maxSteps=1))
    assert (await daemon.request("experience/status", {"runDir": str(run_dir)}))["runs"][0]["step"] == 1
    stepped = await daemon.request("experience/step", {"runDir": str(run_dir)})
    assert stepped["step"] == 2
    assert (await daemon.request("experience/status", {"runDir": str(run_dir)}))["runs"][0]["step"] == 2
    evaluated = await daemon.request("experience/evaluate", {"runDir": str(run_dir), "split": "train"})
    assert set(evaluated) == {"loss", "exact", "n"} and evaluated["n"] == 4
    last = daemon.notes["experience/metrics"][-1]["record"]
    assert last["split"] == "train" and last["n"] == 4 and last["loss"] == pytest.approx(evaluated["loss"])
    assert len(daemon.progress()) == 3  # train, step and evaluate: one token each


async def test_experience_cancel_stops_training_mid_run(start: StartDaemon, run_dir: Path, dataset: Path) -> None:
    daemon = await start(backend="slow")
    training = asyncio.ensure_future(daemon.request("experience/train", params(run_dir, dataset, **LONG)))
    await first_step(daemon, run_dir)
    busy = await asyncio.gather(daemon.request("experience/train", {"runDir": str(run_dir)}), return_exceptions=True)
    assert isinstance(busy[0], JsonRpcException) and busy[0].code == -32003
    assert await daemon.request("experience/cancel", {"runDir": str(run_dir)}) == {"cancelled": True}
    result = await training
    assert result["stopped"] is True and 1 <= result["step"] < 40
    status = (await daemon.request("experience/status", {"runDir": str(run_dir)}))["runs"][0]
    assert status["job"] is None and status["step"] == result["step"]
    assert await daemon.request("experience/cancel", {"runDir": str(run_dir)}) == {"cancelled": False}
    again = await daemon.request("experience/train", {"runDir": str(run_dir), "maxSteps": 1})  # resumes
    assert again["step"] == result["step"] + 1


async def test_cancel_request_cancels_the_train_request(start: StartDaemon, run_dir: Path, dataset: Path) -> None:
    daemon = await start(backend="slow")
    training = asyncio.ensure_future(
        daemon.request("experience/train", params(run_dir, dataset, **LONG), msg_id="train-1")
    )
    await first_step(daemon, run_dir)
    daemon.client.protocol.notify("$/cancelRequest", types.CancelParams(id="train-1"))
    with pytest.raises(JsonRpcException) as caught:
        await training
    assert caught.value.code == -32800
    (_token, reports), *_ = daemon.progress().items()
    assert isinstance(reports[-1], types.WorkDoneProgressEnd) and reports[-1].message == "cancelled"
    status = (await daemon.request("experience/status", {"runDir": str(run_dir)}))["runs"][0]
    assert status["job"] is None and 1 <= status["step"] < 40
    with RunDir.open(run_dir).lock():  # released: the trainer stopped at a safe point
        pass


async def test_cancelling_the_progress_stops_training(start: StartDaemon, run_dir: Path, dataset: Path) -> None:
    daemon = await start(backend="slow")
    training = asyncio.ensure_future(daemon.request("experience/train", params(run_dir, dataset, **LONG)))
    await first_step(daemon, run_dir)
    (token, _reports), *_ = daemon.progress().items()
    daemon.client.protocol.notify(types.WINDOW_WORK_DONE_PROGRESS_CANCEL, types.WorkDoneProgressCancelParams(token))
    result = await training  # the user pressed Cancel on the notification: a normal answer, stopped
    assert result["stopped"] is True and 1 <= result["step"] < 40
    assert daemon.progress()[token][-1].message == f"stopped at step {result['step']}"


async def test_a_run_locked_by_another_process_is_refused(daemon: Daemon, run_dir: Path, dataset: Path) -> None:
    await daemon.request("experience/train", params(run_dir, dataset))
    where = {"runDir": str(run_dir), "row": 0, "column": "key"}
    current = await daemon.request("experience/readEntry", where)
    with RunDir.open(run_dir).lock():
        with pytest.raises(JsonRpcException) as caught:
            await daemon.request("experience/train", {"runDir": str(run_dir), "epochs": 2})
        assert caught.value.code == -32006 and f"being trained by pid {os.getpid()}" in caught.value.message
        with pytest.raises(JsonRpcException) as caught:
            await daemon.request("experience/writeEntry", {**where, "text": "x", "version": current["version"]})
        assert caught.value.code == -32006 and "would be overwritten" in caught.value.message
        status = (await daemon.request("experience/status", {"runDir": str(run_dir)}))["runs"][0]
        assert status["lockedBy"] == f"pid {os.getpid()}" and status["step"] == 2
    done = await daemon.request("experience/train", {"runDir": str(run_dir), "epochs": 2})
    assert done["step"] == 4 and done["epoch"] == 2


async def test_the_cli_cannot_train_a_run_the_daemon_is_training(
    start: StartDaemon, run_dir: Path, dataset: Path, tmp_path: Path
) -> None:
    daemon = await start(backend="slow")
    training = asyncio.ensure_future(daemon.request("experience/train", params(run_dir, dataset, **LONG)))
    await first_step(daemon, run_dir)
    command = [sys.executable, "-m", "experience_daemon.cli", "train", "--run-dir", str(run_dir), "--resume"]
    cli = await asyncio.create_subprocess_exec(
        *command, cwd=ROOT, env=daemon_env(tmp_path, None), stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    _out, err = await asyncio.wait_for(cli.communicate(), 120)
    assert cli.returncode == 2
    assert "is being trained by pid" in err.decode()
    assert not training.done()  # the daemon's training went on untouched
    await daemon.request("experience/cancel", {"runDir": str(run_dir)})
    assert (await training)["stopped"] is True


async def test_a_new_run_needs_a_dataset_and_an_existing_one_is_never_replaced(
    daemon: Daemon, run_dir: Path, dataset: Path
) -> None:
    with pytest.raises(JsonRpcException) as caught:
        await daemon.request("experience/train", {"runDir": str(run_dir)})
    assert caught.value.code == -32803 and "needs --dataset" in caught.value.message
    await daemon.request("experience/train", params(run_dir, dataset, maxSteps=1))
    with pytest.raises(JsonRpcException) as caught:
        await daemon.request("experience/train", params(run_dir, dataset, resume=False))
    assert "already holds a run" in caught.value.message
    assert not list(run_dir.parent.glob("*.bak-*"))


async def test_stray_writes_to_stdout_do_not_corrupt_the_protocol(
    start: StartDaemon, run_dir: Path, dataset: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    daemon = await start(backend="noisy")
    result = await daemon.request("experience/train", params(run_dir, dataset))
    assert result["step"] == 2
    assert (await daemon.request("experience/status", {}))["runs"][0]["step"] == 2
    await daemon.wait_for(lambda: "noise from fd 1" in capfd.readouterr().err, "the noise on stderr")


async def test_cancelling_an_evaluation_stops_it_and_records_nothing(start: StartDaemon, tmp_path: Path) -> None:
    val = {f"f{i}": (f"def f{i}(a):\n    return a + {i}\n", f"f{i} :=\n  <- $a + {i}\n") for i in range(8)}
    data = write_dataset(tmp_path, {"train": PAIRS["train"], "val": val}, name="eight")
    run_dir = tmp_path / "zero-shot"
    daemon = await start(backend="slow")
    evaluating = asyncio.ensure_future(
        daemon.request("experience/evaluate", {"runDir": str(run_dir), "dataset": str(data)}, msg_id="eval-1")
    )
    await daemon.wait_for(lambda: list(daemon.progress().values()), "evaluation progress", 60)
    daemon.client.protocol.notify("$/cancelRequest", types.CancelParams(id="eval-1"))
    with pytest.raises(JsonRpcException) as caught:
        await evaluating
    assert caught.value.code == -32800
    (_token, reports), *_ = daemon.progress().items()
    assert isinstance(reports[-1], types.WorkDoneProgressEnd) and reports[-1].message == "cancelled"
    assert RunDir.open(run_dir).metrics() == []  # a cut-short evaluation is not a measurement
