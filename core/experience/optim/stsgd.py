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

    Numeric step, for each element that received a grad (a diff or a non-zero numeric grad):
        c <- (1 - lr) * c + lr * present
    where `present` is 1 if the element holds text after the symbolic step, else 0. The coefficient is the
    element's presence/trust weight (retrieval multiplies by it), so it moves toward "what the text now is"
    at rate lr; elements the step did not touch keep their coefficient (the seed's c <- (1-lr)c + lr*g
    zeroes untouched entries at lr = 1, forgetting what was learned).
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
        """Patch, then update coefficients; persist coefficients of parameters that live on disk."""
        result = StepStats()
        for p in self.params:
            stats = PatchStats()
            touched = torch.zeros(p.numel(), dtype=torch.bool)
            if p.coeff.grad is not None:
                touched |= p.coeff.grad.reshape(-1) != 0
            if p.sgrad is not None:
                stats = patch(p, p.sgrad, fuzz=self.fuzz, accept=accept)
                for element in stats.elements:
                    if element.outcome is not None:
                        touched[element.position] = True
            present = torch.tensor([1.0 if t else 0.0 for t in p.texts()], dtype=p.coeff.dtype)
            flat = p.coeff.data.reshape(-1)
            flat[touched] = (1.0 - self.lr) * flat[touched] + self.lr * present[touched]
            if p.storage.directory is not None and p.is_contiguous_base:
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
