"""The bench plumbing with the scripted kernel: spreads, few-shot prompts, scoring, figures, JSON and markdown."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from doubles import ScriptedBackend
from experience.kernel import Kernel
from experience.tasks.dataset import Pair, load_dataset
from experience.train.run_dir import RunDir
from experience_bench import BenchOptions, run_bench, write_outputs
from experience_bench.baselines import all_pairs_baseline, few_shot_baseline, few_shot_task, pick_shots, run_prompt
from experience_bench.common import Spread, score, write_subset
from experience_bench.learning import VARIANTS, Lab, LearnPlan, Variant, cost_per_epoch
from experience_bench.ledger import CountingKernel, per_sample
from experience_bench.peer import PYTHON_ENV, dspy_baseline
from experience_bench.report import markdown
from experience_bench.system import overhead_figures
from experience_daemon import cli
from learning_fixtures import copying_translator, write_dataset

REPO = Path(__file__).resolve().parents[2]


def test_spread_is_mean_sample_std_min_max() -> None:
    s = Spread.of([1.0, 2.0, 3.0])
    assert (s.mean, s.std, s.min, s.max, s.n) == (2.0, 1.0, 1.0, 3.0, 3)
    assert Spread.of([0.25]).std == 0.0
    assert Spread.of([0.1, 0.2]).as_dict()["std"] == pytest.approx(0.0707, abs=1e-4)
    with pytest.raises(ValueError):
        Spread.of([])


def test_few_shot_prompt_is_seeded_chat_turns() -> None:
    train = [Pair(f"p{i}", f"def p{i}():\n    pass\n", f"p{i} :=\n  <- {i}\n") for i in range(10)]
    shots = pick_shots(train, 3, seed=7)
    assert shots == pick_shots(train, 3, seed=7) and len(set(shots)) == 3
    assert [p.name for p in shots] != [p.name for p in pick_shots(train, 3, seed=8)]
    task = few_shot_task("Translate.", shots, "def q():\n    pass\n")
    roles = [m.role for m in task.messages]
    assert roles == ["system", "user", "assistant", "user", "assistant", "user", "assistant", "user"]
    assert task.messages[0].content.startswith("Translate.")
    assert [m.content for m in task.messages[1:7:2]] == [p.source.rstrip("\n") for p in shots]
    assert [m.content for m in task.messages[2:7:2]] == [p.target.rstrip("\n") for p in shots]
    assert task.messages[-1].content == "def q():\n    pass"
    assert task.max_tokens == 32 + max(len(p.target.rstrip("\n")) for p in shots)
    assert few_shot_task("T.", [], "x").max_tokens == 256
    with pytest.raises(ValueError):
        pick_shots(train, 11, seed=0)


def test_scoring_uses_the_task_verifier(tmp_path: Path) -> None:
    shapes = load_dataset(REPO / "datasets" / "shapes")
    pairs = shapes.split("val")[:2]
    answers = [pairs[0].target.strip(), "no idea"]
    got = score(shapes, pairs, [f"The shape is {answers[0]}", answers[1]])
    assert got.exact == 0.5 and got.n == 2 and 0.0 < got.loss <= 1.0
    viba = load_dataset(write_dataset(tmp_path))
    val = viba.split("val")
    assert score(viba, val, ["```\n" + val[0].target + "```\n"]).exact == 1.0  # fences stripped like the trainer
    assert score(viba, val, ["x"]).exact == 0.0


def test_few_shot_baseline_runs_per_seed_and_counts_calls(tmp_path: Path) -> None:
    data = load_dataset(write_dataset(tmp_path))
    backend = ScriptedBackend(copying_translator)
    out = few_shot_baseline(Kernel(backend), data, ["val"], [0, 1], k=2)
    val = out["splits"]["val"]
    assert val["loss"]["n"] == 2 and set(val["per_seed"]) == {"0", "1"} and val["calls_per_sample"] <= 1.0
    assert len(backend.calls) >= 1 and all(len(t.messages) == 6 for t in backend.calls)
    zero = run_prompt(Kernel(ScriptedBackend("nope")), data, data.split("val"), [])
    assert zero.calls == 1 and zero.score.exact == 0.0 and zero.outputs == ("nope\n",)


def test_write_subset_keeps_manifest_and_seeded_sizes(tmp_path: Path) -> None:
    shapes = load_dataset(REPO / "datasets" / "shapes")
    folder = write_subset(shapes, tmp_path / "sub", {"train": 5, "val": 3, "test": None}, seed=1)
    sub = load_dataset(folder)
    assert [len(sub.splits[s]) for s in ("train", "val", "test")] == [5, 3, len(shapes.splits["test"])]
    assert sub.verifier == shapes.verifier and sub.task_prompt == shapes.task_prompt
    again = load_dataset(write_subset(shapes, tmp_path / "sub2", {"train": 5}, seed=1))
    assert [p.name for p in again.splits["train"]] == [p.name for p in sub.splits["train"]]


def test_overhead_figures_math_and_verdicts() -> None:
    cold = [{"seconds": 10.0, "calls": 8, "cache_hits": 0, "n": 4, "prompt_tokens": 400} for _ in range(2)]
    warm = [{"seconds": 0.1, "calls": 0, "cache_hits": 8, "n": 4, "prompt_tokens": 0} for _ in range(2)]
    figures, details = overhead_figures(cold, warm)
    by = {f["name"].split(" (")[0]: f for f in figures}
    assert by["framework overhead per step"]["value"] == pytest.approx(1.0) and by["framework overhead per step"]["ok"]
    assert by["cached re-run speed-up"]["value"] == pytest.approx(100.0) and by["cached re-run speed-up"]["ok"]
    assert by["LLM calls per sample per step"]["value"] == 2.0 and by["LLM calls per sample per step"]["ok"]
    assert details["llm_seconds_per_step_estimate"] == pytest.approx(9.9)
    leaky = [dict(r, calls=1) for r in warm]
    figures, _ = overhead_figures(cold, leaky)
    assert figures[0]["ok"] is False and "real calls" in figures[0]["note"]
    with pytest.raises(ValueError):
        overhead_figures(cold, warm[:1])


def test_cost_per_epoch_divides_by_samples() -> None:
    recs = [
        {"split": "train", "epoch": 0, "n": 2, "calls": 4, "cache_hits": 0, "prompt_tokens": 100,
         "completion_tokens": 20, "seconds": 2.0},
        {"split": "train", "epoch": 0, "n": 2, "calls": 2, "cache_hits": 2, "prompt_tokens": 60,
         "completion_tokens": 20, "seconds": 1.0},
        {"split": "val", "epoch": 0, "n": 5, "calls": 10, "cache_hits": 0, "prompt_tokens": 1,
         "completion_tokens": 1, "seconds": 9.0},
    ]  # fmt: skip
    (epoch,) = cost_per_epoch(recs)
    assert epoch["samples"] == 4 and epoch["calls_per_sample"] == 1.5 and epoch["cache_hits_per_sample"] == 0.5
    assert epoch["prompt_tokens_per_sample"] == 40.0 and epoch["seconds_per_sample"] == 0.75


def test_all_pairs_prompt_holds_every_train_pair_in_order(tmp_path: Path) -> None:
    data = load_dataset(write_dataset(tmp_path))
    backend = ScriptedBackend(copying_translator)
    out = all_pairs_baseline(CountingKernel(backend), data, ["val"])
    train = data.split("train")
    assert out["shots"] == [p.name for p in train] and out["splits"]["val"]["loss"]["n"] == 1
    (task,) = backend.calls
    turns = [m.content for m in task.messages[1:-1]]
    assert turns == [text.rstrip("\n") for p in train for text in (p.source, p.target)]
    assert task.messages[-1].content == data.split("val")[0].source.rstrip("\n")
    assert out["splits"]["val"]["answer_cost"]["requests_per_sample"] == 1.0


def test_counting_kernel_tallies_cache_hits_with_their_tokens(tmp_path: Path) -> None:
    backend = ScriptedBackend("two words")
    kernel = CountingKernel(backend, cache_path=tmp_path / "c.sqlite")
    data = load_dataset(write_dataset(tmp_path))
    first = run_prompt(kernel, data, data.split("val"), [])
    again = run_prompt(kernel, data, data.split("val"), [])
    assert (first.calls, again.calls, again.cache_hits) == (1, 0, 1) and len(backend.calls) == 1
    assert kernel.tally.requests == {"few-shot": 2} and kernel.tally.completion_tokens == 4
    assert again.answer_cost == first.answer_cost and again.answer_cost["prompt_tokens_per_sample"] > 0
    steps = [
        {"n": 4, "requests": {"query": 4, "translate": 4}, "prompt_tokens": 400, "completion_tokens": 40,
         "real_calls": 8, "real_prompt_tokens": 400},
        {"n": 2, "requests": {"query": 2, "translate": 2, "rewrite-key": 3}, "prompt_tokens": 100,
         "completion_tokens": 10, "real_calls": 0, "real_prompt_tokens": 0},
    ]  # fmt: skip
    got = per_sample(steps)
    assert got["requests_per_sample_per_step"] == pytest.approx((2 + 3.5) / 2, abs=1e-3)
    assert got["requests_by_tag_per_sample_per_step"]["rewrite-key"] == pytest.approx(0.75, abs=1e-3)
    assert got["prompt_tokens_per_sample_per_step"] == 75.0 and got["real_calls_per_sample_per_step"] == 1.0


def test_variants_name_rows_and_grad() -> None:
    base = LearnPlan("viba", "datasets/viba", ("val",))
    names = [v.plan(base, 8).name for v in VARIANTS]
    assert names == ["viba/example/rows32", "viba/example/rows3", "viba/llm/rows32", "viba/llm/rows3"]
    bounded = Variant("llm").plan(base, 12)
    assert (bounded.rows, bounded.grad, bounded.capacity) == (4, "llm", "evict")


def test_lab_creates_exactly_the_plan_rows_grad_and_capacity(tmp_path: Path) -> None:
    dataset = write_dataset(tmp_path)
    plan = LearnPlan("tiny", "tiny", ("val",), rows=2, grad="llm", capacity="merge")
    Lab(Kernel(ScriptedBackend(copying_translator))).create(tmp_path / "run", dataset, plan, seed=3)
    run = RunDir.open(tmp_path / "run")
    assert (run.config.rows, run.config.grad, run.config.capacity, run.config.seed) == (2, "llm", "merge", 3)
    assert len(run.load_experience().texts()) == 2 * 3  # 2 rows of (query, key, value), fewer than the 4 pairs


def test_peer_failure_is_recorded_not_raised(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PYTHON_ENV, str(tmp_path / "no-such-python"))
    data = load_dataset(write_dataset(tmp_path))
    out = dspy_baseline([(data, ["val"])], tmp_path / "peer")
    assert out["status"] == "not run" and "no-such-python" in out["reason"]


def _tiny_bench(tmp_path: Path, quick: bool, saved: list[dict[str, Any]]) -> dict[str, Any]:
    write_dataset(tmp_path)
    plan = LearnPlan("tiny", "tiny", ("val",), {"train": None, "val": None}, epochs=2, rows=6, batch_size=2)
    options = BenchOptions(
        quick=quick,
        seeds=(0, 1),
        plans=(plan,),
        system_plan=LearnPlan("system", "tiny", (), topk=1, rows=6, batch_size=2),
        retrieval_rows=(1_000,),
        core_n=200,
        few_shot_k=2,
        peers=False,
        backend=lambda: ScriptedBackend(copying_translator),
        datasets_root=tmp_path,
    )
    return run_bench(options, checkpoint=lambda partial: saved.append(json.loads(json.dumps(partial))))


def test_full_bench_with_scripted_kernel_writes_schema_and_table(tmp_path: Path) -> None:
    saved: list[dict[str, Any]] = []
    result = _tiny_bench(tmp_path, quick=False, saved=saved)
    assert "system" in saved[0] and "learning" not in saved[0] and "baselines" in saved[-1]
    assert saved[1]["baselines"]["tiny"] and not saved[1]["learning"]  # baselines are checkpointed first
    assert {"schema", "created", "finished", "machine", "versions", "seeds", "model", "cache"} <= set(result)
    learning = result["learning"]
    assert list(learning) == ["tiny/example/rows32", "tiny/example/rows2", "tiny/llm/rows32", "tiny/llm/rows2"]
    zero = result["baselines"]["tiny"]["zero_shot"]["val"]["loss"]
    for name, entry in learning.items():
        grad, rows = entry["variant"]["grad"], entry["variant"]["rows"]
        assert entry["dataset"] == "tiny" and name == f"tiny/{grad}/rows{rows}" and entry["plan"]["grad"] == grad
        assert [s["rows"] for s in entry["per_seed"].values()] == [rows, rows]  # exactly plan.rows, even below 4
        assert all(s["filled_rows"] <= rows for s in entry["per_seed"].values())
        assert entry["splits"]["val"]["before"]["loss"]["mean"] == pytest.approx(zero)  # untrained = zero-shot
        val = entry["splits"]["val"]
        assert val["after"]["loss"]["n"] == 2 and val["after"]["loss"]["mean"] < val["before"]["loss"]["mean"]
        tags = entry["train_cost_per_sample_per_step"]["requests_by_tag_per_sample_per_step"]
        assert tags["query"] == 1.0 and tags["translate"] == 1.0
        assert ("rewrite-key" in tags and tags["rewrite-value"] > 0) == (grad == "llm")
        assert entry["train_cost_per_sample_per_step"]["steps"] == 4  # 2 epochs x 2 batches of 2
        assert entry["answer_cost"]["val"]["requests_per_sample"] == 2.0
    bounded = learning["tiny/example/rows2"]
    assert bounded["variant"]["rows_rule"].startswith("ceil") and bounded["variant"]["train_pairs"] == 4
    assert all(s["row_actions"].get("evict", 0) > 0 for s in bounded["per_seed"].values())  # 4 pairs, 2 rows
    llm = learning["tiny/llm/rows32"]["per_seed"]["0"]
    assert sum(s["requests"].get("rewrite-key", 0) for s in llm["steps"]) > 0
    base = result["baselines"]["tiny"]
    assert base["few_shot"]["splits"]["val"]["exact"]["n"] == 2
    assert base["all_pairs"]["shots"] == ["add", "dbl", "neg", "sq"] and base["all_pairs"]["splits"]["val"]["n"] == 1
    names = [f["name"] for f in result["system"]["figures"]]
    assert any("speed-up" in n for n in names) and any("1,000 rows" in n for n in names)
    assert any(n.startswith("patch at 200") for n in names) and any("peak RSS" in n for n in names)
    assert result["system"]["details"]["overhead"]["warm_calls"] == 0
    text = write_outputs(result, tmp_path / "out" / "b.json", tmp_path / "out" / "b.md")
    assert json.loads((tmp_path / "out" / "b.json").read_text())["quick"] is False
    assert (tmp_path / "out" / "b.md").read_text().strip() == text.strip()
    assert "**tiny val** (n = 1)" in text and "| figure | value | target | ok |" in text
    assert "| all 4 train pairs in prompt | 0.083 | 0.00 | — | — | — | 1.00 |" in text  # no valid for baselines
    assert "| Experience, grad=llm, rows=2 (= ceil(4/3)) |" in text and "| few-shot k=2 | 0.100 ± 0.061 |" in text


def test_quick_bench_skips_learning(tmp_path: Path) -> None:
    saved: list[dict[str, Any]] = []
    result = _tiny_bench(tmp_path, quick=True, saved=saved)
    assert len(saved) == 1 and "system" in saved[0] and "learning" not in saved[0]
    assert result["learning"] == {"skipped": "--quick"} and "baselines" not in result
    assert "Learning runs skipped (--quick)" in markdown(result)
    growth = next(f for f in result["system"]["figures"] if f["name"].startswith("prompt tokens, batch of"))
    assert growth["value"] == 1.0 and growth["ok"] is True  # a batch's prompt = the sum of its samples' prompts
    details = result["system"]["details"]["prompt_growth"]
    assert details["batch_tokens"] == sum(details["single_tokens"]) > 0


def test_cli_bench_without_the_bench_package_names_the_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    monkeypatch.setitem(sys.modules, "experience_bench", None)  # what a Python without the package sees
    assert cli.main(["bench", "--out", str(tmp_path / "r.json"), "--quick"]) == 2
    err = capsys.readouterr().err
    assert "experience_bench" in err and "pip install -e '.[bench]'" in err and "Traceback" not in err
    assert not (tmp_path / "r.json").exists()


def test_the_bench_package_is_not_in_the_library() -> None:
    import experience
    import experience_bench

    assert not (Path(experience.__file__).parent / "bench").exists()
    assert Path(experience_bench.__file__).parent == REPO / "bench" / "experience_bench"
    sources = "\n".join(
        path.read_text(encoding="utf-8") for path in REPO.joinpath("bench", "experience_bench").glob("*.py")
    )
    assert "spec_from_file_location" not in sources and "sys.path.insert" not in sources  # it imports normally


def test_cli_bench_writes_json_and_prints_table(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    seen: dict[str, Any] = {}

    def fake_run_bench(options: BenchOptions, **_: Any) -> dict[str, Any]:
        seen["options"] = options
        return {"quick": options.quick, "seeds": list(options.seeds), "system": {"figures": []}}

    monkeypatch.setattr("experience_bench.run_bench", fake_run_bench)
    out = tmp_path / "r.json"
    assert cli.main(["bench", "--out", str(out), "--quick", "--seeds", "2", "--markdown", str(tmp_path / "r.md")]) == 0
    assert seen["options"].quick and seen["options"].seeds == (0, 1) and seen["options"].cache is None
    assert json.loads(out.read_text())["seeds"] == [0, 1]
    assert "| figure | value | target | ok |" in capsys.readouterr().out and (tmp_path / "r.md").exists()
    assert cli.main(["bench", "--out", str(out), "--seeds", "0"]) == 2
