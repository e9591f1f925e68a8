"""The CLI's progress display: one bar over the whole run (rate and ETA from its start), log lines on stderr.

The trainer reports `Progress(done, total)` after each step over the whole run, and `Progress` of each
validation pass ("evaluating <split>") in between. The bar follows the run's samples only: a validation
pass shows as the bar's postfix, never resets it. Its clock starts with the command, not at the first
finished step, and the rate is the average over the run (tqdm's `smoothing=0`): a bar created after the
first step would divide that step's samples by a few microseconds ("99864 sample/s").
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any, TextIO

from tqdm import tqdm

from experience.events import Event, Log, Metrics, Progress

EVALUATING = "evaluating"


class ProgressRenderer:
    """Turns core events into a tqdm bar and log lines (stderr unless `file` is given)."""

    def __init__(
        self, quiet: bool = False, *, file: TextIO | None = None, clock: Callable[[], float] = time.time
    ) -> None:
        self.quiet = quiet
        self.file = file
        self.clock = clock
        self.bar: tqdm[Any] | None = None
        self.phase = ""  # "train" or "evaluate": what the bar counts
        self.started = clock()  # the run's clock: from the command's start

    def __call__(self, event: Event) -> None:
        if self.quiet:
            return
        if isinstance(event, Progress):
            self.progress(event)
        elif isinstance(event, Metrics):
            rec = event.record
            line = f"step {rec.get('step')} {rec.get('split')}: loss {rec.get('loss', 0):.4f}"
            line += f" exact {rec.get('exact', 0):.2f}"
            line += f" valid {rec['valid']:.2f}" if isinstance(rec.get("valid"), (int, float)) else ""
            line += f" calls {rec.get('calls')}"
            line += f" cache_hits {rec.get('cache_hits')} {rec.get('seconds')}s"
            self._write(line)
        elif isinstance(event, Log):
            self._write(f"[{event.level}] {event.message}")

    def progress(self, event: Progress) -> None:
        """Advance the run's bar; a validation pass inside a run shows as its postfix."""
        evaluating = event.message.startswith(EVALUATING)
        if evaluating and self.bar is not None and self.phase == "train":
            self.bar.set_postfix_str(f"{event.message} {event.done}/{event.total}")
            return
        phase = "evaluate" if evaluating else "train"
        bar = self.bar
        if bar is None or self.phase != phase or bar.total != event.total or event.done < bar.n:
            bar = self._new_bar(event.total, phase)
        bar.set_description(event.message, refresh=False)
        if not evaluating:
            bar.set_postfix_str("", refresh=False)
        bar.update(event.done - bar.n)
        if bar.n >= bar.total:
            self.started = self.clock()  # a next job's clock starts where this one ended

    def _new_bar(self, total: int, phase: str) -> tqdm[Any]:
        self.close()
        bar: tqdm[Any] = tqdm(total=total, file=self.file or sys.stderr, unit="sample", dynamic_ncols=True, smoothing=0)
        bar._time = self.clock  # one clock for the bar and the run (tests pass their own)
        bar.start_t = bar.last_print_t = self.started
        self.bar, self.phase = bar, phase
        return bar

    def text(self) -> str:
        """The bar as it reads now (empty without one)."""
        return tqdm.format_meter(**self.bar.format_dict) if self.bar is not None else ""

    def _write(self, line: str) -> None:
        if self.bar is not None:
            self.bar.write(line, file=self.file or sys.stderr)
        else:
            (self.file or sys.stderr).write(line + "\n")

    def close(self) -> None:
        """Finish the current bar."""
        if self.bar is not None:
            self.bar.close()
            self.bar = None
