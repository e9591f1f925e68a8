"""`experience bench --variants grammar`: the default variant with and without the dataset's grammar, `valid` shown."""

from __future__ import annotations

from pathlib import Path

from doubles import ScriptedBackend
from experience.tasks.dataset import load_dataset
from experience_bench import baselines
from experience_bench.common import write_subset
from experience_bench.learning import GRAMMAR_VARIANTS, Lab, LearnPlan, learn
from experience_bench.ledger import CountingKernel
from experience_bench.report import markdown
from experience_bench.runner import BenchOptions, prompt_baselines, variant_options
from learning_fixtures import copying_translator, with_viba_checks, write_dataset

ROOT = Path(__file__).resolve().parents[2]


def test_the_grammar_set_is_the_default_variant_on_and_off() -> None:
    options = variant_options("grammar")
    assert options["variant_set"] == "grammar" and options["variants"] == GRAMMAR_VARIANTS
    base = LearnPlan("viba", "datasets/viba", ("val",))
    names = [v.plan(base, 6).name for v in GRAMMAR_VARIANTS]
    assert names == [
        "viba/example/rows32/lexical-query/hybrid/grammar-on",
        "viba/example/rows32/lexical-query/hybrid/grammar-off",
    ]
    assert [v.plan(base, 6).grammar for v in GRAMMAR_VARIANTS] == ["on", "off"]


def test_a_subset_keeps_its_grammar(tmp_path: Path) -> None:
    full = load_dataset(ROOT / "datasets" / "shapes")
    subset = load_dataset(write_subset(full, tmp_path / "shapes", {"train": 3, "val": 2, "test": 2}, 0))
    assert subset.grammar == full.grammar and subset.checker == full.checker


def test_grammar_runs_record_valid_and_the_report_shows_it(tmp_path: Path) -> None:
    folder = with_viba_checks(write_dataset(tmp_path))
    backend = ScriptedBackend(copying_translator)
    lab = Lab(CountingKernel(backend))
    base = LearnPlan("tiny", "tiny", ("val",), epochs=2, rows=6, batch_size=2)
    result: dict[str, object] = {"variant_set": "grammar", "learning": {}}
    for variant in GRAMMAR_VARIANTS:
        plan = variant.plan(base, 4)
        backend.calls.clear()
        got = learn(lab, plan, folder, (0, 1), tmp_path / "runs", lambda line: None)
        grammars = {t.grammar for t in backend.calls if t.tag == "translate"}
        assert grammars == ({folder.joinpath("viba.gbnf").read_text()} if variant.grammar == "on" else {None})
        val = got["splits"]["val"]
        assert val["before"]["valid"]["mean"] == 0.0 and val["after"]["valid"]["mean"] == 1.0
        assert got["per_seed"]["0"]["after"]["val"]["valid"] == 1.0
        result["learning"][plan.name] = {"dataset": "tiny", "variant": variant.as_dict(4), **got}  # type: ignore[index]
    text = markdown(result)
    assert "| method | loss | exact | valid |" in text
    assert "| Experience, grad=example, rows=32, grammar=on | **0.000 ± 0.000** | 1.00 | 1.00 |" in text, text
    assert "| Experience, grad=example, rows=32, grammar=off |" in text
    assert "grammar-on: untrained loss val 0.743 ± 0.000 (valid 0.00)" in text


def test_prompt_baselines_decode_under_the_grammar_when_asked_and_report_valid(tmp_path: Path) -> None:
    data = load_dataset(with_viba_checks(write_dataset(tmp_path)))
    pairs = data.split("val")
    backend = ScriptedBackend(copying_translator)
    kernel = CountingKernel(backend)
    free = baselines.run_prompt(kernel, data, pairs, data.split("train")[:2])
    assert {t.grammar for t in backend.calls} == {None} and free.valid == 1.0
    backend.calls.clear()
    ruled = baselines.run_prompt(kernel, data, pairs, data.split("train")[:2], grammar=True)
    assert {t.grammar for t in backend.calls} == {data.grammar}
    assert {t.max_tokens for t in backend.calls} == {256}  # a constrained answer gets the whole limit
    assert ruled.valid == 1.0
    garbage = baselines.run_prompt(CountingKernel(ScriptedBackend("def f(:")), data, pairs, [])
    assert garbage.valid == 0.0  # the checker (the project's Viba parser) refuses Python


def test_grammar_bench_reports_both_baseline_sets(tmp_path: Path) -> None:
    data = load_dataset(with_viba_checks(write_dataset(tmp_path)))
    kernel = CountingKernel(ScriptedBackend(copying_translator))
    options = BenchOptions(seeds=(0,), **variant_options("grammar"))
    base = prompt_baselines(kernel, data, ("val",), options, False)
    base["grammar_on"] = prompt_baselines(kernel, data, ("val",), options, True)
    assert base["grammar_on"]["few_shot"]["splits"]["val"]["valid"]["mean"] == 1.0
    run = learn(
        Lab(kernel),
        GRAMMAR_VARIANTS[0].plan(LearnPlan("tiny", "tiny", ("val",)), 4),
        data.path,
        (0,),
        tmp_path / "runs",
        lambda line: None,
    )
    entry = {"dataset": "tiny", "variant": GRAMMAR_VARIANTS[0].as_dict(4), **run}
    text = markdown({"variant_set": "grammar", "baselines": {"tiny": base}, "learning": {"tiny/on": entry}})
    for label in ("zero-shot", "few-shot k=3", "all 4 train pairs in prompt"):
        assert f"| {label}, grammar=off |" in text and f"| {label}, grammar=on |" in text, text
