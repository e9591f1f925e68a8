"""The query column without an LLM call: identifiers and syntax kinds; one call per sample per step."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from doubles import ScriptedBackend
from experience.kernel import Kernel
from experience.retrieval.query import generate_queries, lexical_query, syntax_words
from experience.tasks.dataset import DatasetError, load_dataset
from experience.train.run_dir import RunConfig, RunDir
from experience.train.trainer import Trainer
from learning_fixtures import copying_translator, write_dataset

SOURCE = (
    "def evens(xs: list[int]) -> list[int]:\n    total = 0\n    for x in xs:\n        total += x\n"
    "    return [x for x in xs if x % 2 == 0]\n"
)


def test_lexical_query_names_identifiers_and_syntax_but_not_what_every_source_has() -> None:
    words = lexical_query(SOURCE).splitlines()
    assert {"evens", "total", "loop", "listcomp", "accumulate", "compare"} <= set(words)
    assert not {"function", "return", "call"} & set(words)
    assert words == sorted(set(words))
    assert syntax_words("this is not python (") == []


def test_lexical_mode_makes_no_llm_call_and_llm_mode_makes_one_per_source() -> None:
    backend = ScriptedBackend("words\nhere")
    kernel = Kernel(backend)
    assert generate_queries(kernel, [SOURCE, None], mode="lexical") == [lexical_query(SOURCE), ""]
    assert backend.calls == []
    generate_queries(kernel, [SOURCE, None], mode="llm")
    assert backend.tags == ["query"]
    with pytest.raises(ValueError, match="unknown query mode"):
        generate_queries(kernel, [SOURCE], mode="embedding")


def test_a_lexical_run_makes_one_call_per_sample_per_step(tmp_path: Path) -> None:
    dataset = load_dataset(write_dataset(tmp_path))
    cfg = RunConfig(
        dataset=str(dataset.path), source_ext="py", target_ext="viba", task_prompt="T", rows=6, batch_size=2,
        query="lexical",
    )  # fmt: skip
    run = RunDir.create(tmp_path / "run", cfg)
    backend = ScriptedBackend(copying_translator)
    Trainer(run, dataset, Kernel(backend)).train(1)
    train = [m for m in run.metrics() if m["split"] == "train"]
    assert [m["calls"] for m in train] == [m["n"] for m in train] == [2, 2]
    assert "query" not in backend.tags
    filled = [q for q in RunDir.open(run.path).load_experience().texts()[0::3] if q]
    assert filled and all("return" not in q.splitlines() for q in filled)


def test_the_dataset_manifest_chooses_the_query_mode(tmp_path: Path) -> None:
    folder = write_dataset(tmp_path)
    manifest = json.loads((folder / "manifest.json").read_text())
    (folder / "manifest.json").write_text(json.dumps(manifest | {"query": "lexical"}))
    assert load_dataset(folder).query == "lexical"
    (folder / "manifest.json").write_text(json.dumps(manifest | {"query": "telepathy"}))
    with pytest.raises(DatasetError, match="'query' must be"):
        load_dataset(folder)
