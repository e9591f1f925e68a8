"""Bad options and unusable run folders: exit 2 with a clear message, and nothing left behind."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from experience.train.options import RunOptions
from experience.train.run_dir import RunConfig, RunDir, RunError
from experience_daemon.cli import main
from experience_daemon.validation import InvalidParams, check_train, check_writable, train_problems
from learning_fixtures import write_dataset

BAD_OPTIONS = [
    (["--batch-size", "0"], "--batch-size"),
    (["--batch-size", "-1"], "--batch-size"),
    (["--lr", "0"], "--lr"),
    (["--lr", "1.5"], "--lr"),
    (["--lr", "nan"], "--lr"),
    (["--topk", "0"], "--topk"),
    (["--rows", "0"], "--rows"),
    (["--epochs", "-1"], "--epochs"),
    (["--epochs", "0"], "--epochs"),
    (["--max-steps", "0"], "--max-steps"),
    (["--max-steps", "-3"], "--max-steps"),
    (["--max-calls", "0"], "--max-calls"),
    (["--max-tokens", "-5"], "--max-tokens"),
    (["--max-cost", "0"], "--max-cost"),
    (["--max-cost", "-1"], "--max-cost"),
    (["--max-cost", "inf"], "--max-cost"),
    (["--seed", "-1"], "--seed"),
]


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    """A tiny valid dataset (so only the option is wrong)."""
    return write_dataset(tmp_path)


@pytest.mark.parametrize(("options", "flag"), BAD_OPTIONS)
def test_a_bad_option_exits_2_and_creates_nothing(
    options: list[str], flag: str, dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tmp_path / "runs" / "run"
    code = main(["train", "--dataset", str(dataset), "--run-dir", str(run), "--no-cache", "--quiet", *options])
    err = capsys.readouterr().err
    assert code == 2
    assert flag in err and "Nothing was created" in err and "Traceback" not in err
    assert not run.exists() and not run.parent.exists()


def test_the_installed_command_reports_every_bad_option_at_once(dataset: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    args = ["train", "--dataset", str(dataset), "--run-dir", str(run), "--batch-size", "0", "--topk", "0"]
    done = subprocess.run(
        [sys.executable, "-m", "experience_daemon.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ},
    )
    assert done.returncode == 2, done.stderr
    assert "--batch-size" in done.stderr and "--topk" in done.stderr and "Traceback" not in done.stderr
    assert not run.exists()


def test_bad_options_on_resume_leave_the_run_as_it_was(
    dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tmp_path / "run"
    RunDir.create(run, RunConfig(dataset=str(dataset), source_ext="py", target_ext="viba", task_prompt="T", rows=2))
    before = {p: p.read_bytes() for p in run.rglob("*") if p.is_file()}
    assert main(["train", "--run-dir", str(run), "--resume", "--max-steps", "0", "--quiet"]) == 2
    assert "--max-steps" in capsys.readouterr().err
    assert {p: p.read_bytes() for p in run.rglob("*") if p.is_file()} == before


def test_settings_and_options_of_a_request_are_checked_too() -> None:
    settings = {"grad": "magic", "capacity": "grow"}  # as a JSON-RPC request may send them
    problems = train_problems(settings, RunOptions(concurrency=0))
    assert len(problems) == 3
    assert any("concurrency" in p for p in problems)
    assert any("grad" in p and "example" in p for p in problems)
    assert any("capacity" in p and "evict" in p for p in problems)
    with pytest.raises(InvalidParams) as caught:
        check_train(settings, RunOptions(concurrency=0))
    assert isinstance(caught.value, RunError) and caught.value.kind == "invalidParams"
    assert caught.value.data["problems"] == problems


def test_an_unknown_setting_is_named_with_the_known_ones() -> None:
    problems = train_problems({"learning_rate": 0.5, "epochs": 2}, RunOptions())  # epochs is an option, not a setting
    assert len(problems) == 2
    assert "'learning_rate' is not a run setting" in problems[0] and "lr" in problems[0]
    assert "'epochs' is not a run setting" in problems[1]


def test_default_settings_and_options_pass() -> None:
    options = RunOptions(max_steps=1, max_calls=1, max_tokens=1, max_cost=0.01)
    assert train_problems({"lr": 1.0}, options) == []
    assert train_problems({}, RunOptions()) == []
    check_train({"lr": 1.0, "model": None}, options)


def test_check_writable_accepts_a_writable_folder_and_leaves_no_probe(tmp_path: Path) -> None:
    run = tmp_path / "run"
    (run / "experience").mkdir(parents=True)
    check_writable(run)
    check_writable(tmp_path / "not" / "yet")  # judged by tmp_path, where it would be made
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["experience", "run"]


def test_check_writable_refuses_a_folder_that_cannot_be_written() -> None:
    with pytest.raises(InvalidParams) as caught:
        check_writable(Path("/proc/self"))  # not writable even for root
    assert "/proc/self" in str(caught.value) and "writable run directory" in str(caught.value)


@pytest.mark.skipif(os.geteuid() == 0 if hasattr(os, "geteuid") else True, reason="root writes anywhere")
def test_check_writable_refuses_a_read_only_experience_folder(tmp_path: Path) -> None:
    run = tmp_path / "run"
    (run / "experience").mkdir(parents=True)
    (run / "experience").chmod(0o555)
    try:
        with pytest.raises(InvalidParams, match="experience"):
            check_writable(run)
    finally:
        (run / "experience").chmod(0o755)


def test_check_writable_refuses_a_file(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x", encoding="utf-8")
    with pytest.raises(InvalidParams, match="not a folder"):
        check_writable(tmp_path / "file")


def test_show_reports_a_missing_row_folder(dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = tmp_path / "run"
    RunDir.create(run, RunConfig(dataset=str(dataset), source_ext="py", target_ext="viba", task_prompt="T", rows=4))
    row = run / "experience" / "0003"
    for child in row.iterdir():
        child.unlink()
    row.rmdir()
    assert main(["show", "--run-dir", str(run)]) == 0
    out = capsys.readouterr().out
    assert f"row folder {row} is missing" in out and "reads as empty" in out
    assert "0/4 rows filled, 1 row folder(s) missing" in out
    assert main(["show", "--run-dir", str(run), "--json"]) == 0
    entries = json.loads(capsys.readouterr().out)
    assert [e["missing"] for e in entries] == [False, False, False, True]


def test_show_refuses_a_run_with_a_crafted_layout(
    dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tmp_path / "run"
    RunDir.create(run, RunConfig(dataset=str(dataset), source_ext="py", target_ext="viba", task_prompt="T", rows=2))
    meta_path = run / "experience" / "tensor.json"
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    meta["layout"]["target_ext"] = "viba/../../../../outside.txt"
    meta_path.write_text(json.dumps(meta), encoding="utf-8")
    assert main(["show", "--run-dir", str(run)]) == 2
    err = capsys.readouterr().err
    assert str(meta_path) in err and "layout" in err and "Traceback" not in err
    assert not (tmp_path.parent / "outside.txt").exists()
