"""StSGD: the documented numeric rule, cold-start and fuzzy patching, accept, persistence."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

import experience as ex
from experience.optim import StSGD
from experience.tensor import SymbolicTensor

BODY = "".join(f"    step {i}\n" for i in range(1, 9))
TEXT = "def run():\n" + BODY + "    return done\n"


def coeffs_on_disk(folder: Path) -> list[float]:
    """The coefficients tensor.json holds."""
    data = json.loads((folder / "tensor.json").read_text(encoding="utf-8"))
    return [float(c) for c in data["coeff"]]


def param(coeffs: list[float], texts: list[str | None]) -> SymbolicTensor:
    """A 1-D parameter with given texts and coefficients."""
    t = ex.tensor(texts)
    with torch.no_grad():
        t.coeff.copy_(torch.tensor(coeffs))
    return t.requires_grad_()


@pytest.mark.parametrize(
    ("lr", "expected"),
    [
        (1.0, [1.0, 0.0, 0.65, 0.3, 0.9, 0.6]),
        (0.5, [1.0, 0.0, 0.525, 0.3, 0.9, 0.6]),
    ],
)
def test_numeric_rule(lr: float, expected: list[float]) -> None:
    # 0: empty, gets text (cold start): trusted at 1     1: has text, a diff empties it: 0
    # 2: has text, only a numeric grad (helped): c - lr*g  3: untouched   4: rejected diff (text and c stay)
    # 5: numeric grad of exactly zero (untouched)
    p = param([0.0, 1.0, 0.4, 0.3, 0.9, 0.6], [None, "gone\n", "kept\n", "idle\n", "x\n", "y\n"])
    grads = [
        ex.diff(ex.tensor([None]), ex.tensor(["born\n"])).text(0),
        ex.diff(ex.tensor(["gone\n"]), ex.tensor([None])).text(0),
        None,
        None,
        ex.diff(ex.tensor(["unrelated\n"]), ex.tensor(["other\n"])).text(0),
        None,
    ]
    p.sgrad = ex.tensor(grads)
    p.coeff.grad = torch.tensor([0.0, 0.0, -0.25, 0.0, 0.0, 0.0])
    stats = StSGD([p], lr=lr).step()
    assert p.tolist() == ["born\n", None, "kept\n", "idle\n", "x\n", "y\n"]
    assert torch.allclose(p.coeff.detach(), torch.tensor(expected), atol=1e-6)
    assert p.coeff.detach()[3].item() == pytest.approx(0.3)  # untouched: exactly kept
    assert stats.total.as_dict() == {
        "applied": 2,
        "fuzzed": 0,
        "rejected": 1,
        "skipped": 3,
        "blocked": 0,
    }
    assert len(stats.per_param) == 1 and stats.per_param[0].rejected == 1


def test_bad_settings_are_refused() -> None:
    p = param([1.0], ["a"])
    with pytest.raises(ValueError, match="lr must be in"):
        StSGD([p], lr=0.0)
    with pytest.raises(ValueError, match="empty parameter list"):
        StSGD([])
    with pytest.raises(TypeError, match="optimizes SymbolicTensors"):
        StSGD([torch.zeros(2)])  # type: ignore[list-item]


def test_symbolic_step_patches_cold_rows_and_fuzzy_patches_edited_rows(tmp_path: Path) -> None:
    e = ex.Experience.empty(rows=3, root=tmp_path, source_ext="py", target_ext="viba")
    e.set_text((1, 2), TEXT)
    improved = TEXT.replace("    step 5\n", "    step 5 (checked)\n")
    # the gradient is computed against the text as it was ...
    grad = ex.diff(
        ex.tensor([[None] * 3, [None, None, TEXT], [None] * 3]),
        ex.tensor([["q\n", "k\n", "v\n"], [None, None, improved], [None] * 3]),
    )
    # ... then a person edits the file by hand: two lines on top, one context line touched
    edited = "# reviewed\n# by hand\n" + TEXT.replace("    step 3\n", "    step 3  \n")
    value_file = tmp_path / "experience" / "0001" / "value.viba"
    value_file.write_text(edited, encoding="utf-8")
    assert e.storage.reload_all() == [5]
    e.sgrad = grad
    stats = StSGD([e]).step()
    assert stats.total.as_dict() == {
        "applied": 3,
        "fuzzed": 1,
        "rejected": 0,
        "skipped": 5,
        "blocked": 0,
    }
    wanted = "# reviewed\n# by hand\n" + improved.replace("    step 3\n", "    step 3  \n")
    assert value_file.read_text(encoding="utf-8") == wanted
    assert (tmp_path / "experience" / "0000" / "key.py").read_text(encoding="utf-8") == "k\n"
    assert ex.Experience.rows(e)[0] == ("q\n", "k\n", "v\n")
    assert coeffs_on_disk(tmp_path / "experience") == [1.0, 1.0, 1.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0]


def test_accept_can_veto_an_element() -> None:
    p = param([0.0, 0.0], [None, None])
    p.sgrad = ex.diff(ex.tensor([None, None]), ex.tensor(["good\n", "leaked validation\n"]))
    stats = StSGD([p]).step(accept=lambda position, diff, text: "validation" not in text)
    assert p.tolist() == ["good\n", None]
    assert p.coeff.tolist() == [1.0, 0.0]  # a blocked element is not touched
    assert (stats.total.applied, stats.total.blocked) == (1, 1)
    assert stats.total.elements[1].outcome is None


def test_zero_grad_clears_both_channels() -> None:
    p = param([1.0, 1.0], ["a\n", "b\n"])
    ex.edit_distance_ratio(p.view[:], ex.tensor(["A\n", "b\n"])).sum().backward()
    assert p.sgrad is not None and p.coeff.grad is not None
    opt = StSGD([p])
    opt.zero_grad()
    assert p.sgrad is None and p.coeff.grad is None
    stats = opt.step()
    assert stats.total.skipped == 0 and p.tolist() == ["a\n", "b\n"]


def test_state_dict_round_trip() -> None:
    p = param([1.0], ["a"])
    opt = StSGD([p], lr=0.5, fuzz=2)
    opt.step()
    state = opt.state_dict()
    other = StSGD([p])
    other.load_state_dict(state)
    assert other.state_dict() == {"lr": 0.5, "fuzz": 2, "steps": 1}


def test_mini_training_loop_learns_the_targets(tmp_path: Path) -> None:
    e = ex.Experience.empty(rows=4, root=tmp_path / "run é 1", source_ext="py", target_ext="viba")
    targets = ex.tensor([f"f{i} x = x + {i}\n" for i in range(4)])
    opt = StSGD([e], lr=1.0)
    losses = []
    for _ in range(2):
        opt.zero_grad()
        values = e.view[:, 2]
        loss = ex.edit_distance_ratio(values, targets)
        loss.sum().backward()
        losses.append(
            sum(ex.text.edit_distance(a or "", b or "") for a, b in zip(values.texts(), targets.texts(), strict=True))
        )
        stats = opt.step()
    assert losses[0] == 4.0 and losses[1] == 0.0
    assert e.sgrad is None  # second pass: outputs equal the targets, no diff at all
    assert stats.total.as_dict() == dict.fromkeys(("applied", "fuzzed", "rejected", "skipped", "blocked"), 0)
    assert e.view[:, 2].tolist() == targets.tolist()
    folder = tmp_path / "run é 1" / "experience"
    for i in range(4):
        text = (folder / f"{i:04d}" / "value.viba").read_text(encoding="utf-8")
        assert text == f"f{i} x = x + {i}\n"
    assert coeffs_on_disk(folder) == [0.0, 0.0, 1.0] * 4
    assert ex.Experience.load(folder).tolist() == e.tolist()
