"""Helpers for learning tests: a tiny Python->Viba dataset and a scripted translator (tests only)."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

from experience.kernel import KernelTask

PAIRS = {
    "train": {
        "add": ("def add(a: int) -> int:\n    return a + 1\n", "add :=\n  <- $a int\n  <- $a + 1\n"),
        "neg": ("def neg(a: int) -> int:\n    return -a\n", "neg :=\n  <- $a int\n  <- 0 - $a\n"),
        "dbl": ("def dbl(a: int) -> int:\n    return a * 2\n", "dbl :=\n  <- $a int\n  <- $a * 2\n"),
        "sq": ("def sq(a: int) -> int:\n    return a * a\n", "sq :=\n  <- $a int\n  <- $a * $a\n"),
    },
    "val": {
        "add_one": ("def add_one(a: int) -> int:\n    return a + 1\n", "add_one :=\n  <- $a int\n  <- $a + 1\n"),
    },
}


def write_dataset(root: Path, pairs: dict[str, dict[str, tuple[str, str]]] = PAIRS, name: str = "tiny") -> Path:
    """A dataset folder (manifest + splits) under `root/name`."""
    folder = root / name
    for split, items in pairs.items():
        (folder / split).mkdir(parents=True, exist_ok=True)
        for name, (py, viba) in items.items():
            (folder / split / f"{name}.py").write_text(py, encoding="utf-8")
            (folder / split / f"{name}.viba").write_text(viba, encoding="utf-8")
    manifest = {
        "name": name,
        "source_ext": "py",
        "target_ext": "viba",
        "task_prompt": "Translate the Python function into Viba.",
        "splits": {s: s for s in pairs},
    }
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return folder


VIBA_GRAMMAR = Path(__file__).resolve().parents[1] / "datasets" / "viba" / "viba.gbnf"


def with_viba_checks(folder: Path, *, checker: bool = True, grammar: bool = True) -> Path:
    """`folder`'s manifest names the Viba checker and/or the Viba grammar (copied in); the folder."""
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    if checker:
        manifest["checker"] = "experience.tasks.viba:check"
    if grammar:
        shutil.copy(VIBA_GRAMMAR, folder / "viba.gbnf")
        manifest["grammar"] = "viba.gbnf"
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return folder


def copying_translator(task: KernelTask) -> str:
    """Keyword calls name the function; translations copy the nearest shot, renamed (else a wrong guess)."""
    source = task.messages[-1].content
    match = re.search(r"def (\w+)", source)
    name = match.group(1) if match else "f"
    if task.tag == "query":
        return f"{name}\nmath"
    if len(task.messages) >= 4:
        return "```\n" + re.sub(r"^\w+", name, task.messages[-2].content) + "\n```"
    return f"func {name}(a) {{ return a }}"


def files(folder: Path) -> dict[str, bytes]:
    """Every file under a folder, by relative path (the bytes a person would see)."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}
