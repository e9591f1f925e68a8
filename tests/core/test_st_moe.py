"""st_moe forward/backward and the StMoe module, with a scripted kernel."""

from __future__ import annotations

from pathlib import Path

import torch

import experience as ex
from doubles import ScriptedBackend
from experience.function.st_attention import st_attention
from experience.kernel import Kernel
from experience.nn import NaiveModel, StMoe
from learning_fixtures import PAIRS, copying_translator


def _batch(names: list[str]) -> tuple[ex.SymbolicTensor, ex.SymbolicTensor]:
    train = PAIRS["train"]
    return ex.tensor([train[n][0] for n in names]), ex.tensor([train[n][1] for n in names])


def test_forward_calls_llm_twice_per_sample_and_cleans_fences(tmp_path: Path) -> None:
    backend = ScriptedBackend(copying_translator)
    experience = ex.Experience.empty(rows=4, root=tmp_path, source_ext="py", target_ext="viba")
    experience.set_text((2, 1), PAIRS["train"]["add"][0])
    experience.set_text((2, 2), PAIRS["train"]["add"][1])
    with torch.no_grad():
        experience.coeff[2] = 1.0  # present: a row at 0 is never retrieved
    model = StMoe(experience, Kernel(backend), task_prompt="Translate.", topk=1, noise_std=0.0)
    inputs, _ = _batch(["neg", "dbl"])
    out = model(inputs)
    assert backend.tags == ["query", "query", "translate", "translate"]
    assert out.tolist() == ["neg :=\n  <- $a int\n  <- $a + 1\n", "dbl :=\n  <- $a int\n  <- $a + 1\n"]
    translate = backend.calls[2]
    assert [m.role for m in translate.messages] == ["system", "user", "assistant", "user"]
    assert translate.messages[1].content == PAIRS["train"]["add"][0].rstrip("\n")
    assert out.coeff.tolist() == [1.0, 1.0]


def test_backward_writes_each_sample_into_its_own_empty_row(tmp_path: Path) -> None:
    backend = ScriptedBackend(copying_translator)
    experience = ex.Experience.empty(rows=3, root=tmp_path, source_ext="py", target_ext="viba")
    model = StMoe(experience, Kernel(backend), task_prompt="Translate.", seed=1)
    inputs, expected = _batch(["neg", "dbl"])
    loss = ex.edit_distance_ratio(model(inputs), expected)
    loss.mean().backward()
    assert backend.tags.count("translate") == 2 and len(backend.calls) == 4  # no LLM call in backward
    grad = experience.sgrad
    assert grad is not None
    rows = model.last.routes if model.last else []
    assert len(set(rows)) == 2 and None not in rows
    stats = ex.optim.StSGD([experience]).step()
    assert stats.total.applied == 6
    for name, row in zip(["neg", "dbl"], rows, strict=True):
        assert row is not None
        assert experience.text(row, 1) == PAIRS["train"][name][0]
        assert experience.text(row, 2) == PAIRS["train"][name][1]
        assert name in (experience.text(row, 0) or "").splitlines()
        assert (tmp_path / "experience" / f"{row:04d}" / "value.viba").read_text() == PAIRS["train"][name][1]
    # numeric channel: no row was present, so none was used and none has a numeric grad; written rows start at 1
    assert experience.coeff.grad is not None
    assert float(experience.coeff.grad.abs().sum()) == 0.0
    assert all(float(experience.coeff.detach()[row, 2]) == 1.0 for row in rows if row is not None)


def test_backward_refines_a_non_empty_row_holding_the_same_source(tmp_path: Path) -> None:
    experience = ex.Experience.empty(rows=2, root=tmp_path, source_ext="py", target_ext="viba")
    src, viba = PAIRS["train"]["sq"]
    wrong = viba.replace("$a * $a", "$a ** 2")
    for col, text in enumerate(["sq\nmath", src, wrong]):
        experience.set_text((0, col), text)
    experience.set_text((1, 1), PAIRS["train"]["add"][0])
    experience.set_text((1, 2), PAIRS["train"]["add"][1])
    with torch.no_grad():
        experience.coeff[:] = 1.0

    def translator(task):  # returns the stored (wrong) value for sq
        return "sq\nmath" if task.tag == "query" else wrong

    model = StMoe(experience, Kernel(ScriptedBackend(translator)), task_prompt="T", noise_std=0.0)
    inputs, expected = _batch(["sq"])
    ex.edit_distance_ratio(model(inputs), expected).sum().backward()
    stats = ex.optim.StSGD([experience]).step()
    assert experience.text(0, 2) == viba  # the existing row was patched, not a new one appended
    assert experience.text(1, 2) == PAIRS["train"]["add"][1]
    assert stats.total.applied + stats.total.fuzzed >= 1


def test_input_grad_asks_the_llm_only_when_input_requires_grad(tmp_path: Path) -> None:
    def translator(task):
        if task.tag == "improve-input":
            return "def neg(a: int) -> int:\n    return 0 - a\n"
        return copying_translator(task)

    backend = ScriptedBackend(translator)
    experience = ex.Experience.empty(rows=2, root=tmp_path)
    model = StMoe(experience, Kernel(backend), task_prompt="T")
    inputs, expected = _batch(["neg"])
    inputs.requires_grad_()
    ex.edit_distance_ratio(model(inputs), expected).sum().backward()
    assert backend.tags[-1] == "improve-input"
    assert inputs.sgrad is not None and "+    return 0 - a" in (inputs.sgrad.text(0) or "")
    assert inputs.coeff.grad is not None and float(inputs.coeff.grad[0]) > 0


def test_naive_model_requires_experience_and_eval_is_deterministic(tmp_path: Path) -> None:
    model = NaiveModel(Kernel(ScriptedBackend(copying_translator)), task_prompt="T", topk=1)
    inputs, _ = _batch(["neg"])
    try:
        model(inputs)
    except RuntimeError as error:
        assert "load_experience" in str(error)
    else:
        raise AssertionError("a model without experience must refuse to run")
    model.load_experience(ex.Experience.empty(rows=4, root=tmp_path))
    model.eval()
    assert model(inputs).tolist() == model(inputs).tolist()


def test_st_attention_merges_prefixes_and_routes_grads_back() -> None:
    x = ex.tensor(["alpha\n", "beta\n", "gamma\n"]).requires_grad_()
    out = st_attention(x)
    assert out.tolist() == ["alpha\n", "alpha\n\nbeta\n", "alpha\n\nbeta\n\ngamma\n"]
    target = ex.tensor(["alpha\n", "alpha\n\nBETA\n", "alpha\n\nbeta\n\ngamma\n"])
    loss = ex.edit_distance_ratio(out, target)
    loss.sum().backward()
    assert x.sgrad is not None
    assert x.sgrad.text(0) is None and x.sgrad.text(2) is None
    patched = x.copy()
    ex.patch(patched, x.sgrad)
    assert patched.tolist() == ["alpha\n", "BETA\n", "gamma\n"]
    # numeric: out[t] = sum of x[j<=t] (a cumsum), checked against plain torch
    distance = (loss / out.coeff).detach()
    plain = torch.ones(3, requires_grad=True)
    (torch.cumsum(plain, 0) * distance).sum().backward()
    assert x.coeff.grad is not None and plain.grad is not None
    assert torch.allclose(x.coeff.grad, plain.grad)
    assert float(x.coeff.grad[2]) == 0.0 and float(x.coeff.grad[0]) > 0
