"""The learning rule: trust-weighted retrieval, coefficients moved by loss, llm-mode rows under bounded capacity."""

from __future__ import annotations

from pathlib import Path

import torch

from doubles import ScriptedBackend
from experience.experience_tensor import Experience
from experience.function.edit_distance_ratio import edit_distance_ratio
from experience.kernel import Kernel, KernelTask
from experience.nn.moe import StMoe
from experience.optim.stsgd import StSGD
from experience.tasks.dataset import load_dataset
from experience.tensor import from_texts
from experience.train.run_dir import RunConfig, RunDir
from experience.train.trainer import Trainer
from learning_fixtures import copying_translator, write_dataset

ADD = "def add(a: int) -> int:\n    return a + 1\n"


def _experience(tmp_path: Path, rows: list[tuple[str, str, str]], n: int) -> object:
    t = Experience.empty(n, tmp_path, source_ext="py", target_ext="viba")
    for r, (q, k, v) in enumerate(rows):
        t.set_text((r, 0), q)
        t.set_text((r, 1), k)
        t.set_text((r, 2), v)
    with torch.no_grad():
        t.coeff[: len(rows)] = 1.0
    return t


def test_lowering_a_coefficient_changes_which_row_is_retrieved(tmp_path: Path) -> None:
    exp = _experience(tmp_path, [("add\nmath", "k0", "v0"), ("add\nmath", "k1", "v1")], 3)
    moe = StMoe(exp, Kernel(ScriptedBackend(copying_translator)), task_prompt="t", topk=1, noise_std=0.0)
    moe.eval()
    inputs = from_texts([ADD], (1,))
    moe(inputs)
    assert moe.last is not None and moe.last.picks == [[0]]  # a tie goes to the lower row
    with torch.no_grad():
        exp.coeff[0, 1:] = 0.3
    moe(inputs)
    assert moe.last.picks == [[1]]
    with torch.no_grad():
        exp.coeff[1, 1:] = 0.0
    moe(inputs)
    assert moe.last.picks == [[0]]  # a row at 0 is never retrieved, even when it matches better


def test_a_row_that_keeps_hurting_decays_to_zero_and_is_then_reused(tmp_path: Path) -> None:
    bad = ("add\nmath", "def add(a):\n    return a\n", "nonsense that hurts\n")
    exp = _experience(tmp_path, [bad], 1)
    moe = StMoe(exp, Kernel(ScriptedBackend(copying_translator)), task_prompt="t", topk=1, noise_std=0.0)
    optimizer = StSGD([exp], lr=1.0)
    expected = from_texts(["add :=\n  <- $a int\n  <- $a + 1\n"], (1,))
    trust = []
    for _ in range(20):
        optimizer.zero_grad()
        out = moe(from_texts([ADD], (1,)))
        edit_distance_ratio(out, expected).mean().backward()
        if moe.last is not None and not moe.last.picks[0]:
            break  # at 0 the row is no longer retrieved
        exp.sgrad = None  # the numeric channel alone: the row keeps its (bad) text
        optimizer.step()
        trust.append(float(exp.coeff.detach()[0, 2]))
    assert trust == sorted(trust, reverse=True) and trust[-1] == 0.0 and trust[0] < 1.0
    assert exp.text(0, 2) == bad[2]
    optimizer.step()  # now with the symbolic channel: the free row is written afresh and trusted again
    assert moe.last is not None and moe.last.row_routes[0].action == "new"
    assert exp.text(0, 1) == ADD and float(exp.coeff.detach()[0, 2]) == 1.0


def test_rows_that_help_rise(tmp_path: Path) -> None:
    good = ("add\nmath", ADD, "add :=\n  <- $a int\n  <- $a + 1\n")
    exp = _experience(tmp_path, [good], 2)
    with torch.no_grad():
        exp.coeff[0, 1:] = 0.4
    moe = StMoe(exp, Kernel(ScriptedBackend(copying_translator)), task_prompt="t", topk=1, noise_std=0.0)
    optimizer = StSGD([exp], lr=1.0)
    out = moe(from_texts([ADD], (1,)))
    edit_distance_ratio(out, from_texts([good[2]], (1,))).mean().backward()
    optimizer.step()
    assert float(exp.coeff.detach()[0, 2]) > 0.4


def _llm_replies(task: KernelTask) -> str:
    if task.tag == "rewrite-key":
        return "```python\ndef f(a: int) -> int:\n    return a + 1\n```"
    if task.tag == "rewrite-value":
        return "f :=\n  <- $a int\n  <- $a + 1\n"
    return copying_translator(task)


def test_llm_mode_under_bounded_capacity_names_every_sample_and_fills_at_most_rows(tmp_path: Path) -> None:
    dataset = load_dataset(write_dataset(tmp_path))
    cfg = RunConfig(
        dataset=str(dataset.path), source_ext="py", target_ext="viba", task_prompt=dataset.task_prompt,
        rows=2, batch_size=4, grad="llm", capacity="merge",
    )  # fmt: skip
    run = RunDir.create(tmp_path / "run", cfg)
    backend = ScriptedBackend(_llm_replies)
    trainer = Trainer(run, dataset, Kernel(backend))
    trainer.train(1)
    rewrites = [t for t in backend.tags if t.startswith("rewrite")]
    records = run.read_patches(1)
    rows = {r["row"] for r in records}
    assert len(rows) <= 2 and rewrites.count("rewrite-key") == rewrites.count("rewrite-value") == len(rows)
    shaped = {name for r in records for name in r["samples"]}
    assert shaped == set(dataset.splits["train"][i].name for i in range(4))  # no sample dropped
    assert all(r["grad"] == "llm" and r["policy"] == "merge" for r in records)
    filled = Experience.filled_rows(trainer.experience)
    assert 1 <= len(filled) <= 2
    assert all(trainer.experience.text(r, 1) == "def f(a: int) -> int:\n    return a + 1\n" for r in filled)


def test_example_mode_with_fewer_rows_than_wrong_samples_keeps_every_sample(tmp_path: Path) -> None:
    dataset = load_dataset(write_dataset(tmp_path))
    cfg = RunConfig(
        dataset=str(dataset.path), source_ext="py", target_ext="viba", task_prompt=dataset.task_prompt,
        rows=2, batch_size=4,
    )  # fmt: skip
    run = RunDir.create(tmp_path / "run", cfg)
    trainer = Trainer(run, dataset, Kernel(ScriptedBackend(copying_translator)))
    trainer.train(1, max_steps=1)
    keys = "\n".join(k or "" for k in trainer.experience.texts()[1::3])
    names = [p.name for p in trainer.dataset.split("train")]
    assert all(f"def {name}(" in keys for name in names)  # 4 wrong samples, 2 rows: merged, none dropped
    records = run.read_patches(1)
    assert {n for r in records for n in r["samples"]} == set(names)
