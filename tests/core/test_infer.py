"""RunModel answers with a run's experience, writes nothing, and follows the run as it changes on disk."""

from __future__ import annotations

from pathlib import Path

import pytest

from doubles import ScriptedBackend
from experience.kernel import Kernel
from experience.tasks.dataset import load_dataset
from experience.train import infer
from experience.train.infer import RunModel
from experience.train.run_dir import RunConfig, RunDir, RunError
from experience.train.trainer import Trainer
from learning_fixtures import PAIRS, copying_translator, files, write_dataset

SOURCE = PAIRS["val"]["add_one"][0]


def _run(tmp_path: Path) -> Path:
    cfg = RunConfig(
        dataset=str(write_dataset(tmp_path)), source_ext="py", target_ext="viba",
        task_prompt="Translate.", rows=6, batch_size=1, query="lexical",
    )  # fmt: skip
    RunDir.create(tmp_path / "run", cfg)
    return tmp_path / "run"


def _train(path: Path, steps: int) -> None:
    run = RunDir.open(path)
    with run.lock():
        Trainer(run, load_dataset(run.config.dataset), Kernel(ScriptedBackend(copying_translator))).train(
            3, max_steps=steps
        )


@pytest.fixture(autouse=True)
def _no_recheck_delay(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(infer, "RECHECK_SECONDS", 0.0)


def test_an_empty_run_answers_zero_shot_and_a_trained_run_uses_its_rows(tmp_path: Path) -> None:
    path = _run(tmp_path)
    backend = ScriptedBackend(copying_translator)
    model = RunModel(path, Kernel(backend))
    empty = model.answer(SOURCE)
    assert empty.rows == () and empty.text.startswith("func add_one") and empty.step == 0
    _train(path, 4)
    before = files(path)
    got = model.answer(SOURCE)  # the run changed on disk: reloaded
    assert got.step == 4 and got.rows
    assert got.text.startswith("add_one :=")  # the retrieved row's value, renamed by the scripted translator
    best = got.rows[0]
    assert best.key in {p for p, _ in PAIRS["train"].values()} and Path(best.value_path or "").read_text() == best.value
    assert got.usage["calls"] + got.usage["cache_hits"] == 1  # lexical query: one call per input
    assert files(path) == before  # answering wrote nothing: no lock, no cache, no metrics


def test_a_hand_edited_entry_is_served_without_any_training(tmp_path: Path) -> None:
    path = _run(tmp_path)
    _train(path, 4)
    model = RunModel(path, Kernel(ScriptedBackend(copying_translator)))
    row = model.answer(SOURCE).rows[0]
    Path(row.value_path or "").write_text("edited :=\n  <- $a\n", encoding="utf-8")
    again = model.answer(SOURCE)
    assert again.rows[0].row == row.row and again.rows[0].value == "edited :=\n  <- $a\n"
    assert again.text.startswith("add_one :=\n  <- $a\n")


def test_a_commit_being_applied_keeps_the_last_snapshot(tmp_path: Path) -> None:
    path = _run(tmp_path)
    _train(path, 2)
    model = RunModel(path, Kernel(ScriptedBackend(copying_translator)))
    loads = model.reloads
    journal = path / "journal"
    newest = max(journal.iterdir())
    fake = journal / f"{int(newest.stem) + 1:06d}.json"
    fake.write_text(newest.read_text(encoding="utf-8"), encoding="utf-8")  # committed, not yet applied
    (path / "run.json").touch()
    assert model.refresh() is False and model.reloads == loads
    assert model.answer(SOURCE).step == 2


def test_bad_inputs_are_named(tmp_path: Path) -> None:
    with pytest.raises(RunError, match="no run at"):
        RunModel(tmp_path / "nothing", Kernel(ScriptedBackend("x")))
    model = RunModel(_run(tmp_path), Kernel(ScriptedBackend("x")))
    with pytest.raises(ValueError, match="empty"):
        model.answer("  \n")
