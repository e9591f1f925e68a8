"""Test-only backends and a tiny dataset for the daemon tests.

The daemon loads a factory from here through ``EXPERIENCE_TEST_BACKEND=daemon_doubles:<name>``
(see experience_daemon.testing); ``tests/`` and ``tests/daemon/`` must be on its PYTHONPATH.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from doubles import ScriptedBackend
from experience.kernel import Completion, KernelTask

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


def write_dataset(root: Path, pairs: dict[str, dict[str, tuple[str, str]]] = PAIRS, name: str = "tiny") -> Path:
    """A dataset folder (manifest.json + train/ + val/) under `root`."""
    folder = root / name
    for split, items in pairs.items():
        (folder / split).mkdir(parents=True, exist_ok=True)
        for stem, (py, viba) in items.items():
            (folder / split / f"{stem}.py").write_text(py, encoding="utf-8")
            (folder / split / f"{stem}.viba").write_text(viba, encoding="utf-8")
    manifest = {
        "name": name,
        "source_ext": "py",
        "target_ext": "viba",
        "task_prompt": "Translate the Python function into Viba.",
        "splits": {s: s for s in pairs},
    }
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return folder


def translator(task: KernelTask) -> str:
    """Keyword calls name the function; translations copy the nearest shot renamed, else miss."""
    source = task.messages[-1].content
    match = re.search(r"def (\w+)", source)
    name = match.group(1) if match else "f"
    if task.tag == "query":
        return f"{name}\nmath"
    if len(task.messages) >= 4:
        return "```\n" + re.sub(r"^\w+", name, task.messages[-2].content) + "\n```"
    return f"func {name}(a) {{ return a }}"


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
