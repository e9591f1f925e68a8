"""What one `train` call asks for: a new run's settings (RunConfig fields) and the call's own options.

RunConfig (run_dir.py) is the one definition of a run's settings; run.json stores it. A new run's settings are a
mapping of RunConfig field -> value laid over the new-run defaults below (a dataset decides what is None there).
RunOptions holds what belongs to one call: epochs, budgets, cache, limits. A new run records three of its options
(dataset, executor, workers); a resumed run keeps its settings and takes only the options.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import MISSING, dataclass, fields
from pathlib import Path
from typing import Any

from experience.tasks.dataset import Dataset, DatasetError
from experience.train.run_dir import NEW_RUN_QUERY, NEW_RUN_RETRIEVER, RunConfig, RunError


@dataclass
class RunOptions:
    """How one `train` call runs; not stored with the run, except what a new run records (see RECORDED)."""

    dataset: str | None = None  # the dataset folder: a new run's (recorded), or another copy for a resumed run
    epochs: int = 3
    resume: bool = False
    max_steps: int | None = None  # stop after this many steps (resumable)
    max_calls: int | None = None  # budgets: stop cleanly after this many LLM calls / tokens / USD
    max_tokens: int | None = None  # a token budget; not RunConfig.max_tokens (the length cap of one answer)
    max_cost: float | None = None
    cache: str | None = None  # the response cache file (None: the shared default)
    no_cache: bool = False
    concurrency: int = 1
    executor: str | None = None  # None: the run's (a new run: inprocess)
    workers: int | None = None  # Ray workers (None: the run's, else 1)


FROM_DATASET = ("source_ext", "target_ext", "task_prompt")  # a new run copies them from the dataset's manifest
INTERNAL = ("noise_std", "max_tokens", "baseline")  # stored in run.json with their defaults, offered to nobody
RECORDED = ("dataset", "executor", "workers")  # RunOptions a new run stores in its RunConfig
RUN_SETTINGS = tuple(
    f.name for f in fields(RunConfig) if f.name not in (*FROM_DATASET, *INTERNAL, *RECORDED)
)  # what a user sets for a new run: the keys of `settings`

# Where a new run differs from RunConfig's defaults (those keep the meaning of run.json files written before a
# setting existed). None: the dataset decides (its manifest's query, else NEW_RUN_QUERY; grammar on when it
# names one).
NEW_RUN_DEFAULTS: dict[str, Any] = {"query": None, "retriever": NEW_RUN_RETRIEVER, "grammar": None}


def new_run_defaults() -> dict[str, Any]:
    """Every run setting's value for a new run that is not told otherwise."""
    defaults = {f.name: f.default for f in fields(RunConfig) if f.name in RUN_SETTINGS and f.default is not MISSING}
    return defaults | NEW_RUN_DEFAULTS


def unknown_settings(settings: Mapping[str, Any]) -> list[str]:
    """A sentence for each name in `settings` that is not a run setting (empty: all known)."""
    known = ", ".join(RUN_SETTINGS)
    return [f"{name!r} is not a run setting (run settings: {known})" for name in settings if name not in RUN_SETTINGS]


def grammar_setting(asked: str | None, dataset: Dataset) -> str:
    """A new run's grammar: as asked, else on when the dataset names one; "on" without one is an error."""
    if asked == "on" and dataset.grammar is None:
        raise DatasetError(
            f"--grammar on, but dataset {dataset.path or dataset.name} names no grammar; add a .gbnf file and "
            "'grammar' to its manifest.json, or pass --grammar off"
        )
    return asked or ("on" if dataset.grammar is not None else "off")


def new_run_config(dataset: Dataset, settings: Mapping[str, Any], options: RunOptions) -> RunConfig:
    """The RunConfig of a new run on `dataset`: `settings` (None values: the default) over new_run_defaults()."""
    problems = unknown_settings(settings)
    if problems:
        raise RunError(f"unknown run settings: {'; '.join(problems)}")
    chosen = new_run_defaults() | {name: value for name, value in settings.items() if value is not None}
    chosen["query"] = chosen["query"] or dataset.query or NEW_RUN_QUERY
    chosen["grammar"] = grammar_setting(chosen["grammar"], dataset)
    return RunConfig(
        dataset=str(Path(dataset.path or options.dataset or ".").resolve()),
        source_ext=dataset.source_ext,
        target_ext=dataset.target_ext,
        task_prompt=dataset.task_prompt,
        executor=options.executor or "inprocess",
        workers=options.workers or 1,
        **chosen,
    )
