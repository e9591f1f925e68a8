"""`experience train --grammar on|off` and `experience eval` printing `valid` (scripted backend in-process)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import experience_daemon.cli as cli
from doubles import ScriptedBackend
from experience_daemon.service import Service
from learning_fixtures import copying_translator, with_viba_checks, write_dataset

ROOT = Path(__file__).resolve().parents[2]


class ScriptedService(Service):
    """The CLI's service with every backend replaced by the scripted translator (tests only)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(backend_factory=lambda: ScriptedBackend(copying_translator), **kwargs)


@pytest.fixture
def scripted(monkeypatch: pytest.MonkeyPatch) -> None:
    """Run `experience` in-process with the scripted backend."""
    monkeypatch.setattr(cli, "Service", ScriptedService)


def viba_like(tmp_path: Path) -> Path:
    """The tiny dataset with the Viba checker and grammar in its manifest."""
    return with_viba_checks(write_dataset(tmp_path))


def train(dataset: Path, run: Path, *extra: str) -> int:
    args = ["train", "--dataset", str(dataset), "--run-dir", str(run), "--epochs", "1", "--batch-size", "2"]
    return cli.main([*args, "--rows", "6", "--query", "lexical", "--no-cache", "--quiet", *extra])


@pytest.mark.parametrize(("extra", "setting"), [((), "on"), (("--grammar", "off"), "off")])
def test_the_grammar_setting_is_stored_and_eval_prints_valid(
    scripted: None, tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: tuple[str, ...], setting: str
) -> None:
    run = tmp_path / "run"
    assert train(viba_like(tmp_path), run, *extra) == 0
    assert json.loads((run / "run.json").read_text())["config"]["grammar"] == setting
    trained = json.loads(capsys.readouterr().out)
    assert 0.0 <= trained["valid"] <= 1.0
    assert cli.main(["eval", "--run-dir", str(run), "--json", "--no-cache", "--quiet"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert set(result) == {"loss", "exact", "valid", "n"} and result["valid"] == 1.0
    assert cli.main(["eval", "--run-dir", str(run), "--no-cache", "--quiet"]) == 0
    assert "  valid 1.000  n 1" in capsys.readouterr().out


def test_grammar_on_without_a_dataset_grammar_exits_2_and_creates_nothing(
    scripted: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tmp_path / "run"
    assert train(write_dataset(tmp_path), run, "--grammar", "on") == 2
    err = capsys.readouterr().err
    assert "names no grammar" in err and "--grammar off" in err and "Traceback" not in err
    assert not run.exists()
    assert train(write_dataset(tmp_path), run) == 0  # the default: off, as the dataset has no grammar
    assert json.loads((run / "run.json").read_text())["config"]["grammar"] == "off"


@pytest.mark.llm
def test_eval_of_the_viba_dataset_prints_valid_with_the_local_model(
    tmp_path: Path, local_model_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`experience eval --run-dir R --dataset <viba> --json` as a user runs it (2 val pairs, zero-shot, grammar on)."""
    from experience.tasks.dataset import load_dataset
    from experience_bench.common import write_subset

    dataset = write_subset(load_dataset(ROOT / "datasets" / "viba"), tmp_path / "viba", {"train": 2, "val": 2}, 0)
    run = tmp_path / "run"
    args = ["eval", "--run-dir", str(run), "--dataset", str(dataset), "--json", "--quiet"]
    assert cli.main([*args, "--cache", str(tmp_path / "cache.sqlite")]) == 0
    result = json.loads(capsys.readouterr().out)
    assert set(result) == {"loss", "exact", "valid", "n"} and result["n"] == 2 and 0.0 <= result["valid"] <= 1.0
    assert json.loads((run / "run.json").read_text())["config"]["grammar"] == "on"  # viba names a grammar


def test_eval_grammar_overrides_the_runs_setting_for_that_evaluation_only(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    backends: list[ScriptedBackend] = []

    def backend() -> ScriptedBackend:
        backends.append(ScriptedBackend(copying_translator))
        return backends[-1]

    class RecordingService(Service):
        def __init__(self, **kwargs: Any) -> None:
            super().__init__(backend_factory=backend, **kwargs)

    monkeypatch.setattr(cli, "Service", RecordingService)
    dataset, run = viba_like(tmp_path), tmp_path / "run"
    assert train(dataset, run) == 0
    grammar = (dataset / "viba.gbnf").read_text(encoding="utf-8")

    def evaluate(*extra: str) -> set[str | None]:
        backends.clear()
        assert cli.main(["eval", "--run-dir", str(run), "--json", "--no-cache", "--quiet", *extra]) == 0
        json.loads(capsys.readouterr().out.splitlines()[-1])
        return {t.grammar for b in backends for t in b.calls if t.tag == "translate"}

    assert evaluate() == {grammar}  # the run's setting: on
    assert evaluate("--grammar", "off") == {None}
    assert json.loads((run / "run.json").read_text())["config"]["grammar"] == "on"  # the run keeps its own
    assert evaluate("--grammar", "on") == {grammar}
    with pytest.raises(SystemExit):
        cli.main(["eval", "--run-dir", str(run), "--grammar", "maybe"])
    assert "invalid choice: 'maybe'" in capsys.readouterr().err
