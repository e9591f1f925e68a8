"""StSGD: the two-channel optimizer (numeric coefficient update + symbolic patch)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import torch

from experience.storage.serialize import write_meta
from experience.tensor import SymbolicTensor
from experience.textwise import Accept, PatchStats, patch


@dataclass
class StepStats:
    """What one optimizer step did: patch counts overall and per parameter."""

    total: PatchStats = field(default_factory=PatchStats)
    per_param: list[PatchStats] = field(default_factory=list)


class StSGD:
    """Symbolic SGD.

    Symbolic step: every element whose symbolic grad is a non-empty diff is patched (fuzz 3), whether the
    element is empty (cold start: the diff's + lines) or already holds text (a real fuzzy patch).

    Numeric step: the coefficient of an element is its trust in [0, 1] (retrieval multiplies by it; at 0 a
    row is never retrieved and is free for reuse).
        c <- clip(c - lr * grad, 0, 1)      for every element with a non-zero numeric grad
    st_moe's grad is (loss - baseline) of the samples that used the row, so rows that helped rise and rows
    that hurt fall. Then the symbolic step sets what text alone decides: an element that became empty is 0;
    an element written from empty, or from a row at 0 (evicted or decayed), starts trusted at 1.
    """

    def __init__(self, params: Iterable[SymbolicTensor], lr: float = 1.0, *, fuzz: int = 3) -> None:
        self.params = list(params)
        if not self.params:
            raise ValueError("StSGD got an empty parameter list; pass model.parameters()")
        if not 0.0 < lr <= 1.0:
            raise ValueError(f"StSGD lr must be in (0, 1], got {lr}")
        for p in self.params:
            if not isinstance(p, SymbolicTensor):
                raise TypeError(f"StSGD optimizes SymbolicTensors, got {type(p).__name__}")
        self.lr = lr
        self.fuzz = fuzz
        self.steps = 0

    def zero_grad(self) -> None:
        """Clear both gradient channels of every parameter."""
        for p in self.params:
            p.zero_grad()

    @torch.no_grad()
    def step(self, accept: Accept | None = None) -> StepStats:
        """Update coefficients, then patch; persist coefficients of parameters that live on disk."""
        result = StepStats()
        for p in self.params:
            stats = PatchStats()
            flat = p.coeff.data.reshape(-1)
            was = flat.clone()
            before = p.texts()
            if p.coeff.grad is not None:
                g = p.coeff.grad.reshape(-1)
                moved = g != 0
                flat[moved] = (flat[moved] - self.lr * g[moved]).clamp(0.0, 1.0)
            if p.sgrad is not None:
                stats = patch(p, p.sgrad, fuzz=self.fuzz, accept=accept)
            for position, (old, new) in enumerate(zip(before, p.texts(), strict=True)):
                if old == new:
                    continue
                if not new:
                    flat[position] = 0.0
                elif not old or was[position] <= 0.0:
                    flat[position] = 1.0
            if p.storage.directory is not None and p.is_contiguous_base and not p.storage.deferring:
                write_meta(p.storage.directory, p)
            result.per_param.append(stats)
            result.total.add(stats)
        self.steps += 1
        return result

    def state_dict(self) -> dict[str, float | int]:
        """Optimizer state for checkpoints."""
        return {"lr": self.lr, "fuzz": self.fuzz, "steps": self.steps}

    def load_state_dict(self, state: dict[str, float | int]) -> None:
        """Restore optimizer state from a checkpoint."""
        self.lr = float(state["lr"])
        self.fuzz = int(state["fuzz"])
        self.steps = int(state["steps"])
