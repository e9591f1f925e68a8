"""Modules."""

from experience.nn.module import Module
from experience.nn.moe import NaiveModel, StMoe

__all__ = ["Module", "NaiveModel", "StMoe"]
