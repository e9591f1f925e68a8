"""Function: the autograd contract for symbolic ops (numeric grads via torch, diffs beside them).

An op subclasses `Function` and writes `forward(ctx, ...)` and `backward(ctx, *grads)` in terms of
SymbolicTensors and `Grad`s. The numeric channel rides on torch autograd; the symbolic channel (unified
diffs) is deposited on the input SymbolicTensor objects themselves (`t.sgrad`), which the graph already
references, so no global or thread-local registry is needed and a tensor used twice merges its diffs.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import torch

from experience.tensor import SymbolicTensor


@dataclass
class Grad:
    """The gradient of one tensor: numeric (`coeff`) and symbolic (`diffs`, object array of str | None)."""

    coeff: torch.Tensor | None = None
    diffs: np.ndarray | None = None

    def diff_list(self) -> list[str | None]:
        """Diffs flat, row-major (all None when there is no symbolic grad)."""
        if self.diffs is None:
            n = 0 if self.coeff is None else int(self.coeff.numel())
            return [None] * n
        return list(self.diffs.reshape(-1))


def object_array(values: Sequence[Any], shape: Sequence[int]) -> np.ndarray:
    """An object ndarray holding `values` (flat) in `shape`."""
    array = np.empty(len(values), dtype=object)
    array[:] = list(values)
    return array.reshape(tuple(shape))


class Context:
    """Per-call state: what forward saved, which inputs need grads, and the outputs (weakly)."""

    def __init__(self, op: type[Function], inputs: list[SymbolicTensor]) -> None:
        self.op = op
        self.inputs = inputs
        self.needs_input_grad: tuple[bool, ...] = tuple(t.coeff.requires_grad for t in inputs)
        self.outputs: list[Any] = []
        self.pending: list[Any] = []
        self.saved: dict[str, Any] = {}

    def save(self, **values: Any) -> None:
        """Keep values for backward."""
        self.saved.update(values)


def _symbolic_inputs(args: Sequence[Any]) -> list[SymbolicTensor]:
    found: list[SymbolicTensor] = []
    for arg in args:
        if isinstance(arg, SymbolicTensor):
            found.append(arg)
        elif isinstance(arg, (list, tuple)):
            found.extend(a for a in arg if isinstance(a, SymbolicTensor))
    return found


class _Bridge(torch.autograd.Function):
    """The single torch Function every symbolic op runs through."""

    @staticmethod
    def forward(tctx: Any, ctx: Context, args: tuple[Any, ...], kwargs: dict[str, Any], *coeffs: torch.Tensor) -> Any:
        result = ctx.op.forward(ctx, *args, **kwargs)
        outputs = result if isinstance(result, tuple) else (result,)
        ctx.pending = list(outputs)  # strong refs until apply() attaches the coefficients
        tensors = []
        for out in outputs:
            if isinstance(out, SymbolicTensor):
                ctx.outputs.append(weakref.ref(out))
                tensors.append(out.coeff)
            else:
                ctx.outputs.append(None)
                tensors.append(out)
        tctx.ectx = ctx
        integer = [t for t in tensors if not t.is_floating_point()]
        if integer:
            tctx.mark_non_differentiable(*integer)
        return tuple(tensors)

    @staticmethod
    def backward(tctx: Any, *grad_coeffs: torch.Tensor) -> Any:
        ctx: Context = tctx.ectx
        grads = []
        for ref, g in zip(ctx.outputs, grad_coeffs, strict=True):
            out = ref() if ref is not None else None
            diffs = None
            if isinstance(out, SymbolicTensor) and out.sgrad is not None:
                diffs = object_array(out.sgrad.texts(), tuple(out.shape))
            grads.append(Grad(g, diffs))
        input_grads = ctx.op.backward(ctx, *grads)
        if len(input_grads) != len(ctx.inputs):
            raise RuntimeError(
                f"{ctx.op.__name__}.backward returned {len(input_grads)} grads for {len(ctx.inputs)} inputs"
            )
        numeric: list[torch.Tensor | None] = []
        for tensor, need, grad in zip(ctx.inputs, ctx.needs_input_grad, input_grads, strict=True):
            if not need or grad is None:
                numeric.append(None)
                continue
            if grad.diffs is not None and any(d is not None for d in grad.diffs.reshape(-1)):
                tensor.accumulate_sgrad(grad.diffs)
            numeric.append(grad.coeff)
        return (None, None, None, *numeric)


class Function:
    """Base class of symbolic ops: subclass, write forward/backward, export `op = Op.apply`."""

    _bridge: ClassVar[type[_Bridge]] = _Bridge

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._bridge = type(cls.__name__, (_Bridge,), {})  # grad_fn shows as <OpBackward>

    # Subclasses define both as @staticmethod:
    #   forward(ctx, *args, **kwargs) -> SymbolicTensor | torch.Tensor | tuple of them
    #   backward(ctx, *grads: Grad) -> one Grad (or None) per SymbolicTensor input, in the order passed
    forward: ClassVar[Callable[..., Any]]
    backward: ClassVar[Callable[..., Sequence[Grad | None]]]

    @classmethod
    def apply(cls, *args: Any, **kwargs: Any) -> Any:
        """Run the op inside torch autograd; returns what forward returned, coefficients attached."""
        inputs = _symbolic_inputs(args)
        ctx = Context(cls, inputs)
        coeffs = cls._bridge.apply(ctx, args, kwargs, *[t.coeff for t in inputs])  # type: ignore[no-untyped-call]
        results = []
        pending, ctx.pending = ctx.pending, []
        for out, coeff in zip(pending, coeffs, strict=True):
            if isinstance(out, SymbolicTensor):
                out.coeff = coeff
                results.append(out)
            else:
                results.append(coeff)
        return results[0] if len(results) == 1 else tuple(results)
