"""Test-only backends and a tiny dataset for the daemon tests.

The daemon loads a factory from here through ``EXPERIENCE_TEST_BACKEND=daemon_doubles:<name>``
(see experience_daemon.testing); ``tests/`` and ``tests/daemon/`` must be on its PYTHONPATH.
"""

from __future__ import annotations

import os

from doubles import ScriptedBackend
from experience.kernel import Completion, KernelTask
from learning_fixtures import copying_translator as translator
from learning_fixtures import write_dataset

__all__ = ["PAIRS", "copying", "noisy", "slow", "translator", "write_dataset"]

PAIRS = {
    "train": {
        "add": ("def add(a):\n    return a + 1\n", "add :=\n  <- $a + 1\n"),
        "neg": ("def neg(a):\n    return -a\n", "neg :=\n  <- 0 - $a\n"),
        "dbl": ("def dbl(a):\n    return a * 2\n", "dbl :=\n  <- $a * 2\n"),
        "sq": ("def sq(a):\n    return a * a\n", "sq :=\n  <- $a * $a\n"),
    },
    "val": {
        "inc": ("def inc(a):\n    return a + 1\n", "inc :=\n  <- $a + 1\n"),
    },
}


def copying() -> ScriptedBackend:
    """Instant scripted translator."""
    return ScriptedBackend(translator)


def slow() -> ScriptedBackend:
    """The scripted translator at 0.3 s per call: a step takes seconds (to cancel mid-train)."""
    return ScriptedBackend(translator, delay=0.3)


class NoisyBackend(ScriptedBackend):
    """Writes to stdout on every call, from Python and at the file-descriptor level (as C libraries do)."""

    async def complete(self, task: KernelTask) -> Completion:
        """Make noise, then answer as the scripted translator."""
        print("noise from print()")
        os.write(1, b"noise from fd 1\n")
        return await super().complete(task)


def noisy() -> ScriptedBackend:
    """The scripted translator that also writes to stdout."""
    return NoisyBackend(translator)
