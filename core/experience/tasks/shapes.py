"""Tensor-shape inference: given 1-4 lines of PyTorch and input shapes, give the shape of a tensor.

Programs are generated at random from the op kinds in `OP_KINDS`. Every answer comes from running
the code with torch on `meta` tensors (no data, no hand-written shape rules); a line that torch
rejects is resampled. `verify` scores a prediction exactly.

    examples = generate(100, seed=0)
    format_source(examples[0])   # what the model sees
    verify(examples[0], "final: [4, 16]")

Regenerate the shipped dataset: `python -m experience.tasks.shapes --out datasets/shapes`.
"""

from __future__ import annotations

import argparse
import random
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

from experience.tasks.shapes_ops import PROPOSERS, SIZES, Shape

__all__ = [
    "OP_KINDS",
    "ShapeExample",
    "answer_of",
    "check",
    "format_source",
    "format_target",
    "generate",
    "parse_shape",
    "verify",
    "verify_text",
]

OP_KINDS: tuple[str, ...] = tuple(PROPOSERS)
_NAMES = tuple("abcdefghjkmnpqrstuvwxyz")  # one letter each; no l, o or i
_OP_TRIES, _PROGRAM_TRIES = 30, 8
_MAX_RANK, _MAX_SIZE, _MAX_NUMEL = 5, 64, 4096
_MUST_CHANGE = frozenset({"view", "reshape", "flatten", "expand", "slice"})
_NEEDS_RANK_2 = frozenset({"permute", "transpose", "flatten"})
_INT = re.compile(r"\s*-?\d+\s*")
_BRACKETS = re.compile(
    r"torch\.Size\(\s*\[(?P<size_list>[^\[\]()]*)\]\s*\)"
    r"|torch\.Size\(\s*\((?P<size_tuple>[^\[\]()]*)\)\s*\)"
    r"|\[(?P<list>[^\[\]()]*)\]"
    r"|\((?P<tuple>[^\[\]()]*)\)"
)


@dataclass(frozen=True)
class ShapeExample:
    """One program: its code, the input shapes, the variable asked about and its shape."""

    code: str
    inputs: dict[str, list[int]]
    target: str
    answer: list[int]
    ops: tuple[str, ...]


def _namespace(inputs: dict[str, list[int]], device: str) -> dict[str, Any]:
    bad = sorted(set(inputs) & {"torch", "__builtins__"})
    if bad:
        raise ValueError(f"input names {bad} are reserved; rename them")
    namespace: dict[str, Any] = {"__builtins__": {}, "torch": torch}
    namespace.update({name: torch.empty(shape, device=device) for name, shape in inputs.items()})
    return namespace


def answer_of(code: str, inputs: dict[str, list[int]], target: str) -> list[int]:
    """Run `code` on meta tensors of the input shapes, only torch in scope: the target's shape."""
    namespace = _namespace(inputs, "meta")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        exec(code, namespace)
    value = namespace.get(target)
    if not isinstance(value, torch.Tensor):
        raise ValueError(f"the code leaves no tensor named {target!r}")
    return [int(s) for s in value.shape]


class _Names:
    """Random one-letter names, none used twice in a program; a rejected line gives its back."""

    def __init__(self, rng: random.Random) -> None:
        self.rng, self.used, self.pending = rng, set[str](), list[str]()

    def pick(self) -> str:
        name = self.rng.choice([n for n in _NAMES if n not in self.used and n not in self.pending])
        self.pending.append(name)
        return name

    def commit(self) -> None:
        self.used.update(self.pending)
        self.pending.clear()

    def rollback(self) -> None:
        self.pending.clear()


def _input_shape(rng: random.Random, first_kind: str) -> Shape:
    rank = rng.choice([2, 2, 3, 3, 4] if first_kind in _NEEDS_RANK_2 else [1, 2, 2, 3, 3, 4])
    return [1 if rng.random() < 0.15 else rng.choice(SIZES) for _ in range(rank)]


def _run_line(
    line: str, env: dict[str, Any], new_inputs: dict[str, Shape]
) -> dict[str, Any] | None:
    """Run one line on meta tensors; the namespace after it, or None when torch rejects it."""
    namespace = {**env, **_namespace(new_inputs, "meta")}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # deprecated or odd forms are resampled too
            exec(line, namespace)
    except Exception:  # any rejection by torch means: try another line
        return None
    return namespace


def _acceptable(kind: str, before: torch.Size, after: Any) -> bool:
    if not isinstance(after, torch.Tensor):
        return False
    shape = list(after.shape)
    if len(shape) > _MAX_RANK or any(s < 1 or s > _MAX_SIZE for s in shape):
        return False
    return after.numel() <= _MAX_NUMEL and not (kind in _MUST_CHANGE and shape == list(before))


def realize(rng: random.Random, kinds: Sequence[str]) -> ShapeExample | None:
    """A program applying `kinds` in order to a chain of tensors, or None if none was found."""
    for _ in range(_PROGRAM_TRIES):
        names = _Names(rng)
        current = names.pick()
        names.commit()
        inputs = {current: _input_shape(rng, kinds[0])}
        env = _namespace(inputs, "meta")
        lines: list[str] = []
        for kind in kinds:
            for _ in range(_OP_TRIES):
                before = env[current].shape
                proposal = PROPOSERS[kind](rng, current, list(before), names)
                if proposal is None:
                    names.rollback()
                    continue
                out = names.pick()
                line = f"{out} = {proposal[0]}"
                after = _run_line(line, env, proposal[1])
                if after is None or not _acceptable(kind, before, after.get(out)):
                    names.rollback()
                    continue
                names.commit()
                env, current = after, out
                inputs.update(proposal[1])
                lines.append(line)
                break
            else:
                break
        else:
            code = "\n".join(lines)
            return ShapeExample(
                code, inputs, current, answer_of(code, inputs, current), tuple(kinds)
            )
    return None


def generate(
    n: int,
    seed: int = 0,
    *,
    ops: Sequence[str] | None = None,
    min_ops: int = 1,
    max_ops: int = 4,
) -> list[ShapeExample]:
    """`n` distinct random programs of min_ops..max_ops op kinds (from `ops`, default all)."""
    kinds = list(OP_KINDS if ops is None else ops)
    unknown = sorted(set(kinds) - set(OP_KINDS))
    if unknown or not kinds:
        raise ValueError(f"unknown op kinds {unknown}; choose from {list(OP_KINDS)}")
    if not 1 <= min_ops <= max_ops:
        raise ValueError(f"need 1 <= min_ops <= max_ops, got {min_ops}, {max_ops}")
    rng = random.Random(seed)
    out: list[ShapeExample] = []
    seen: set[str] = set()
    for _ in range(50 * n + 100):
        if len(out) == n:
            break
        example = realize(rng, [rng.choice(kinds) for _ in range(rng.randint(min_ops, max_ops))])
        if example is not None and format_source(example) not in seen:
            seen.add(format_source(example))
            out.append(example)
    if len(out) < n:
        raise RuntimeError(f"found only {len(out)} of {n} programs with ops {kinds}; allow more")
    return out


def _shape_text(shape: Sequence[int]) -> str:
    return f"[{', '.join(str(s) for s in shape)}]"


def format_source(example: ShapeExample) -> str:
    """The text the model sees: input shapes as comments, the code, then the question."""
    head = [f"# {name}.shape == {_shape_text(shape)}" for name, shape in example.inputs.items()]
    return "\n".join([*head, example.code, f"# {example.target}.shape == ?"]) + "\n"


def format_target(example: ShapeExample) -> str:
    """The canonical answer text, e.g. "[4, 16]\\n" ("[]\\n" for a scalar)."""
    return _shape_text(example.answer) + "\n"


def parse_shape(text: str) -> list[int] | None:
    """The last shape written in `text`: [4, 16], (4, 16), (4,), torch.Size([4, 16]); else None."""
    found: list[int] | None = None
    for match in _BRACKETS.finditer(text):
        kind = match.lastgroup or ""
        body = match.group(kind)
        items = body.split(",")
        if items[-1].strip() == "" and len(items) > 1:
            items.pop()  # a trailing comma
        if kind == "tuple" and "," not in body:
            continue  # (4) and () are not tuples
        if body.strip() == "":
            found = []
        elif all(_INT.fullmatch(item) for item in items):
            found = [int(item) for item in items]
    return found


def verify(example: ShapeExample, prediction_text: str) -> bool:
    """True when the last shape written in the prediction is exactly the example's answer."""
    return parse_shape(prediction_text) == example.answer


def verify_text(source_text: str, prediction_text: str, target_text: str) -> bool:
    """Dataset verifier: the prediction's last shape equals the shape in the target file."""
    expected = parse_shape(target_text)
    if expected is None:
        raise ValueError(f"target text {target_text!r} holds no shape")
    return parse_shape(prediction_text) == expected


def check(text: str) -> bool:
    """True when `text` holds a shape (a target file or a prediction that can be scored)."""
    found = parse_shape(text)
    return found is not None and all(s >= 0 for s in found)


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: write the train/val/test split and manifest into --out."""
    from experience.tasks.shapes_split import write_dataset

    parser = argparse.ArgumentParser(
        prog="python -m experience.tasks.shapes", description=main.__doc__
    )
    parser.add_argument("--out", required=True, help="dataset folder, e.g. datasets/shapes")
    parser.add_argument("--seed", type=int, default=0, help="seed of the split (default 0)")
    args = parser.parse_args(argv)
    write_dataset(args.out, seed=args.seed)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
