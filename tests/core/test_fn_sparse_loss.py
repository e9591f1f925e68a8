"""dense_to_sparse / sparse_to_dense / with_dense_view, and the loss edit_distance_ratio."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import experience as ex
from experience.tensor import SymbolicTensor


def dense(dtype: torch.dtype = torch.float32) -> SymbolicTensor:
    """[2, 3] with present elements at (0,0), (0,2), (1,1); coefficients 0.5, 2, 3."""
    t = ex.tensor([["a\n", None, "c\n"], [None, "e\n", None]], dtype=dtype)
    with torch.no_grad():
        t.coeff.copy_(torch.tensor([[0.5, 0.0, 2.0], [0.0, 3.0, 0.0]], dtype=dtype))
    return t.requires_grad_()


def test_dense_to_sparse_forward_and_numeric_backward() -> None:
    t = dense()
    values, coords = ex.dense_to_sparse(t)
    assert values.tolist() == ["a\n", "c\n", "e\n"]
    assert coords.tolist() == [[0, 0], [0, 2], [1, 1]]
    assert coords.dtype == torch.int64 and not coords.requires_grad
    plain = t.coeff.detach().clone().requires_grad_()
    ref = plain[plain.detach() != 0]
    assert torch.equal(values.coeff.detach(), ref.detach())
    w = torch.tensor([1.0, 10.0, 100.0])
    (values.coeff * w).sum().backward()
    (ref * w).sum().backward()
    assert t.coeff.grad is not None and plain.grad is not None
    assert torch.equal(t.coeff.grad, plain.grad)


def test_sparse_to_dense_forward_and_numeric_backward() -> None:
    values = ex.tensor(["p\n", "q\n"], requires_grad=True)
    coords = torch.tensor([[1, 2], [0, 1]])
    out = ex.sparse_to_dense(values, coords, (2, 3))
    assert out.tolist() == [[None, "q\n", None], [None, None, "p\n"]]
    plain = values.coeff.detach().clone().requires_grad_()
    ref = torch.zeros(2, 3).index_put((coords[:, 0], coords[:, 1]), plain)
    assert torch.equal(out.coeff.detach(), ref.detach())
    w = torch.arange(1.0, 7.0).reshape(2, 3)
    (out.coeff * w).sum().backward()
    (ref * w).sum().backward()
    assert values.coeff.grad is not None and plain.grad is not None
    assert torch.equal(values.coeff.grad, plain.grad)
    assert values.coeff.grad.tolist() == [6.0, 2.0]
    with pytest.raises(ValueError, match=r"coords must be \[nnz=2, ndim=2\]"):
        ex.sparse_to_dense(values, torch.tensor([[0, 0]]), (2, 3))


def test_sparse_round_trips_and_gradcheck() -> None:
    t = dense(torch.float64)
    values, coords = ex.dense_to_sparse(t)
    back = ex.sparse_to_dense(values, coords, t.shape)
    assert back.tolist() == t.tolist()
    assert torch.equal(back.coeff.detach(), t.coeff.detach())

    def there_and_back(v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        d = ex.sparse_to_dense(SymbolicTensor(v, values.storage), coords, (2, 3))
        again, _ = ex.dense_to_sparse(d)
        return d.coeff * 2, again.coeff * torch.arange(1.0, 4.0, dtype=torch.float64)

    start = values.coeff.detach().clone().requires_grad_()
    assert torch.autograd.gradcheck(there_and_back, (start,))

    full = ex.tensor([["a", "b"], ["c", "d"]], dtype=torch.float64)  # all present: a smooth region

    def to_sparse(c: torch.Tensor) -> torch.Tensor:
        return ex.dense_to_sparse(SymbolicTensor(c, full.storage))[0].coeff

    start = torch.tensor([[0.5, 1.0], [2.0, 3.0]], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(to_sparse, (start,))


def test_each_ones_backward_is_the_other_for_diffs() -> None:
    t = dense()
    values, _ = ex.dense_to_sparse(t)
    ex.edit_distance_ratio(values, ex.tensor(["a\n", "C\n", "e\nE\n"])).sum().backward()
    assert t.sgrad is not None
    grads = t.sgrad.tolist()
    assert [grads[0][0], grads[0][1], grads[1][0], grads[1][2]] == [None] * 4
    assert "-c\n+C\n" in grads[0][2] and "+E\n" in grads[1][1]

    values = ex.tensor(["p\n", "q\n"], requires_grad=True)
    out = ex.sparse_to_dense(values, torch.tensor([[1, 2], [0, 1]]), (2, 3))
    want = [[None, "Q\n", None], [None, None, "p\n"]]
    ex.edit_distance_ratio(out, ex.tensor(want)).sum().backward()
    assert values.sgrad is not None
    assert values.sgrad.text(0) is None and "-q\n+Q\n" in (values.sgrad.text(1) or "")


def test_with_dense_view_runs_fn_on_the_dense_form() -> None:
    values = ex.tensor(["a\n", "b\n"], requires_grad=True)
    with torch.no_grad():
        values.coeff.copy_(torch.tensor([2.0, 3.0]))
    coords = torch.tensor([[0, 0], [1, 1]])
    out = ex.with_dense_view(lambda d: d.view[::-1, ::-1], values, coords, (2, 2))
    assert out.tolist() == ["b\n", "a\n"]  # the diagonal, flipped
    plain = values.coeff.detach().clone().requires_grad_()
    ref = torch.zeros(2, 2).index_put((coords[:, 0], coords[:, 1]), plain).flip(0, 1)[0:2, 0:2]
    ref = ref[coords[:, 0], coords[:, 1]]
    assert torch.equal(out.coeff.detach(), ref.detach())
    loss = ex.edit_distance_ratio(out, ex.tensor(["B\n", "a\n"]))
    (loss * torch.tensor([1.0, 5.0])).sum().backward()
    (ref * loss.detach() / out.coeff.detach() * torch.tensor([1.0, 5.0])).sum().backward()
    assert values.coeff.grad is not None and plain.grad is not None
    assert torch.allclose(values.coeff.grad, plain.grad)
    assert values.sgrad is not None
    assert values.sgrad.text(0) is None and "-b\n+B\n" in (values.sgrad.text(1) or "")
    with pytest.raises(ValueError, match=r"must keep the shape \[2, 2\]"):
        ex.with_dense_view(lambda d: d.view[0], values, coords, (2, 2))


# -- edit_distance_ratio ----------------------------------------------------------------

PAIRS = [
    ("abc", "abd", 1 / 3),
    ("kitten", "sitting", 3 / 7),
    ("same", "same", 0.0),
    ("", "xy", 1.0),
]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_loss_is_coeff_times_float32_distance(dtype: torch.dtype) -> None:
    out = ex.tensor([a or None for a, _, _ in PAIRS], dtype=dtype)
    with torch.no_grad():
        out.coeff.copy_(torch.tensor([2.0, 0.5, 3.0, 0.0], dtype=dtype))
    out.requires_grad_()
    want = ex.tensor([b for _, b, _ in PAIRS])
    loss = ex.edit_distance_ratio(out, want)
    distances = torch.tensor([float(np.float32(d)) for _, _, d in PAIRS], dtype=dtype)
    assert loss.dtype == dtype
    assert torch.equal(loss.detach(), out.coeff.detach() * distances)
    loss.sum().backward()
    assert out.coeff.grad is not None
    assert torch.equal(out.coeff.grad, distances)  # d(c * d)/dc = d


def test_loss_gradcheck_float64() -> None:
    out = ex.tensor(["abc", "kitten", "x"], dtype=torch.float64)
    want = ex.tensor(["abd", "sitting", "x"])

    def f(c: torch.Tensor) -> torch.Tensor:
        return ex.edit_distance_ratio(SymbolicTensor(c, out.storage), want)

    start = torch.tensor([0.5, 2.0, 1.0], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(f, (start,))


def test_loss_sgrad_is_the_diff_output_to_expected() -> None:
    out = ex.tensor([["line 1\nline 2\n", "same\n"], [None, "old\n"]], requires_grad=True)
    want = ex.tensor([["line 1\nline two\n", "same\n"], ["cold start\n", "new\r\n"]])
    ex.edit_distance_ratio(out, want).sum().backward()
    assert out.sgrad is not None
    bodies = [None if d is None else d.split("\n", 2)[2] for d in out.sgrad.texts()]
    assert bodies == [None if d is None else d.split("\n", 2)[2] for d in ex.diff(out, want).texts()]
    assert out.sgrad.text(0, 1) is None
    assert "@@ -1,2 +1,2 @@\n line 1\n-line 2\n+line two\n" in (out.sgrad.text(0, 0) or "")
    ex.patch(out, out.sgrad)
    assert out.tolist() == want.tolist()


def test_zero_weighted_elements_get_no_diff() -> None:
    out = ex.tensor(["a\n", "b\n"], requires_grad=True)
    loss = ex.edit_distance_ratio(out, ex.tensor(["A\n", "B\n"]))
    (loss * torch.tensor([0.0, 1.0])).sum().backward()
    assert out.sgrad is not None
    assert out.sgrad.text(0) is None and out.sgrad.text(1) is not None


def test_with_dense_view_gradcheck_float64() -> None:
    values = ex.tensor(["a\n", "b\n", "c\n"], dtype=torch.float64)
    coords = torch.tensor([[0, 1], [1, 0], [1, 1]])

    def fold(d: SymbolicTensor) -> SymbolicTensor:
        merged: SymbolicTensor = ex.merge(ex.stack([d, d.view[::-1]], 0), 0)
        return merged

    def f(v: torch.Tensor) -> torch.Tensor:
        return ex.with_dense_view(fold, SymbolicTensor(v, values.storage), coords, (2, 2)).coeff

    start = torch.tensor([0.5, 2.0, 3.0], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(f, (start,))
