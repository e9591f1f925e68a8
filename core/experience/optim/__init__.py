"""Optimizers."""

from experience.optim.stsgd import StepStats, StSGD

__all__ = ["StSGD", "StepStats"]
