"""The `valid` metric (the dataset's checker on every output) and the --grammar setting in the trainer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from doubles import ScriptedBackend
from experience.kernel import Kernel, KernelTask
from experience.tasks.dataset import Dataset, load_dataset
from experience.train.run_dir import RunConfig, RunDir
from experience.train.trainer import Trainer
from learning_fixtures import VIBA_GRAMMAR, copying_translator, with_viba_checks, write_dataset


def _dataset(tmp_path: Path, *, checker: bool = True, grammar: bool = True) -> Dataset:
    return load_dataset(with_viba_checks(write_dataset(tmp_path), checker=checker, grammar=grammar))


def _trainer(tmp_path: Path, dataset: Dataset, backend: ScriptedBackend, **config: Any) -> Trainer:
    cfg = RunConfig(
        dataset=str(dataset.path), source_ext="py", target_ext="viba", task_prompt=dataset.task_prompt,
        rows=6, batch_size=2, query="lexical", **config,
    )
    return Trainer(RunDir.create(tmp_path / "run", cfg), dataset, Kernel(backend))


def test_valid_joins_loss_and_exact_in_every_record(tmp_path: Path) -> None:
    trainer = _trainer(tmp_path, _dataset(tmp_path), ScriptedBackend(copying_translator))
    before = trainer.evaluate(trainer.dataset.split("val"))
    assert before.valid == 0.0  # zero-shot the double answers `func add_one(a) { ... }`: not Viba
    assert before.as_dict() == {"loss": before.loss, "exact": before.exact, "n": 1, "valid": 0.0}
    trainer.train(2)
    records = trainer.run.metrics()
    assert [r["split"] for r in records] == ["val", "train", "train", "val", "train", "train", "val"]
    assert all("valid" in r and 0.0 <= r["valid"] <= 1.0 for r in records)
    assert records[-1]["valid"] == 1.0 and records[-1]["exact"] == 1.0  # copies of learned rows parse


def test_a_dataset_without_a_checker_reports_no_valid(tmp_path: Path) -> None:
    trainer = _trainer(tmp_path, _dataset(tmp_path, checker=False), ScriptedBackend(copying_translator))
    result = trainer.evaluate(trainer.dataset.split("val"))
    assert result.valid is None and "valid" not in result.as_dict() and "valid" not in result.record
    trainer.train(1)
    assert all("valid" not in r for r in trainer.run.metrics())


@pytest.mark.parametrize(("limit", "valid"), [(64, 1.0), (8, 0.0)])
def test_an_answer_cut_at_the_token_limit_is_invalid(tmp_path: Path, limit: int, valid: float) -> None:
    answer = "add_one :=\n  <- $a int\n  <- $a + 1\n"  # 9 words: the double's token count

    def reply(task: KernelTask) -> str:
        return answer if task.tag == "translate" else "add_one"

    trainer = _trainer(tmp_path, _dataset(tmp_path), ScriptedBackend(reply), max_tokens=limit)
    result = trainer.evaluate(trainer.dataset.split("val"))
    assert result.exact == 1.0  # the text is right; only the limit differs
    assert result.valid == valid


@pytest.mark.parametrize(("setting", "expected"), [("auto", True), ("on", True), ("off", False)])
def test_translations_decode_under_the_dataset_grammar_unless_off(
    tmp_path: Path, setting: str, expected: bool
) -> None:
    backend = ScriptedBackend(copying_translator)
    trainer = _trainer(tmp_path, _dataset(tmp_path), backend, grammar=setting)
    trainer.train(1)
    translations = [t for t in backend.calls if t.tag == "translate"]
    assert translations and all(t.tag != "query" for t in backend.calls)
    wanted = VIBA_GRAMMAR.read_text(encoding="utf-8") if expected else None
    assert {t.grammar for t in translations} == {wanted}
    other = [t for t in backend.calls if t.tag != "translate"]
    assert all(t.grammar is None for t in other)  # only the answer is constrained


def test_grammar_on_without_a_dataset_grammar_warns_and_decodes_free(tmp_path: Path) -> None:
    from experience.events import Event, Log

    seen: list[Event] = []
    dataset = _dataset(tmp_path, grammar=False)
    cfg = RunConfig(
        dataset=str(dataset.path), source_ext="py", target_ext="viba", task_prompt="T", grammar="on", query="lexical"
    )
    backend = ScriptedBackend(copying_translator)
    trainer = Trainer(RunDir.create(tmp_path / "run", cfg), dataset, Kernel(backend), events=seen.append)
    trainer.evaluate(dataset.split("val"))
    assert any(isinstance(e, Log) and "names no grammar" in e.message for e in seen)
    assert all(t.grammar is None for t in backend.calls)


def test_under_a_grammar_the_answer_gets_the_runs_whole_token_limit(tmp_path: Path) -> None:
    """A grammar bounds the answer; an example-sized limit would cut constrained answers (and make them invalid)."""
    backend = ScriptedBackend(copying_translator)
    trainer = _trainer(tmp_path, _dataset(tmp_path), backend, max_tokens=200)
    trainer.train(1)
    trainer.evaluate(trainer.dataset.split("val"))
    shot = [t for t in backend.calls if t.tag == "translate" and len(t.messages) > 2]
    assert shot and {t.max_tokens for t in shot} == {200}
    free = ScriptedBackend(copying_translator)
    other = _trainer(tmp_path / "free", _dataset(tmp_path / "free"), free, max_tokens=200, grammar="off")
    other.train(1)
    other.evaluate(other.dataset.split("val"))
    limits = {t.max_tokens for t in free.calls if t.tag == "translate" and len(t.messages) > 2}
    assert limits and max(limits) < 200  # without a grammar: ~2x the longest example
