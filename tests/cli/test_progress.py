"""The CLI progress bar: one bar over the whole run, its rate and ETA from the run's start."""

from __future__ import annotations

import io

from experience.events import Log, Progress
from experience_daemon.progress import ProgressRenderer


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_rate_and_eta_cover_the_whole_run_through_steps_and_validation() -> None:
    clock, out = Clock(), io.StringIO()
    renderer = ProgressRenderer(file=out, clock=clock)
    clock.now += 10  # the first step takes 10 s: its samples are not divided by the time since the bar appeared
    renderer(Progress(4, 12, "epoch 1/3 step 1"))
    bar = renderer.bar
    assert bar is not None and "4/12 [00:10<00:20" in renderer.text() and "2.50s/sample" in renderer.text()
    clock.now += 5
    renderer(Progress(1, 2, "evaluating val"))  # validation between epochs: shown beside, not a new bar
    assert renderer.bar is bar and bar.n == 4 and "evaluating val 1/2" in renderer.text()
    clock.now += 5
    renderer(Progress(8, 12, "epoch 2/3 step 2"))
    assert renderer.bar is bar and "8/12 [00:20<00:10" in renderer.text() and "2.50s/sample" in renderer.text()
    assert "evaluating" not in renderer.text()
    renderer(Log("a line"))
    assert "a line" in out.getvalue()
    renderer.close()


def test_a_standalone_evaluation_gets_its_own_bar_and_a_new_run_restarts_it() -> None:
    clock = Clock()
    renderer = ProgressRenderer(file=io.StringIO(), clock=clock)
    clock.now += 2
    renderer(Progress(2, 4, "evaluating val"))
    assert renderer.phase == "evaluate" and "2/4 [00:02<00:02" in renderer.text()
    renderer(Progress(4, 4, "evaluating val"))
    clock.now += 1
    renderer(Progress(1, 10, "epoch 1/1 step 1"))  # another job: a new bar, its clock from the last one's end
    assert renderer.phase == "train" and "1/10 [00:01<00:09" in renderer.text()


def test_quiet_draws_nothing() -> None:
    out = io.StringIO()
    renderer = ProgressRenderer(quiet=True, file=out)
    renderer(Progress(1, 2, "epoch 1/1 step 1"))
    renderer(Log("hidden"))
    assert renderer.bar is None and out.getvalue() == ""
