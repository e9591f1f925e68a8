"""Module: a container of symbolic parameters with a forward, as in torch.nn (but for SymbolicTensors)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from experience.tensor import SymbolicTensor


class Module:
    """Base class: attributes that are SymbolicTensors requiring grad (or Modules) are parameters."""

    def __init__(self) -> None:
        self.training = True

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        """Compute the output."""
        raise NotImplementedError

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.forward(*args, **kwargs)

    def children(self) -> Iterator[Module]:
        """Direct sub-modules."""
        return (v for v in vars(self).values() if isinstance(v, Module))

    def parameters(self) -> list[SymbolicTensor]:
        """Learnable symbolic tensors of this module and its children (each once)."""
        found: dict[int, SymbolicTensor] = {}
        for value in vars(self).values():
            if isinstance(value, SymbolicTensor) and value.requires_grad:
                found.setdefault(id(value), value)
        for child in self.children():
            for p in child.parameters():
                found.setdefault(id(p), p)
        return list(found.values())

    def train(self, mode: bool = True) -> Module:
        """Training mode (exploration noise on) for this module and its children."""
        self.training = mode
        for child in self.children():
            child.train(mode)
        return self

    def eval(self) -> Module:
        """Evaluation mode (deterministic retrieval)."""
        return self.train(False)

    def zero_grad(self) -> None:
        """Clear gradients of every parameter."""
        for p in self.parameters():
            p.zero_grad()
