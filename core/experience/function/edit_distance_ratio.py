"""edit_distance_ratio: the loss; per element, normalized Levenshtein distance to the expected text."""

from __future__ import annotations

import torch

from experience.function.base import Context, Function, Grad, object_array
from experience.tensor import SymbolicTensor
from experience.text import edit_distances, unified_diff


class EditDistanceRatio(Function):
    """loss_i = coeff_i * d_i, d_i in [0, 1]; d(loss_i)/d(coeff_i) = d_i; the symbolic grad is output -> expected."""

    @staticmethod
    def forward(ctx: Context, output: SymbolicTensor, expected: SymbolicTensor) -> torch.Tensor:
        """Per-element loss, float32 distances scaled by the output coefficients."""
        if tuple(output.shape) != tuple(expected.shape):
            raise ValueError(
                f"edit_distance_ratio: output shape {list(output.shape)} != expected {list(expected.shape)}"
            )
        outs = [t or "" for t in output.texts()]
        wants = [t or "" for t in expected.texts()]
        d = torch.tensor(edit_distances(list(zip(outs, wants, strict=True))), dtype=torch.float32)
        d = d.reshape(output.shape).to(output.coeff.dtype)
        ctx.save(distance=d, outs=outs, wants=wants)
        return output.coeff * d

    @staticmethod
    def backward(ctx: Context, grad: Grad) -> tuple[Grad, None]:
        """Numeric: grad * d. Symbolic: the diff that turns each output into its expected text."""
        d, outs, wants = ctx.saved["distance"], ctx.saved["outs"], ctx.saved["wants"]
        assert grad.coeff is not None
        live = (grad.coeff.reshape(-1) != 0).tolist()
        diffs = [unified_diff(o, w) if keep else None for o, w, keep in zip(outs, wants, live, strict=True)]
        return (Grad(grad.coeff * d, object_array(diffs, tuple(d.shape))), None)


def edit_distance_ratio(output: SymbolicTensor, expected: SymbolicTensor) -> torch.Tensor:
    """Differentiable per-element loss: 0 where the output equals the expected text, up to 1."""
    loss: torch.Tensor = EditDistanceRatio.apply(output, expected)
    return loss
