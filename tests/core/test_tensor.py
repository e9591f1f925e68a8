"""SymbolicTensor: shape, coeff, tolist, no monkey-patching, no thread-local state, bad input."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
import torch

import experience as ex
from experience.function import Context, Function, Grad
from experience.tensor import SymbolicTensor

CORE = Path(__file__).resolve().parents[2] / "core"


def snapshot(directory: Path) -> dict[str, bytes]:
    """Every file under `directory` by relative path, with its bytes."""
    return {str(p.relative_to(directory)): p.read_bytes() for p in directory.rglob("*") if p.is_file()}


def test_shape_coeff_and_tolist() -> None:
    t = ex.tensor([["a", None, "c"], ["", "e", "f\n"]])
    assert t.shape == torch.Size([2, 3])
    assert t.dim() == 2 and t.numel() == 6
    assert isinstance(t.coeff, torch.Tensor)
    assert t.coeff.tolist() == [[1.0, 0.0, 1.0], [0.0, 1.0, 1.0]]  # non-zero = present
    assert t.tolist() == [["a", None, "c"], [None, "e", "f\n"]]
    assert t.text(1, 2) == "f\n" and t.text(0, 1) is None
    assert t.texts() == ["a", None, "c", None, "e", "f\n"]
    assert ex.tensor("solo").tolist() == "solo"
    assert ex.tensor("solo").shape == torch.Size([])
    assert ex.tensor([]).shape == torch.Size([0])
    assert ex.empty_like(t).tolist() == [[None] * 3] * 2


def test_coeff_is_in_autograd() -> None:
    t = ex.tensor(["a", "b"], requires_grad=True, dtype=torch.float64)
    assert t.requires_grad and t.coeff.dtype == torch.float64 and t.coeff.is_leaf
    view = t.view[1:]
    assert view.coeff.grad_fn is not None
    assert "SliceView" in type(view.coeff.grad_fn).__name__
    (view.coeff * 3).sum().backward()
    assert t.coeff.grad is not None
    assert t.coeff.grad.tolist() == [0.0, 3.0]
    assert t.detach().coeff.requires_grad is False


def test_path_elements_are_read_from_files(tmp_path: Path) -> None:
    source = tmp_path / "src é.py"
    source.write_bytes(b"x = 1\r\n")
    assert ex.tensor([source, None]).tolist() == ["x = 1\r\n", None]


def test_torch_tensor_is_not_monkey_patched() -> None:
    script = f"""
import sys
sys.path.insert(0, {str(CORE)!r})
import torch
before = set(dir(torch.Tensor))
import experience as ex
t = ex.tensor([["a", "b"], ["c", ""]], requires_grad=True)
v = t.view[0]
loss = ex.edit_distance_ratio(v, ex.tensor(["A", "b"]))
loss.sum().backward()
after = set(dir(torch.Tensor))
print(sorted(after - before))
print(sorted(a for a in after if a.startswith(("st_", "sgrad", "symbolic", "experience"))))
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120)
    assert out.stdout.splitlines() == ["[]", "[]"]


_BARRIER = threading.Barrier(2)


class Rendezvous(Function):
    """Identity whose backward waits until two backward passes are inside it at once."""

    @staticmethod
    def forward(ctx: Context, t: SymbolicTensor) -> SymbolicTensor:
        """Same texts, new coefficients."""
        return SymbolicTensor(t.coeff.clone(), t.storage, t.index)

    @staticmethod
    def backward(ctx: Context, grad: Grad) -> tuple[Grad]:
        """Meet the other thread, then pass the grad through."""
        _BARRIER.wait(timeout=30)
        return (grad,)


def test_concurrent_backward_passes_keep_their_own_sgrad() -> None:
    results: dict[int, SymbolicTensor] = {}
    errors: list[BaseException] = []

    def train(k: int) -> None:
        try:
            x = ex.tensor([f"thread {k}\nkeep\n", "same\n"], requires_grad=True)
            y = Rendezvous.apply(x)
            want = ex.tensor([f"thread {k} done\nkeep\n", "same\n"])
            ex.edit_distance_ratio(y, want).sum().backward()
            results[k] = x
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=train, args=(k,)) for k in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    for k in (1, 2):
        x = results[k]
        assert x.sgrad is not None
        grads = x.sgrad.texts()
        assert grads[1] is None
        assert grads[0] is not None and f"-thread {k}\n+thread {k} done\n" in grads[0]
        other = 3 - k
        assert f"thread {other}" not in grads[0]
        ex.patch(x, x.sgrad)
        assert x.tolist() == [f"thread {k} done\nkeep\n", "same\n"]


def test_backward_on_another_thread_delivers_sgrad() -> None:
    x = ex.tensor(["abc\n"], requires_grad=True)
    loss = ex.edit_distance_ratio(x.view[:], ex.tensor(["abd\n"])).sum()
    worker = threading.Thread(target=loss.backward)
    worker.start()
    worker.join(timeout=60)
    assert x.sgrad is not None
    assert "-abc\n+abd\n" in (x.sgrad.text(0) or "")


# -- bad input --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [[["a", "b"], ["c"]], [["a"], "b"], [[["a"]], [["b", "c"]]]],
)
def test_ragged_lists_name_the_mismatch(data: object) -> None:
    with pytest.raises(ValueError, match="shape mismatch at"):
        ex.tensor(data)


@pytest.mark.parametrize(("bad", "kind"), [(3, "int"), (b"bytes", "bytes"), ({"a": 1}, "dict"), (2.5, "float")])
def test_non_text_elements_are_refused(bad: object, kind: str) -> None:
    with pytest.raises(TypeError, match=rf"element \[1, 0\] is {kind}, not text"):
        ex.tensor([["ok"], [bad]])


def test_mismatched_shapes_are_refused() -> None:
    a, b = ex.tensor(["a", "b"]), ex.tensor(["a", "b", "c"])
    with pytest.raises(ValueError, match=r"stack needs tensors of one shape.*\[2\].*\[3\]"):
        ex.stack([a, b])
    with pytest.raises(ValueError, match=r"diff: shapes \[2\] and \[3\] differ"):
        ex.diff(a, b)
    with pytest.raises(ValueError, match=r"patch: shapes \[2\] and \[3\] differ"):
        ex.patch(a, ex.diff(b, b))
    with pytest.raises(ValueError, match=r"output shape \[2\] != expected \[3\]"):
        ex.edit_distance_ratio(a, b)
    with pytest.raises(ValueError, match="at least one"):
        ex.stack([])
    with pytest.raises(IndexError, match=r"does not fit a tensor of shape \[2\]"):
        a.view[5]


def test_a_diff_that_does_not_apply_is_rejected_and_kept(tmp_path: Path) -> None:
    t = ex.tensor(["one\ntwo\nthree\n", "alpha\n"], tmp_path, name="t")
    other = ex.tensor(["completely\ndifferent\n", "alpha\n"])
    grad = ex.diff(other, ex.tensor(["completely\nchanged\n", "alpha\n"]))
    before = snapshot(tmp_path)
    stats = ex.patch(t, grad)
    assert (stats.applied, stats.fuzzed, stats.rejected, stats.skipped) == (0, 0, 1, 1)
    element = stats.elements[0]
    assert element.position == 0
    assert element.outcome is ex.PatchOutcome.REJECTED
    assert element.after == "one\ntwo\nthree\n"
    assert len(element.rejected_hunks) == 1
    assert "-different\n+changed\n" in element.rejected_hunks[0]
    assert t.text(0) == "one\ntwo\nthree\n"
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize(
    "bad",
    [
        "not a diff at all\n",
        "--- a/x\n+++ b/x\n@@ -1,2 +1,2 @@\n-only one line\n",
        "--- a/x\n+++ b/x\n@@ -1 +1 @@\n*bogus\n",
        "--- a/x\n+++ b/x\n@@ nonsense @@\n",
    ],
)
def test_malformed_diff_raises_and_changes_nothing(tmp_path: Path, bad: str) -> None:
    t = ex.tensor(["keep\n", "only one line\n"], tmp_path, name="t")
    good = ex.diff(t, ex.tensor(["kept\n", "only one line\n"])).texts()[0]
    grad = ex.tensor([good, bad])
    before = snapshot(tmp_path)
    with pytest.raises(ex.PatchFormatError, match=r"element 1 of the gradient: line \d"):
        ex.patch(t, grad)
    assert snapshot(tmp_path) == before
    assert t.tolist() == ["keep\n", "only one line\n"]


def test_patch_with_accept_veto_counts_blocked() -> None:
    t = ex.tensor(["a\n", "b\n", "c\n"])
    grad = ex.diff(t, ex.tensor(["A\n", "B\n", "c\n"]))
    seen: list[tuple[int, str]] = []

    def accept(position: int, diff: str, new_text: str) -> bool:
        seen.append((position, new_text))
        return position != 1

    stats = ex.patch(t, grad, accept=accept)
    assert seen == [(0, "A\n"), (1, "B\n")]
    assert stats.as_dict() == {"applied": 1, "fuzzed": 0, "rejected": 0, "skipped": 1, "blocked": 1}
    assert t.tolist() == ["A\n", "b\n", "c\n"]
    assert [e.outcome for e in stats.elements] == [ex.PatchOutcome.APPLIED, None]


def test_diff_is_none_where_equal_and_points_to_the_better_text() -> None:
    current = ex.tensor([["same", "old\nline\n"], [None, "gone\n"]])
    better = ex.tensor([["same", "new\nline\n"], ["born\n", None]])
    grad = ex.diff(current, better)
    texts = grad.texts()
    assert texts[0] is None
    assert texts[1] is not None and "-old\n+new\n" in texts[1]
    assert grad.coeff.tolist() == [[0.0, 1.0], [1.0, 1.0]]
    ex.patch(current, grad)
    assert current.tolist() == better.tolist()
    assert np.array_equal(current.index, np.arange(4).reshape(2, 2))
