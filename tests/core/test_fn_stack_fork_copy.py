"""stack, fork and copy: forward texts, numeric grads vs torch and gradcheck, diffs routed back."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import experience as ex
from experience.tensor import SymbolicTensor

TEN = "".join(f"l{i}\n" for i in range(10))


def grid(tag: str, dtype: torch.dtype = torch.float32) -> SymbolicTensor:
    """A [2, 3] tensor of texts `tag<i>` with distinct coefficients, requiring grad."""
    t = ex.tensor([[f"{tag}{3 * r + c}\n" for c in range(3)] for r in range(2)], dtype=dtype)
    with torch.no_grad():
        t.coeff.copy_(torch.linspace(0.5, 1.5, 6, dtype=dtype).reshape(2, 3) + len(tag))
    return t.requires_grad_()


# -- stack ------------------------------------------------------------------------------


@pytest.mark.parametrize("dim", [0, 1, 2, -1, -3])
def test_stack_matches_numpy_and_torch(dim: int) -> None:
    a, b, c = grid("a"), grid("bb"), grid("ccc")
    out = ex.stack([a, b, c], dim)
    arrays = [np.array(t.tolist(), dtype=object) for t in (a, b, c)]
    assert out.tolist() == np.stack(arrays, axis=dim).tolist()
    plain = [t.coeff.detach().clone().requires_grad_() for t in (a, b, c)]
    ref = torch.stack(plain, dim)
    assert torch.equal(out.coeff.detach(), ref.detach())
    weights = torch.arange(1.0, ref.numel() + 1).reshape(ref.shape)
    (out.coeff * weights).sum().backward()
    (ref * weights).sum().backward()
    for t, p in zip((a, b, c), plain, strict=True):
        assert t.coeff.grad is not None and p.grad is not None
        assert torch.equal(t.coeff.grad, p.grad)
    assert out.storage is not a.storage


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_stack_gradcheck_float64(dim: int) -> None:
    a, b = grid("a", torch.float64), grid("b", torch.float64)

    def f(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        out: SymbolicTensor = ex.stack([SymbolicTensor(x, a.storage), SymbolicTensor(y, b.storage)], dim)
        return out.coeff

    inputs = (a.coeff.detach().clone().requires_grad_(), b.coeff.detach().clone().requires_grad_())
    assert torch.autograd.gradcheck(f, inputs)


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_stack_routes_diffs_to_the_right_input_and_position(dim: int) -> None:
    a, b = grid("a"), grid("b")
    out = ex.stack([a, b], dim)
    wanted = np.array(out.tolist(), dtype=object)
    selector: list[slice | int] = [slice(None)] * 3
    selector[dim % 3] = 1
    sub = wanted[tuple(selector)]
    sub[1, 2] = "b5 fixed\n"
    wanted[tuple(selector)] = sub
    ex.edit_distance_ratio(out, ex.tensor(wanted.tolist())).sum().backward()
    assert a.sgrad is None
    assert b.sgrad is not None
    grads = b.sgrad.tolist()
    assert [g for row in grads for g in row].count(None) == 5
    assert grads[1][2] is not None and "-b5\n+b5 fixed\n" in grads[1][2]
    ex.patch(b, b.sgrad)
    assert b.text(1, 2) == "b5 fixed\n" and b.text(0, 0) == "b0\n"


# -- fork -------------------------------------------------------------------------------


def test_fork_gives_views_and_sums_numeric_grads() -> None:
    t = grid("t")
    x, y, z = ex.fork(t, 3)
    assert x.storage is t.storage and z.tolist() == t.tolist()
    y.set_text((0, 0), "written through a fork\n")
    assert t.text(0, 0) == "written through a fork\n"
    plain = t.coeff.detach().clone().requires_grad_()
    w = torch.arange(6.0).reshape(2, 3)
    (x.coeff * w + y.coeff * 2 + z.coeff**2).sum().backward()
    (plain * w + plain * 2 + plain**2).sum().backward()
    assert t.coeff.grad is not None and plain.grad is not None
    assert torch.allclose(t.coeff.grad, plain.grad)
    assert len(ex.fork(t, 1)) == 1
    with pytest.raises(ValueError, match="n >= 1"):
        ex.fork(t, 0)


def test_fork_gradcheck_float64() -> None:
    base = grid("t", torch.float64)

    def f(c: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return tuple(o.coeff * (k + 1) for k, o in enumerate(ex.fork(SymbolicTensor(c, base.storage), 3)))

    assert torch.autograd.gradcheck(f, (base.coeff.detach().clone().requires_grad_(),))


def test_fork_merges_the_diffs_of_its_branches() -> None:
    t = ex.tensor([TEN, "keep\n"], requires_grad=True)
    left, right = ex.fork(t, 2)
    first = TEN.replace("l0\n", "L0\n")
    last = TEN.replace("l9\n", "L9\n")
    loss = ex.edit_distance_ratio(left, ex.tensor([first, "keep\n"]))
    loss = loss + ex.edit_distance_ratio(right, ex.tensor([last, "keep\n"]))
    loss.sum().backward()
    assert t.sgrad is not None and t.sgrad.text(1) is None
    merged = t.sgrad.text(0) or ""
    assert "-l0\n+L0\n" in merged and "-l9\n+L9\n" in merged
    ex.patch(t, t.sgrad)
    assert t.text(0) == TEN.replace("l0\n", "L0\n").replace("l9\n", "L9\n")


def test_fork_branch_without_a_loss_adds_nothing() -> None:
    t = ex.tensor(["a\n"], requires_grad=True)
    used, _unused = ex.fork(t, 2)
    ex.edit_distance_ratio(used, ex.tensor(["b\n"])).sum().backward()
    assert t.sgrad is not None and "-a\n+b\n" in (t.sgrad.text(0) or "")
    assert t.coeff.grad is not None and t.coeff.grad.tolist() == [0.5]  # edit distance a->b


# -- copy -------------------------------------------------------------------------------


def test_copy_is_independent_and_passes_grads_through() -> None:
    t = grid("t")
    c = t.copy()
    assert c.tolist() == t.tolist() and c.storage is not t.storage
    assert torch.equal(c.coeff.detach(), t.coeff.detach())
    c.set_text((0, 0), "changed\n")
    assert t.text(0, 0) == "t0\n"
    want = np.array(c.tolist(), dtype=object)
    want[1, 1] = "t4 better\n"
    w = torch.arange(1.0, 7.0).reshape(2, 3)
    loss = ex.edit_distance_ratio(c, ex.tensor(want.tolist()))
    ((loss * w).sum() + (c.coeff * w).sum()).backward()
    assert t.coeff.grad is not None
    d = loss.detach() / c.coeff.detach()
    assert torch.allclose(t.coeff.grad, w * d + w)
    assert t.sgrad is not None
    grads = t.sgrad.tolist()
    assert grads[0][0] is None  # the copy's own edit is its text, not a gradient
    assert grads[1][1] is not None and "+t4 better\n" in grads[1][1]


def test_copy_gradcheck_float64() -> None:
    base = grid("t", torch.float64)

    def f(x: torch.Tensor) -> torch.Tensor:
        return ex.copy(SymbolicTensor(x, base.storage)).coeff * 3

    assert torch.autograd.gradcheck(f, (base.coeff.detach().clone().requires_grad_(),))


def test_a_tensor_used_twice_without_fork_merges_its_diffs() -> None:
    t = ex.tensor([TEN], requires_grad=True)
    first = ex.edit_distance_ratio(t, ex.tensor([TEN.replace("l1\n", "L1\n")]))
    second = ex.edit_distance_ratio(t.view[:], ex.tensor([TEN.replace("l8\n", "L8\n")]))
    (first + second).sum().backward()
    assert t.sgrad is not None
    ex.patch(t, t.sgrad)
    assert t.text(0) == TEN.replace("l1\n", "L1\n").replace("l8\n", "L8\n")
