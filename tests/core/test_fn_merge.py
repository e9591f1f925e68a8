"""merge: texts folded along a dim, coefficients summed; backward routes each hunk to its part."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import experience as ex
from experience.tensor import SymbolicTensor

F = "def f():\n    return 1\n"
G = "def g():\n    return 2\n"
H = "def h():\n    return 3\n"


def parts() -> SymbolicTensor:
    """[2, 3]: row 0 has a duplicate of F, row 1 an empty element; distinct coefficients."""
    t = ex.tensor([[F, G, F], [None, "x\n", "y\n"]])
    with torch.no_grad():
        t.coeff.copy_(torch.tensor([[0.5, 1.5, 2.0], [0.0, 0.25, 4.0]]))
    return t.requires_grad_()


def test_merge_forward_along_each_dim() -> None:
    t = parts()
    rows = ex.merge(t, 1)
    assert rows.tolist() == [F + "\n" + G, "x\n\ny\n"]  # distinct texts, in order, blank-separated
    cols = ex.merge(t, 0)
    assert cols.tolist() == [F, G + "\nx\n", F + "\ny\n"]
    assert ex.merge(t, -1).tolist() == rows.tolist()
    assert ex.merge(ex.tensor([None, ""]), 0).tolist() is None


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_merge_numeric_grads_match_torch_sum(dim: int) -> None:
    t = parts()
    plain = t.coeff.detach().clone().requires_grad_()
    out, ref = ex.merge(t, dim), torch.sum(plain, dim=dim)
    assert torch.equal(out.coeff.detach(), ref.detach())
    w = torch.arange(1.0, ref.numel() + 1)
    (out.coeff * w).sum().backward()
    (ref * w).sum().backward()
    assert t.coeff.grad is not None and plain.grad is not None
    assert torch.equal(t.coeff.grad, plain.grad)


def test_merge_gradcheck_float64() -> None:
    base = parts()

    def f(c: torch.Tensor) -> torch.Tensor:
        return ex.merge(SymbolicTensor(c, base.storage), 1).coeff

    start = base.coeff.detach().to(torch.float64).requires_grad_()
    assert torch.autograd.gradcheck(f, (start,))


def test_hunks_go_to_the_part_whose_lines_they_change() -> None:
    t = ex.tensor([F, G, H], requires_grad=True)
    merged = ex.merge(t, 0)
    assert merged.tolist() == F + "\n" + G + "\n" + H
    want = F + "\n" + G.replace("return 2", "return 20") + "\n" + H.replace("h()", "h(x)")
    ex.edit_distance_ratio(merged, ex.tensor(want)).backward()
    assert t.sgrad is not None
    grads = t.sgrad.texts()
    assert grads[0] is None
    assert grads[1] is not None and "-    return 2\n+    return 20\n" in grads[1]
    assert "h()" not in grads[1]
    assert grads[2] is not None and "-def h():\n+def h(x):\n" in grads[2]
    ex.patch(t, t.sgrad)
    assert t.tolist() == [F, G.replace("return 2", "return 20"), H.replace("h()", "h(x)")]


def test_added_lines_go_to_the_neighbouring_part_and_duplicates_share() -> None:
    t = parts()
    merged = ex.merge(t, 1)
    want = [F.replace("return 1", "return 10") + "\n" + G, "x\ny\nz\n"]
    ex.edit_distance_ratio(merged, ex.tensor(want)).sum().backward()
    assert t.sgrad is not None
    grads = np.array(t.sgrad.texts(), dtype=object).reshape(2, 3)
    assert grads[0, 1] is None and grads[1, 0] is None and grads[1, 1] is None
    assert "+    return 10\n" in grads[0, 0] and grads[0, 2] == grads[0, 0]  # F appears twice
    ex.patch(t, t.sgrad)
    assert t.tolist() == [
        [F.replace("return 1", "return 10"), G, F.replace("return 1", "return 10")],
        [None, "x\n", "y\nz\n"],
    ]


def test_a_cold_start_diff_fills_the_first_part() -> None:
    t = ex.tensor([None, None], requires_grad=True)
    merged = ex.merge(t, 0)
    assert merged.tolist() is None
    ex.edit_distance_ratio(merged, ex.tensor("fresh\ntext\n")).backward()
    assert t.sgrad is not None
    ex.patch(t, t.sgrad)
    assert t.tolist() == ["fresh\ntext\n", None]
