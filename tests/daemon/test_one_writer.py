"""The lock is taken before run state is read: a trainer that opened a run early continues from the disk."""

from __future__ import annotations

import json
from pathlib import Path

from daemon_doubles import write_dataset

from doubles import ScriptedBackend
from experience.events import Event, EventSink, Log
from experience.kernel import Kernel
from experience.tasks.dataset import load_dataset
from experience.train.options import RunOptions
from experience.train.run_dir import RunDir
from experience.train.trainer import Trainer
from experience_daemon.service import Service
from learning_fixtures import copying_translator


def test_a_resume_opened_before_another_writer_trained_continues_from_that_writers_state(tmp_path: Path) -> None:
    dataset = write_dataset(tmp_path / "data")
    run_dir = tmp_path / "run"
    service = Service(backend_factory=lambda: ScriptedBackend(copying_translator))
    first = RunOptions(dataset=str(dataset), epochs=2, max_steps=1, no_cache=True)
    service.train(str(run_dir), first, {"rows": 6, "batch_size": 1})
    stale = service.session(str(run_dir))  # this daemon holds the run open at step 1
    assert stale.run.state.step == 1
    other = RunDir.open(run_dir)  # another process trains two more steps meanwhile
    with other.lock():
        Trainer(other, load_dataset(str(dataset)), Kernel(ScriptedBackend(copying_translator))).train(2, max_steps=2)
    assert RunDir.open(run_dir).state.step == 3
    result = service.train(str(run_dir), RunOptions(resume=True, epochs=2, max_steps=1, no_cache=True))
    assert result["step"] == 4  # not 2: the stale step-1 state was never written back
    records = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records if r["split"] == "train"] == [1, 2, 3, 4]
    assert stale.experience.texts() == RunDir.open(run_dir).load_experience().texts()
    service.close()


def test_a_resume_says_which_asked_settings_it_does_not_take(tmp_path: Path) -> None:
    dataset = write_dataset(tmp_path / "data")
    run_dir = tmp_path / "run"
    service = Service(backend_factory=lambda: ScriptedBackend(copying_translator))
    service.train(str(run_dir), RunOptions(dataset=str(dataset), max_steps=1, no_cache=True), {"rows": 6})
    logs: list[Log] = []
    resume = RunOptions(resume=True, max_steps=1, no_cache=True)
    service.train(str(run_dir), resume, {"grad": "llm", "rows": 6, "topk": None}, events=collect(logs))
    warned = [log.message for log in logs if log.level == "warning" and "resumed run" in log.message]
    assert warned == [
        "a resumed run keeps the settings in its run.json; ignored: grad=llm (the run's: example). "
        "Train a new run to change them"
    ]  # rows=6 is the run's own and topk=None asks nothing: neither is named
    assert RunDir.open(run_dir).config.grad == "example"
    logs.clear()
    service.train(str(run_dir), resume, {"rows": 6}, events=collect(logs))
    assert not [log for log in logs if "resumed run" in log.message]
    service.close()


def collect(logs: list[Log]) -> EventSink:
    """An event sink keeping the Log events."""

    def sink(event: Event) -> None:
        if isinstance(event, Log):
            logs.append(event)

    return sink
