"""fork: N views of one tensor (shared storage); backward adds the numeric grads and merges the diffs."""

from __future__ import annotations

from experience.function.base import Context, Function, Grad, object_array
from experience.tensor import SymbolicTensor
from experience.text import merge_diffs


class Fork(Function):
    """Use one tensor in several places with an explicit, merging backward."""

    @staticmethod
    def forward(ctx: Context, t: SymbolicTensor, n: int) -> tuple[SymbolicTensor, ...]:
        """`n` views of `t`."""
        if n < 1:
            raise ValueError(f"fork needs n >= 1, got {n}")
        return tuple(SymbolicTensor(t.coeff.clone(), t.storage, t.index, t.name) for _ in range(n))

    @staticmethod
    def backward(ctx: Context, *grads: Grad) -> tuple[Grad]:
        """Sum numeric grads; merge the diffs of each element."""
        coeffs = [g.coeff for g in grads if g.coeff is not None]
        total = sum(coeffs[1:], coeffs[0].clone()) if coeffs else None
        if all(g.diffs is None for g in grads):
            return (Grad(total, None),)
        base = ctx.inputs[0].texts()
        columns = [g.diff_list() for g in grads if g.diffs is not None]
        merged = [merge_diffs(b or "", list(ds)) for b, ds in zip(base, zip(*columns, strict=True), strict=True)]
        return (Grad(total, object_array(merged, tuple(ctx.inputs[0].shape))),)


def fork(t: SymbolicTensor, n: int) -> tuple[SymbolicTensor, ...]:
    """`n` views of `t` sharing its storage (always a tuple)."""
    result = Fork.apply(t, n)
    return result if isinstance(result, tuple) else (result,)
