"""`--grad llm` end to end with the real model, bounded rows with provenance, and `experience rollback`."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from test_cli import experience

from learning_fixtures import files, write_dataset


@pytest.mark.llm
def test_llm_gradient_trains_one_step_with_the_local_model_under_bounded_rows(
    tmp_path: Path, local_model_path: Path
) -> None:
    dataset = write_dataset(tmp_path)
    run = tmp_path / "run"
    args = ("train", "--dataset", str(dataset), "--run-dir", str(run), "--grad", "llm", "--rows", "2")
    done = experience(*args, "--batch-size", "4", "--max-steps", "1", "--cache", str(tmp_path / "c.sqlite"))
    assert done.returncode == 0, done.stderr
    record = json.loads((run / "metrics.jsonl").read_text().splitlines()[0])
    assert record["calls"] >= 4 + 2 * 1  # translations, keywords, and two rewrite calls per routed row
    config = json.loads((run / "run.json").read_text())["config"]
    assert config["grad"] == "llm" and config["capacity"] == "evict" and config["rows"] == 2
    shown = experience("show", "--run-dir", str(run), "--json")
    entries = json.loads(shown.stdout)
    filled = [e for e in entries if e["filled"]]
    assert 1 <= len(filled) <= 2
    patches = json.loads((run / "patches" / "000001.json").read_text())
    routed = {name for p in patches for name in p["samples"]}
    assert routed and {n for e in filled for n in e["samples"]} == routed  # every sample that shaped a row


def test_rollback_from_the_cli_restores_the_copy(tmp_path: Path) -> None:
    """Scripted steps through the library, rollback through the CLI as a user runs it."""
    from doubles import ScriptedBackend
    from experience.kernel import Kernel
    from experience.tasks.dataset import load_dataset
    from experience.train.run_dir import RunConfig, RunDir
    from experience.train.trainer import Trainer
    from learning_fixtures import copying_translator

    data = write_dataset(tmp_path)
    cfg = RunConfig(dataset=str(data), source_ext="py", target_ext="viba", task_prompt="T", rows=6, batch_size=1)
    path = tmp_path / "run"
    RunDir.create(path, cfg)

    def train(steps: int) -> None:
        run = RunDir.open(path)
        Trainer(run, load_dataset(data), Kernel(ScriptedBackend(copying_translator))).train(2, max_steps=steps)

    train(2)
    copy = tmp_path / "copy"
    shutil.copytree(path / "experience", copy)
    train(3)
    back = experience("rollback", "--run-dir", str(path), "--to-step", "2")
    assert back.returncode == 0, back.stderr
    assert json.loads(back.stdout)["undone"] == [3, 4, 5]
    assert files(path / "experience") == files(copy)
    bad = experience("rollback", "--run-dir", str(path), "--to-step", "9")
    assert bad.returncode == 2 and "steps 0..2" in bad.stderr and "Traceback" not in bad.stderr
