"""A new run's RunConfig: settings over the new-run defaults, the dataset deciding query and grammar."""

from __future__ import annotations

from pathlib import Path

import pytest

from experience.tasks.dataset import Dataset, DatasetError
from experience.train.options import RUN_SETTINGS, RunOptions, new_run_config, new_run_defaults
from experience.train.run_dir import RunConfig, RunError


def dataset(tmp_path: Path, *, query: str | None = None, grammar: str | None = None) -> Dataset:
    """A dataset with no pairs: only what a new run copies from it matters here."""
    return Dataset("d", "py", "viba", "Translate.", path=tmp_path, query=query, grammar=grammar)


def test_a_new_run_without_settings_gets_todays_defaults(tmp_path: Path) -> None:
    config = new_run_config(dataset(tmp_path), {}, RunOptions())
    assert (config.query, config.retriever, config.grammar) == ("lexical", "hybrid", "off")
    assert (config.backend, config.model, config.seed, config.topk, config.rows) == ("local", None, 0, 3, 32)
    assert (config.batch_size, config.lr, config.grad, config.capacity, config.review) == (
        4,
        1.0,
        "example",
        "evict",
        False,
    )
    assert (config.executor, config.workers) == ("inprocess", 1)
    assert (config.dataset, config.source_ext, config.task_prompt) == (str(tmp_path.resolve()), "py", "Translate.")
    assert RunOptions().epochs == 3


def test_the_dataset_decides_query_and_grammar_unless_told(tmp_path: Path) -> None:
    data = dataset(tmp_path, query="llm", grammar="root ::= [a-z]+")
    config = new_run_config(data, {"query": None, "grammar": None}, RunOptions())  # None: the default
    assert (config.query, config.grammar) == ("llm", "on")
    told = new_run_config(data, {"query": "lexical", "grammar": "off", "rows": 6}, RunOptions(workers=2))
    assert (told.query, told.grammar, told.rows, told.workers) == ("lexical", "off", 6, 2)


def test_grammar_on_without_a_grammar_and_unknown_settings_are_refused(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="--grammar off"):
        new_run_config(dataset(tmp_path), {"grammar": "on"}, RunOptions())
    with pytest.raises(RunError, match="'temperature' is not a run setting"):
        new_run_config(dataset(tmp_path), {"temperature": 0.2}, RunOptions())


def test_only_where_new_runs_differ_do_the_defaults_leave_run_configs() -> None:
    stored = RunConfig("d", "py", "viba", "t")  # what a run.json without the newer keys means
    differ = {name for name, value in new_run_defaults().items() if getattr(stored, name) != value}
    assert differ == {"query", "retriever", "grammar"}
    assert set(new_run_defaults()) == set(RUN_SETTINGS)
