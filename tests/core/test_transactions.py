"""A step is a transaction: a kill at any write of a step leaves the last complete step; resume replays it."""

from __future__ import annotations

import json
import os
import shutil
import signal
from pathlib import Path

import pytest

from doubles import ScriptedBackend
from experience.kernel import Kernel
from experience.storage.atomic import set_fault_hook
from experience.tasks.dataset import load_dataset
from experience.train.run_dir import RunConfig, RunDir
from experience.train.trainer import Trainer
from learning_fixtures import copying_translator, files, write_dataset


def _config(dataset_path: Path, **extra: object) -> RunConfig:
    return RunConfig(
        dataset=str(dataset_path), source_ext="py", target_ext="viba",
        task_prompt="Translate the Python function into Viba.", rows=6, batch_size=2, **extra,
    )  # type: ignore[arg-type]  # fmt: skip


def _train(path: Path, steps: int) -> None:
    """Open (recovering), lock, train `steps` more steps with the scripted translator."""
    run = RunDir.open(path)
    with run.lock():
        run = RunDir.open(path)
        run.recover()  # a writer finishes what a killed one committed and drops its temp files
        dataset = load_dataset(run.config.dataset)
        Trainer(run, dataset, Kernel(ScriptedBackend(copying_translator))).train(3, max_steps=steps)



def _killed_child(path: Path, kill_at: int) -> int:
    """Train one step in a forked child that dies (os._exit, like SIGKILL: no cleanup) at write `kill_at`."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        code = 0
        try:
            count = 0

            def hook(_target: str) -> None:
                nonlocal count
                count += 1
                if count == kill_at:
                    os._exit(9)

            set_fault_hook(hook)
            _train(path, 1)
        except BaseException:
            code = 1
        os._exit(code)
    signal.alarm(60)
    try:
        _, status = os.waitpid(pid, 0)
    finally:
        signal.alarm(0)
    return os.waitstatus_to_exitcode(status)


@pytest.fixture()
def reference(tmp_path: Path) -> dict[str, object]:
    """A fresh run, and the same run after 1 and after 2 uninterrupted steps (files of each)."""
    dataset = write_dataset(tmp_path)
    fresh = tmp_path / "fresh"
    RunDir.create(fresh, _config(dataset))
    ref = tmp_path / "ref"
    shutil.copytree(fresh, ref)
    _train(ref, 1)
    after1 = files(ref / "experience")
    _train(ref, 1)
    return {
        "fresh": fresh,
        "after0": files(fresh / "experience"),
        "after1": after1,
        "after2": files(ref / "experience"),
    }


def _count_writes(path: Path) -> int:
    seen: list[str] = []
    set_fault_hook(seen.append)
    try:
        _train(path, 1)
    finally:
        set_fault_hook(None)
    return len(seen)


def test_a_kill_at_every_write_of_a_step_leaves_the_last_complete_step(
    tmp_path: Path, reference: dict[str, object]
) -> None:
    fresh = Path(str(reference["fresh"]))
    probe = tmp_path / "probe"
    shutil.copytree(fresh, probe)
    writes = _count_writes(probe)
    assert writes >= 6  # journal, entries, tensor.json, patches, metrics, run.json
    outcomes = []
    for kill_at in range(1, writes + 1):
        run_path = tmp_path / f"kill-{kill_at}"
        shutil.copytree(fresh, run_path)
        assert _killed_child(run_path, kill_at) == 9
        run = RunDir.open(run_path)  # finishes a committed step, drops stray temp files
        step = run.state.step
        outcomes.append(step)
        assert step in (0, 1)
        assert files(run_path / "experience") == reference[f"after{step}"], f"kill at write {kill_at}"
        train = [m for m in run.metrics() if m["split"] == "train"]
        assert [m["step"] for m in train] == list(range(1, step + 1))
        assert run.patch_steps() == list(range(1, step + 1))
        _train(run_path, 2 - step)  # resume replays what the kill interrupted, identically
        assert not [p for p in run_path.rglob("*.tmp")], f"stray temp files after a kill at write {kill_at}"
        assert files(run_path / "experience") == reference["after2"], f"resume after a kill at write {kill_at}"
        assert [m["step"] for m in RunDir.open(run_path).metrics() if m["split"] == "train"] == [1, 2]
    assert outcomes[0] == 0 and outcomes[-1] == 1  # the journal write is the commit point


def test_an_exception_before_the_commit_leaves_memory_and_disk_at_the_last_step(
    tmp_path: Path, reference: dict[str, object]
) -> None:
    run_path = tmp_path / "run"
    shutil.copytree(Path(str(reference["fresh"])), run_path)
    run = RunDir.open(run_path)
    trainer = Trainer(run, load_dataset(run.config.dataset), Kernel(ScriptedBackend(copying_translator)))

    def fail_journal(target: str) -> None:
        if "journal" in target:
            raise OSError(28, "No space left on device")

    set_fault_hook(fail_journal)
    try:
        with pytest.raises(OSError, match="No space"):
            trainer.train(3, max_steps=1)
    finally:
        set_fault_hook(None)
    assert trainer.experience.texts() == [None] * 18  # memory rolled back with the failed commit
    assert float(trainer.experience.coeff.detach().abs().sum()) == 0.0
    assert files(run_path / "experience") == reference["after0"]
    assert RunDir.open(run_path).state.step == 0


def test_nan_is_never_written_to_metrics(tmp_path: Path) -> None:
    run = RunDir.create(tmp_path / "run", _config(write_dataset(tmp_path)))
    run.append_metrics({"split": "val", "loss": float("nan"), "exact": 0.0})
    line = (tmp_path / "run" / "metrics.jsonl").read_text(encoding="utf-8")
    assert "NaN" not in line
    record = json.loads(line)
    assert record["loss"] is None and "loss" in record["nonfinite"]
