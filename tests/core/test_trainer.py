"""The trainer: splits, metrics, patch records, leak guard, resume, budget, review mode."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from doubles import ScriptedBackend
from experience.events import Cancelled
from experience.kernel import Budget, Kernel
from experience.tasks.dataset import DatasetError, load_dataset
from experience.train.run_dir import RunConfig, RunDir, RunError, RunLocked
from experience.train.trainer import Trainer
from learning_fixtures import PAIRS, copying_translator, write_dataset

METRIC_KEYS = {
    "step",
    "split",
    "loss",
    "exact",
    "calls",
    "prompt_tokens",
    "completion_tokens",
    "cache_hits",
    "seconds",
    "backend",
    "model",
    "seed",
}


def _run(tmp_path: Path, **config: object) -> tuple[RunDir, Trainer, ScriptedBackend]:
    dataset = load_dataset(write_dataset(tmp_path))
    cfg = RunConfig(
        dataset=str(dataset.path),
        source_ext="py",
        target_ext="viba",
        task_prompt=dataset.task_prompt,
        rows=6,
        batch_size=2,
        **config,
    )  # type: ignore[arg-type]
    run = RunDir.create(tmp_path / "run", cfg)
    backend = ScriptedBackend(copying_translator)
    return run, Trainer(run, dataset, Kernel(backend)), backend


def test_training_lowers_validation_loss_and_records_everything(tmp_path: Path) -> None:
    run, trainer, _ = _run(tmp_path)
    before = trainer.evaluate(trainer.dataset.split("val"), record=False)
    result = trainer.train(2)
    assert result["loss"] < before.loss and result["exact"] == 1.0
    records = run.metrics()
    assert all(set(r) >= METRIC_KEYS for r in records)
    assert [r["split"] for r in records] == ["train", "train", "val", "train", "train", "val"]
    assert records[0]["calls"] == 4 and records[0]["backend"] == "scripted"
    first = run.read_patches(1)
    assert {p["sample"] for p in first} == set(PAIRS["train"]) & {p["sample"] for p in first}
    assert {p["column"] for p in first} == {"query", "key", "value"}
    assert all(p["state"] == "applied" and p["diff"].startswith("--- ") for p in first)
    row = first[0]["row"]
    value = (run.experience_dir / f"{row:04d}" / "value.viba").read_text()
    sample = next(p["sample"] for p in first if p["row"] == row)
    assert value == PAIRS["train"][sample][1]
    assert run.state.step == 4 and run.state.epoch == 2


def test_leak_guard_blocks_validation_targets(tmp_path: Path) -> None:
    pairs = {"train": dict(PAIRS["train"]), "val": dict(PAIRS["val"])}
    pairs["train"]["inc_copy"] = ("def inc2(a: int) -> int:\n    return a + 1\n", PAIRS["val"]["add_one"][1])
    dataset = load_dataset(write_dataset(tmp_path, pairs))
    cfg = RunConfig(
        dataset=str(dataset.path), source_ext="py", target_ext="viba", task_prompt="T", rows=8, batch_size=5
    )
    run = RunDir.create(tmp_path / "run", cfg)
    Trainer(run, dataset, Kernel(ScriptedBackend(copying_translator))).train(1)
    values = [(p / "value.viba").read_text() for p in sorted(run.experience_dir.iterdir()) if p.is_dir()]
    assert PAIRS["val"]["add_one"][1] not in values
    blocked = [p for p in run.read_patches(1) if p["state"] == "blocked"]
    assert blocked and all(p["sample"] == "inc_copy" for p in blocked if p["column"] == "value")


def test_resume_continues_without_losing_patches(tmp_path: Path) -> None:
    run, trainer, _ = _run(tmp_path)
    stopped = trainer.train(2, max_steps=1)
    assert stopped["stopped"] is True
    written = {p["row"]: p["sample"] for p in run.read_patches(1) if p["column"] == "value"}
    reopened = RunDir.open(run.path)
    assert reopened.state.step == 1 and reopened.state.batch == 1
    again = Trainer(reopened, trainer.dataset, Kernel(ScriptedBackend(copying_translator)))
    again.train(2)
    assert reopened.state.step == 4
    for row, sample in written.items():
        text = (run.experience_dir / f"{row:04d}" / "value.viba").read_text()
        assert text == PAIRS["train"][sample][1]


def test_crash_mid_step_leaves_a_resumable_run(tmp_path: Path) -> None:
    run, trainer, backend = _run(tmp_path)
    trainer.train(1, max_steps=1)
    calls = len(backend.calls)

    def exploding(task):  # the 2nd step's first translation blows up
        if len(backend.calls) > calls + 2:
            raise RuntimeError("backend died")
        return copying_translator(task)

    backend._replies = exploding
    with pytest.raises(RuntimeError, match="backend died"):
        trainer.train(1)
    reopened = RunDir.open(run.path)
    assert reopened.state.step == 1
    assert len(reopened.load_experience().texts()) == 18
    Trainer(reopened, trainer.dataset, Kernel(ScriptedBackend(copying_translator))).train(1)
    assert reopened.state.step == 2 and reopened.state.epoch == 1


def test_budget_stops_cleanly(tmp_path: Path) -> None:
    dataset = load_dataset(write_dataset(tmp_path))
    cfg = RunConfig(
        dataset=str(dataset.path), source_ext="py", target_ext="viba", task_prompt="T", rows=6, batch_size=2
    )
    run = RunDir.create(tmp_path / "run", cfg)
    kernel = Kernel(ScriptedBackend(copying_translator), budget=Budget(max_calls=5))
    result = Trainer(run, dataset, kernel).train(3)
    assert (result["stopped"] is True and "budget" in result["reason"].lower()) or "5" in result["reason"]
    assert kernel.usage.calls <= 5
    assert RunDir.open(run.path).state.step == 1


def test_review_mode_stages_instead_of_applying(tmp_path: Path) -> None:
    run, trainer, _ = _run(tmp_path, review=True)
    trainer.train(1, max_steps=1)
    staged = run.read_patches(1)
    assert staged and all(p["state"] == "staged" for p in staged)
    assert all(not (p / "value.viba").read_text() for p in run.experience_dir.iterdir() if p.is_dir())


def test_run_dir_errors_and_lock(tmp_path: Path) -> None:
    with pytest.raises(RunError, match=r"run\.json missing"):
        RunDir.open(tmp_path / "nothing")
    run, _, _ = _run(tmp_path)
    with pytest.raises(RunError, match="--resume"):
        RunDir.create(run.path, run.config)
    with run.lock(), pytest.raises(RunLocked, match="being trained"), RunDir.open(run.path).lock():
        pass
    (run.path / "run.json").write_text("{not json")
    with pytest.raises(RunError, match="corrupt"):
        RunDir.open(run.path)


def test_dataset_errors(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="no dataset folder"):
        load_dataset(tmp_path / "missing")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DatasetError):
        load_dataset(empty)
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "manifest.json").write_text(json.dumps({"name": "x"}))
    with pytest.raises(DatasetError, match="malformed"):
        load_dataset(bad)
    half = write_dataset(tmp_path)
    (half / "train" / "add.viba").unlink()
    with pytest.raises(DatasetError, match=r"no target file for add\.viba"):
        load_dataset(half)


def test_flat_folder_of_pairs_is_a_val_split(tmp_path: Path) -> None:
    flat = tmp_path / "flat"
    flat.mkdir()
    for name, (py, viba) in PAIRS["train"].items():
        (flat / f"{name}.py").write_text(py)
        (flat / f"{name}.viba").write_text(viba)
    dataset = load_dataset(flat)
    assert (dataset.source_ext, dataset.target_ext) == ("py", "viba")
    assert sorted(p.name for p in dataset.split("val")) == sorted(PAIRS["train"])
    with pytest.raises(DatasetError, match="no 'train' pairs"):
        dataset.split("train")


def test_cancelled_evaluation_raises_and_records_nothing(tmp_path: Path) -> None:
    run, trainer, backend = _run(tmp_path)
    trainer.cancel.cancel()
    with pytest.raises(Cancelled, match="after 0 of 1 samples"):
        trainer.evaluate(trainer.dataset.split("val"))
    assert backend.calls == [] and run.metrics() == []


def test_cancel_during_the_epoch_validation_stops_and_resume_validates(tmp_path: Path) -> None:
    run, trainer, _ = _run(tmp_path)
    original = trainer.step

    def last_step_then_cancel(batch, epoch):  # cancel arrives while the epoch's last batch runs
        record = original(batch, epoch)  # the step is committed when it returns
        if run.state.batch == 2:
            trainer.cancel.cancel()
        return record

    trainer.step = last_step_then_cancel  # type: ignore[method-assign]
    result = trainer.train(1)
    assert result["stopped"] is True and run.state.step == 2 and run.state.epoch == 0
    assert [r["split"] for r in run.metrics()] == ["train", "train"]
    resumed = Trainer(RunDir.open(run.path), trainer.dataset, Kernel(ScriptedBackend(copying_translator)))
    final = resumed.train(1)
    assert final["split"] == "val" and resumed.run.state.epoch == 1 and resumed.run.state.step == 2
