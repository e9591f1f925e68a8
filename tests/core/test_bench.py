"""The bench plumbing with the scripted kernel: spreads, few-shot prompts, scoring, figures, JSON and markdown."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from doubles import ScriptedBackend
from experience.bench import BenchOptions, run_bench, write_outputs
from experience.bench.baselines import few_shot_baseline, few_shot_task, pick_shots, run_prompt
from experience.bench.common import Spread, score, write_subset
from experience.bench.learning import LearnPlan, cost_per_epoch
from experience.bench.peer import PYTHON_ENV, dspy_baseline
from experience.bench.report import markdown
from experience.bench.system import overhead_figures
from experience.kernel import Kernel
from experience.tasks.dataset import Pair, load_dataset
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
    return run_bench(options, checkpoint=lambda partial: saved.append(dict(partial)))


def test_full_bench_with_scripted_kernel_writes_schema_and_table(tmp_path: Path) -> None:
    saved: list[dict[str, Any]] = []
    result = _tiny_bench(tmp_path, quick=False, saved=saved)
    assert "system" in saved[0] and "learning" not in saved[0] and "baselines" in saved[-1]
    assert {"schema", "created", "finished", "machine", "versions", "seeds", "model", "cache"} <= set(result)
    val = result["learning"]["tiny"]["splits"]["val"]
    assert val["after"]["loss"]["n"] == 2 and val["after"]["loss"]["mean"] < val["before"]["loss"]["mean"]
    assert result["learning"]["tiny"]["cost_per_sample_per_epoch"][0]["calls_per_sample"] > 0
    assert result["baselines"]["tiny"]["zero_shot"]["val"]["loss"] == pytest.approx(val["before"]["loss"]["mean"])
    assert result["baselines"]["tiny"]["few_shot"]["splits"]["val"]["exact"]["n"] == 2
    names = [f["name"] for f in result["system"]["figures"]]
    assert any("speed-up" in n for n in names) and any("1,000 rows" in n for n in names)
    assert any(n.startswith("patch at 200") for n in names) and any("peak RSS" in n for n in names)
    assert result["system"]["details"]["overhead"]["warm_calls"] == 0
    text = write_outputs(result, tmp_path / "out" / "b.json", tmp_path / "out" / "b.md")
    assert json.loads((tmp_path / "out" / "b.json").read_text())["quick"] is False
    assert (tmp_path / "out" / "b.md").read_text().strip() == text.strip()
    assert "| tiny val | 1 |" in text and "| figure | value | target | ok |" in text


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


def test_cli_bench_writes_json_and_prints_table(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    seen: dict[str, Any] = {}

    def fake_run_bench(options: BenchOptions, **_: Any) -> dict[str, Any]:
        seen["options"] = options
        return {"quick": options.quick, "seeds": list(options.seeds), "system": {"figures": []}}

    monkeypatch.setattr("experience.bench.run_bench", fake_run_bench)
    out = tmp_path / "r.json"
    assert cli.main(["bench", "--out", str(out), "--quick", "--seeds", "2", "--markdown", str(tmp_path / "r.md")]) == 0
    assert seen["options"].quick and seen["options"].seeds == (0, 1) and seen["options"].cache is None
    assert json.loads(out.read_text())["seeds"] == [0, 1]
    assert "| figure | value | target | ok |" in capsys.readouterr().out and (tmp_path / "r.md").exists()
    assert cli.main(["bench", "--out", str(out), "--seeds", "0"]) == 2
