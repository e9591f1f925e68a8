"""`experience bench --variants grammar`: the default variant with and without the dataset's grammar, `valid` shown."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from doubles import ScriptedBackend
from experience.bench.common import write_subset
from experience.bench.learning import GRAMMAR_VARIANTS, Lab, LearnPlan, learn
from experience.bench.ledger import CountingKernel
from experience.bench.report import markdown
from experience.bench.runner import variant_options
from experience.tasks.dataset import load_dataset
from learning_fixtures import copying_translator, write_dataset

ROOT = Path(__file__).resolve().parents[2]


def test_the_grammar_set_is_the_default_variant_on_and_off() -> None:
    options = variant_options("grammar")
    assert options["variant_set"] == "grammar" and options["variants"] == GRAMMAR_VARIANTS
    base = LearnPlan("viba", "datasets/viba", ("val",))
    names = [v.plan(base, 6).name for v in GRAMMAR_VARIANTS]
    assert names == ["viba/example/rows32/grammar-on", "viba/example/rows32/grammar-off"]
    assert [v.plan(base, 6).grammar for v in GRAMMAR_VARIANTS] == ["on", "off"]


def test_a_subset_keeps_its_grammar(tmp_path: Path) -> None:
    full = load_dataset(ROOT / "datasets" / "shapes")
    subset = load_dataset(write_subset(full, tmp_path / "shapes", {"train": 3, "val": 2, "test": 2}, 0))
    assert subset.grammar == full.grammar and subset.checker == full.checker


def test_grammar_runs_record_valid_and_the_report_shows_it(tmp_path: Path) -> None:
    folder = write_dataset(tmp_path)
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    shutil.copy(ROOT / "datasets" / "viba" / "viba.gbnf", folder / "viba.gbnf")
    manifest |= {"checker": "experience.tasks.viba:check", "grammar": "viba.gbnf"}
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
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
    assert "| Experience, grad=example, rows=32, grammar=on | **0.000 ± 0.000** | 1.00 | 1.00 |" in text
    assert "| Experience, grad=example, rows=32, grammar=off |" in text
    assert "grammar-on: untrained loss val 0.743 ± 0.000 (valid 0.00)" in text
