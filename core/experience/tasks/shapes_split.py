"""The shipped shapes dataset: a seeded train/val/test split whose test uses unseen op combinations.

Some unordered pairs of op kinds are held out: no train or val program uses both kinds of a
held-out pair, and every test program applies the two kinds of one held-out pair one right after
the other. So each test program's set of op kinds is new, while every single kind appears in train.
"""

from __future__ import annotations

import itertools
import json
import random
from collections.abc import Callable, Sequence
from pathlib import Path

from experience.storage.atomic import atomic_write_text
from experience.tasks.shapes import OP_KINDS, ShapeExample, format_source, format_target, realize

SIZES = {"train": 40, "val": 15, "test": 15}
HELDOUT_PAIRS = 20  # of the 105 unordered pairs of op kinds
SOURCE_EXT, TARGET_EXT = "py", "shape"
TASK_PROMPT = (
    "Give the shape of the tensor the PyTorch code asks about, as a list of integers like [4, 16]."
)
Split = list[tuple[str, ShapeExample]]


def heldout_pairs(rng: random.Random) -> list[tuple[str, str]]:
    """The held-out unordered pairs of op kinds, sorted."""
    pairs = list(itertools.combinations(OP_KINDS, 2))
    return sorted((min(a, b), max(a, b)) for a, b in rng.sample(pairs, HELDOUT_PAIRS))


def uses_pair(ops: Sequence[str], pairs: Sequence[tuple[str, str]]) -> bool:
    """True when `ops` contains both kinds of any of `pairs`."""
    return any(a in ops and b in ops for a, b in pairs)


def _fill(
    rng: random.Random,
    count: int,
    kinds_for: Callable[[int], list[str]],
    seen: set[str],
) -> list[ShapeExample]:
    out: list[ShapeExample] = []
    while len(out) < count:
        example = realize(rng, kinds_for(len(out)))
        if example is not None and format_source(example) not in seen:
            seen.add(format_source(example))
            out.append(example)
    return out


def build_split(seed: int = 0) -> tuple[dict[str, Split], list[tuple[str, str]]]:
    """The named examples of each split, and the held-out pairs they were built around."""
    rng = random.Random(seed)
    held = heldout_pairs(rng)
    seen: set[str] = set()

    def seen_kinds(index: int) -> list[str]:
        length = rng.randint(1, 4)  # drawn first, so rejection does not favour short programs
        while True:
            kinds = [rng.choice(OP_KINDS) for _ in range(length)]
            if index < len(OP_KINDS):  # the first train programs cover every kind
                kinds[rng.randrange(len(kinds))] = OP_KINDS[index]
            if not uses_pair(kinds, held):
                return kinds

    def unseen_kinds(index: int) -> list[str]:
        kinds = [rng.choice(OP_KINDS) for _ in range(rng.randint(2, 4))]
        pair = list(rng.choice(held))
        rng.shuffle(pair)
        at = rng.randrange(len(kinds) - 1)
        kinds[at : at + 2] = pair
        return kinds

    train = _fill(rng, SIZES["train"], seen_kinds, seen)
    val = _fill(rng, SIZES["val"], lambda _: seen_kinds(len(OP_KINDS)), seen)
    test = _fill(rng, SIZES["test"], unseen_kinds, seen)
    splits = {"train": train, "val": val, "test": test}
    named = {
        split: [(f"{i:03d}-{'-'.join(ex.ops)}", ex) for i, ex in enumerate(examples)]
        for split, examples in splits.items()
    }
    return named, held

GRAMMAR_FILE = "shapes.gbnf"
GRAMMAR = """# Shapes answers: one shape as a list of integers, like [4, 16] ([] for a scalar). Bounded (at most 8
# dimensions of at most 6 digits, written as nested optionals) so that a small model decoding under it ends.

root ::= "[" (dim (", " dim (", " dim (", " dim (", " dim (", " dim (", " dim (", " dim)?)?)?)?)?)?)?)? "]" "\\n"?
dim  ::= "0" | [1-9] ([0-9] ([0-9] ([0-9] ([0-9] ([0-9])?)?)?)?)?
"""


def manifest(splits: dict[str, Split], held: list[tuple[str, str]], seed: int) -> dict[str, object]:
    """The manifest.json content: what `load_dataset` reads, plus the seed and each pair's ops."""
    return {
        "name": "shapes",
        "source_ext": SOURCE_EXT,
        "target_ext": TARGET_EXT,
        "task_prompt": TASK_PROMPT,
        "splits": {split: split for split in splits},
        "checker": "experience.tasks.shapes:check",
        "grammar": GRAMMAR_FILE,
        "verifier": "experience.tasks.shapes:verify_text",
        "generator": {
            "command": f"python -m experience.tasks.shapes --out datasets/shapes --seed {seed}",
            "seed": seed,
        },
        "heldout_pairs": [list(p) for p in held],
        "ops": {
            f"{split}/{name}": list(ex.ops) for split, pairs in splits.items() for name, ex in pairs
        },
    }


def write_dataset(out: str | Path, seed: int = 0) -> None:
    """Write the train/val/test pairs and manifest.json into `out`, removing stale pairs."""
    folder = Path(out)
    splits, held = build_split(seed)
    for split, pairs in splits.items():
        (folder / split).mkdir(parents=True, exist_ok=True)
        for stale in sorted((folder / split).glob("*")):
            if stale.suffix in (f".{SOURCE_EXT}", f".{TARGET_EXT}"):
                stale.unlink()
        for name, example in pairs:
            atomic_write_text(folder / split / f"{name}.{SOURCE_EXT}", format_source(example))
            atomic_write_text(folder / split / f"{name}.{TARGET_EXT}", format_target(example))
    atomic_write_text(folder / GRAMMAR_FILE, GRAMMAR)
    atomic_write_text(folder / "manifest.json", manifest_text(manifest(splits, held, seed)))


def manifest_text(value: dict[str, object]) -> str:
    """JSON with objects indented two spaces and lists on one line each, ending with a newline."""

    def render(item: object, indent: str) -> str:
        if not isinstance(item, dict) or not item:
            return json.dumps(item)
        inner = indent + "  "
        rows = [f"{inner}{json.dumps(str(k))}: {render(v, inner)}" for k, v in item.items()]
        return "{\n" + ",\n".join(rows) + "\n" + indent + "}"

    return render(value, "") + "\n"
