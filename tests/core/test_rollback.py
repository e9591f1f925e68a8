"""Rollback restores the experience byte for byte as after a step; undone steps stay on record."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from doubles import ScriptedBackend
from experience.kernel import Kernel
from experience.tasks.dataset import load_dataset
from experience.train.rollback import rollback
from experience.train.run_dir import RunConfig, RunDir, RunError
from experience.train.trainer import Trainer
from learning_fixtures import copying_translator, files, write_dataset


def _trainer(path: Path) -> Trainer:
    run = RunDir.open(path)
    return Trainer(run, load_dataset(run.config.dataset), Kernel(ScriptedBackend(copying_translator)))


def _new_run(tmp_path: Path, rows: int = 6) -> Path:
    cfg = RunConfig(
        dataset=str(write_dataset(tmp_path)), source_ext="py", target_ext="viba",
        task_prompt="Translate.", rows=rows, batch_size=1,
    )  # fmt: skip
    RunDir.create(tmp_path / "run", cfg)
    return tmp_path / "run"


def test_rollback_after_more_steps_gives_back_the_copy_byte_for_byte(tmp_path: Path) -> None:
    path = _new_run(tmp_path)
    _trainer(path).train(3, max_steps=2)
    copy = files(path / "experience")
    trainer = _trainer(path)
    trainer.train(3, max_steps=3)
    assert files(path / "experience") != copy
    run = RunDir.open(path)
    result = rollback(run, trainer.experience, 2)
    assert files(path / "experience") == copy
    assert result["step"] == 2 and result["undone"] == [3, 4, 5]
    assert RunDir.open(path).state.step == 2
    assert trainer.experience.texts() == RunDir.open(path).load_experience().texts()  # memory follows
    # nothing deleted: the undone steps' patches are set aside, their journal records stay
    assert sorted(p.name[:6] for p in (path / "patches" / "rolled-back").iterdir()) == ["000003", "000004", "000005"]
    assert any(m["split"] == "rollback" for m in run.metrics())
    assert len(run.journal.seqs()) > 5


def test_resume_after_rollback_continues_from_the_restored_step_and_rollback_nests(tmp_path: Path) -> None:
    path = _new_run(tmp_path)
    _trainer(path).train(3, max_steps=1)
    after1 = files(path / "experience")
    _trainer(path).train(3, max_steps=1)
    after2 = files(path / "experience")
    trainer = _trainer(path)
    trainer.train(3, max_steps=2)
    rollback(RunDir.open(path), trainer.experience, 1)
    assert files(path / "experience") == after1
    _trainer(path).train(3, max_steps=1)  # step 2 again, from the same position and seed
    assert files(path / "experience") == after2
    assert RunDir.open(path).patch_steps() == [1, 2]
    rollback(RunDir.open(path), _trainer(path).experience, 0)
    assert all(not text for text in RunDir.open(path).load_experience().texts())


def test_rollback_reverts_a_hand_edit_made_through_the_journal_and_refuses_unknown_steps(tmp_path: Path) -> None:
    path = _new_run(tmp_path)
    trainer = _trainer(path)
    trainer.train(3, max_steps=1)
    with pytest.raises(RunError, match=r"steps 0\.\.1"):
        rollback(RunDir.open(path), trainer.experience, 5)
    with pytest.raises(RunError, match=r"steps 0\.\.1"):
        rollback(RunDir.open(path), trainer.experience, -1)
    copy = files(path / "experience")
    trainer2 = _trainer(path)
    trainer2.train(3, max_steps=1)
    rollback(RunDir.open(path), trainer2.experience, 1)
    assert files(path / "experience") == copy
    shutil.rmtree(path / "journal")  # a run from before journals: step 1 cannot be reconstructed
    with pytest.raises(RunError, match="no journal record of step 1"):
        rollback(RunDir.open(path), trainer2.experience, 1)
