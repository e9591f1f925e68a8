"""slice_view and slice_copy: NumPy-style keys, texts, numeric grads vs torch, diffs routed back."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch

import experience as ex
from experience.tensor import SymbolicTensor

SHAPE = (3, 4, 5)
MASK_3 = torch.tensor([True, False, True])
MASK_34 = torch.arange(12).reshape(3, 4) % 3 == 0

# keys torch understands exactly as NumPy does
KEYS: list[Any] = [
    1,
    -1,
    (0, 2),
    (-1, -2, -3),
    slice(None, None, 2),
    (slice(None), slice(1, 4, 2)),
    (slice(-2, None), 0, slice(None, -1)),
    [0, 2],
    [2, 0, 2, 2],  # repeated fancy index: grads add up
    (Ellipsis, 1),
    (None, 0),
    (slice(None), None, 1),
    (1, Ellipsis, None),
    MASK_3,
    MASK_34,
    ([0, 2], [1, 3]),
    (Ellipsis, [4, 0, 4]),
    (slice(None), [1, 1], -1),
]
# negative steps: torch has no such slice, so the reference is written with flip
NEGATIVE: list[tuple[Any, Callable[[torch.Tensor], torch.Tensor]]] = [
    (slice(None, None, -1), lambda x: x.flip(0)),
    ((slice(None), slice(None, None, -2)), lambda x: x[:, [3, 1]]),
    ((0, slice(None), slice(3, 0, -1)), lambda x: x[0, :, 1:4].flip(1)),
    ((slice(None, None, -1),) * 3, lambda x: x.flip(0, 1, 2)),  # a negative-stride position array
]
OPS = [ex.slice_view, ex.slice_copy]


def grid_texts() -> list[str]:
    """One distinct text per element of SHAPE."""
    return [f"e{i}\n" for i in range(int(np.prod(SHAPE)))]


def make(dtype: torch.dtype = torch.float32) -> SymbolicTensor:
    """A [3, 4, 5] tensor of distinct texts with distinct coefficients, requiring grad."""
    t = ex.tensor(np.array(grid_texts(), dtype=object).reshape(SHAPE).tolist(), dtype=dtype)
    with torch.no_grad():
        t.coeff.copy_(torch.linspace(0.1, 2.0, t.numel(), dtype=dtype).reshape(SHAPE))
    return t.requires_grad_()


def numpy_key(key: Any) -> Any:
    """The same key with torch tensors as NumPy arrays (NumPy is the spec for the texts)."""
    if isinstance(key, tuple):
        return tuple(numpy_key(k) for k in key)
    return key.numpy() if isinstance(key, torch.Tensor) else key


def check_against_torch(
    op: Callable[..., SymbolicTensor], key: Any, reference: Callable[[torch.Tensor], torch.Tensor]
) -> None:
    """Forward texts match NumPy; forward coefficients and weighted grads match plain torch."""
    t = make()
    out = op(t, key)
    expected_texts = np.array(grid_texts(), dtype=object).reshape(SHAPE)[numpy_key(key)]
    assert out.tolist() == np.asarray(expected_texts, dtype=object).tolist()
    plain = t.coeff.detach().clone().requires_grad_()
    ref = reference(plain)
    assert out.shape == ref.shape
    assert torch.equal(out.coeff.detach(), ref.detach())
    weights = torch.arange(1.0, ref.numel() + 1).reshape(ref.shape)
    (out.coeff * weights).sum().backward()
    (ref * weights).sum().backward()
    assert t.coeff.grad is not None and plain.grad is not None
    assert torch.equal(t.coeff.grad, plain.grad)


@pytest.mark.parametrize("op", OPS, ids=["view", "copy"])
@pytest.mark.parametrize("key", KEYS, ids=[repr(k)[:30] for k in KEYS])
def test_forward_and_numeric_backward_match_torch(op: Callable[..., SymbolicTensor], key: Any) -> None:
    check_against_torch(op, key, lambda x: x[key])


@pytest.mark.parametrize("op", OPS, ids=["view", "copy"])
@pytest.mark.parametrize(("key", "reference"), NEGATIVE, ids=["rev", "step-2", "rev-range", "rev-all"])
def test_negative_steps(
    op: Callable[..., SymbolicTensor], key: Any, reference: Callable[[torch.Tensor], torch.Tensor]
) -> None:
    check_against_torch(op, key, reference)


@pytest.mark.parametrize("op", OPS, ids=["view", "copy"])
@pytest.mark.parametrize("key", [[2, 0, 2], (slice(None, None, -1), 1), (MASK_34, None)])
def test_gradcheck_float64(op: Callable[..., SymbolicTensor], key: Any) -> None:
    base = make(torch.float64)

    def f(coeff: torch.Tensor) -> torch.Tensor:
        out: SymbolicTensor = op(SymbolicTensor(coeff, base.storage), key)
        return out.coeff

    start = base.coeff.detach().clone().requires_grad_()
    assert torch.autograd.gradcheck(f, (start,), eps=1e-6, atol=1e-6)


def test_view_shares_storage_and_copy_does_not() -> None:
    t = make()
    view, copied = t.view[1, :2], t[1, :2]
    assert view.storage is t.storage and copied.storage is not t.storage
    view.set_text((0, 0), "via view")
    assert t.text(1, 0, 0) == "via view"
    assert copied.text(0, 0) == "e20\n"
    copied.set_text((1, 1), "via copy")
    assert t.text(1, 1, 1) == "e26\n"
    nested = view.view[1]  # a view of a view still points at the base's slots
    nested.set_text((2,), "nested")
    assert t.text(1, 1, 2) == "nested"


def improve(text: str) -> str:
    """A target a loss can point at: the text with a marker line appended."""
    return text + "improved\n"


@pytest.mark.parametrize("op", OPS, ids=["view", "copy"])
def test_diffs_land_at_the_selected_positions(op: Callable[..., SymbolicTensor]) -> None:
    t = make()
    key = (slice(None, None, -1), [1, 3], -1)  # picks [2,1,4] [2,3,4] [1,1,4] [1,3,4] ...
    out = op(t, key)
    want = ex.tensor([[improve(s or "") for s in row] for row in out.tolist()])
    ex.edit_distance_ratio(out, want).sum().backward()
    assert t.sgrad is not None
    grads = np.array(t.sgrad.texts(), dtype=object).reshape(SHAPE)
    picked = np.zeros(SHAPE, dtype=bool)
    picked[numpy_key(key)] = True
    assert all(d is None for d in grads[~picked])
    assert all(d is not None and "+improved\n" in d for d in grads[picked])
    ex.patch(t, t.sgrad)
    texts = np.array(t.texts(), dtype=object).reshape(SHAPE)
    original = np.array(grid_texts(), dtype=object).reshape(SHAPE)
    assert (texts[picked] == np.array([improve(s) for s in original[picked]], dtype=object)).all()
    assert (texts[~picked] == original[~picked]).all()


def test_repeated_indices_merge_their_diffs() -> None:
    text = "".join(f"line {i}\n" for i in range(12))
    t = ex.tensor([text, "other\n"], requires_grad=True)
    out = t.view[[0, 0, 1]]
    first = text.replace("line 0\n", "LINE 0\n")
    last = text.replace("line 11\n", "LINE 11\n")
    ex.edit_distance_ratio(out, ex.tensor([first, last, "other\n"])).sum().backward()
    assert t.sgrad is not None and t.sgrad.text(1) is None
    ex.patch(t, t.sgrad)
    assert t.text(0) == text.replace("line 0\n", "LINE 0\n").replace("line 11\n", "LINE 11\n")


def test_integer_index_of_a_1d_tensor_gives_a_scalar() -> None:
    t = ex.tensor(["a", "b", "c"], requires_grad=True)
    out = t.view[-1]
    assert out.shape == torch.Size([]) and out.tolist() == "c"
    ex.edit_distance_ratio(out, ex.tensor("C")).backward()
    assert t.sgrad is not None and t.sgrad.texts()[:2] == [None, None]
    ex.patch(t, t.sgrad)
    assert t.tolist() == ["a", "b", "C"]
