"""merge_runs: one experience from several runs of a task, with provenance, policies and capacity."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from doubles import ScriptedBackend
from experience.kernel import Kernel, KernelTask
from experience.tasks.dataset import load_dataset
from experience.train.merge_runs import merge_runs
from experience.train.run_dir import RunConfig, RunDir, RunError
from experience.train.trainer import Trainer
from learning_fixtures import PAIRS, copying_translator, files, write_dataset

HALVES = {
    "a": {"train": {k: PAIRS["train"][k] for k in ("add", "neg")}, "val": PAIRS["val"]},
    "b": {"train": {k: PAIRS["train"][k] for k in ("dbl", "sq", "add")}, "val": PAIRS["val"]},
}


def _trained(tmp_path: Path, half: str, rows: int = 6, prompt: str = "Translate.") -> Path:
    data = write_dataset(tmp_path / f"data-{half}", HALVES[half], name=half)
    cfg = RunConfig(
        dataset=str(data), source_ext="py", target_ext="viba", task_prompt=prompt, rows=rows, batch_size=1,
        query="lexical",
    )  # fmt: skip
    run = RunDir.create(tmp_path / f"run-{half}", cfg)
    with run.lock():
        Trainer(run, load_dataset(data), Kernel(ScriptedBackend(copying_translator))).train(1)
    return run.path


def _rows(path: Path) -> list[tuple[str | None, str | None, str | None]]:
    texts = RunDir.open(path).load_experience().texts()
    return [(texts[i], texts[i + 1], texts[i + 2]) for i in range(0, len(texts), 3) if texts[i + 1]]


def test_identical_rows_once_with_every_origin_and_the_sources_untouched(tmp_path: Path) -> None:
    a, b = _trained(tmp_path, "a"), _trained(tmp_path, "b")
    before = {p: files(p) for p in (a, b)}
    report = merge_runs([a, b], tmp_path / "merged")
    assert {p: files(p) for p in (a, b)} == before  # nothing written to the inputs
    keys = [k for _, k, _ in _rows(tmp_path / "merged")]
    assert sorted(keys) == sorted({k for k, _ in PAIRS["train"].values()})  # 'add' learned twice, kept once
    assert report.identical == 1 and report.rows == 4 and report.dropped == 0
    records = json.loads((tmp_path / "merged" / "patches" / "000000.json").read_text())
    add_key = PAIRS["train"]["add"][0]
    add_row = next(r for r, (_, k, _) in enumerate(_rows(tmp_path / "merged")) if k == add_key)
    origins = next(rec["origins"] for rec in records if rec["row"] == add_row and rec["column"] == "value")
    assert sorted(o["run"] for o in origins) == ["run-a", "run-b"] and all(o["step"] for o in origins)
    merged = RunDir.open(tmp_path / "merged")
    assert merged.journal.read(merged.journal.seqs()[-1])["kind"] == "merge"
    with merged.lock():  # a merged run trains on like any other
        data = load_dataset(merged.config.dataset)
        Trainer(merged, data, Kernel(ScriptedBackend(copying_translator))).train(1)
    assert RunDir.open(tmp_path / "merged").state.step > 0 and len(_rows(tmp_path / "merged")) >= 4


def test_same_input_policies_and_capacity(tmp_path: Path) -> None:
    a, b = _trained(tmp_path, "a"), _trained(tmp_path, "b")
    add_key = PAIRS["train"]["add"][0]
    row_b = next(r for r in range(6) if (b / "experience" / f"{r:04d}" / "key.py").exists()
                 and (b / "experience" / f"{r:04d}" / "key.py").read_text() == add_key)  # fmt: skip
    (b / "experience" / f"{row_b:04d}" / "value.viba").write_text("add :=\n  <- $a int\n  <- 1 + $a\n")
    both = merge_runs([a, b], tmp_path / "both", policy="both")
    trust = merge_runs([a, b], tmp_path / "trust")
    assert both.rows == 5 and both.conflicts == 0 and trust.rows == 4 and trust.conflicts == 1

    def combined(task: KernelTask) -> str:
        assert task.tag == "merge" and "Translation 2:" in task.messages[-1].content
        return "add :=\n  <- $a int\n  <- $a + 1 (combined)\n"

    llm = merge_runs([a, b], tmp_path / "llm", policy="llm", kernel=Kernel(ScriptedBackend(combined)))
    assert llm.conflicts == 1 and any("(combined)" in (v or "") for _, _, v in _rows(tmp_path / "llm"))
    small = merge_runs([a, b], tmp_path / "small", rows=2)
    assert small.rows == 2 and small.dropped == 2 and RunDir.open(tmp_path / "small").config.rows == 2


def test_refusals_name_the_problem(tmp_path: Path) -> None:
    a = _trained(tmp_path, "a")
    b = _trained(tmp_path, "b", prompt="Something else.")
    with pytest.raises(RunError, match="task_prompt differ"):
        merge_runs([a, b], tmp_path / "x")
    with pytest.raises(RunError, match="already exists"):
        merge_runs([a, a], a)
    with pytest.raises(RunError, match="unknown merge policy"):
        merge_runs([a, a], tmp_path / "y", policy="average")
    with pytest.raises(RunError, match="at least two"):
        merge_runs([a], tmp_path / "z")
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()
