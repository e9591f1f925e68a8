"""Proposers for the shape tasks: each writes one random line of PyTorch for one op kind.

A proposer only guesses arguments that are likely to be valid; whether a line is valid, and
what shape it gives, is decided by running it with torch (see `experience.tasks.shapes`).
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from typing import Protocol

Shape = list[int]
Proposal = tuple[str, dict[str, Shape]]  # the expression, and the new inputs it reads
SIZES = (2, 3, 4, 5, 6, 8)  # sizes of new dimensions


class Names(Protocol):
    """Hands out fresh variable names for the program being written."""

    def pick(self) -> str:
        """A name not yet used in the program."""
        ...


Proposer = Callable[[random.Random, str, Shape, Names], Proposal | None]


def _size(rng: random.Random) -> int:
    return rng.choice(SIZES)


def _args(values: Sequence[object]) -> str:
    return ", ".join(str(v) for v in values)


def _tuple(values: Sequence[object]) -> str:
    return f"({values[0]},)" if len(values) == 1 else f"({_args(values)})"


def _signed(rng: random.Random, dim: int, rank: int) -> int:
    """`dim`, written negative (counted from the end) a third of the time."""
    return dim - rank if rng.random() < 1 / 3 else dim


def _factor(rng: random.Random, n: int, rank: int) -> Shape:
    """A random shape of `rank` dimensions whose sizes multiply to `n`."""
    out: Shape = []
    for _ in range(rank - 1):
        divisors = [d for d in range(2, n) if n % d == 0] or [1]
        out.append(rng.choice(divisors))
        n //= out[-1]
    return [*out, n]


def _new_sizes(rng: random.Random, shape: Shape) -> list[int]:
    """Sizes for view/reshape with the same number of elements, perhaps with one -1."""
    splittable = [d for d, s in enumerate(shape) if any(s % p == 0 for p in range(2, s))]
    if splittable and rng.random() < 0.4:  # split one dimension: valid even when not contiguous
        d = rng.choice(splittable)
        p = rng.choice([p for p in range(2, shape[d]) if shape[d] % p == 0])
        sizes = [*shape[:d], p, shape[d] // p, *shape[d + 1 :]]
    else:
        sizes = _factor(rng, math.prod(shape), rng.randint(1, 4))
    if rng.random() < 0.4:
        sizes[rng.randrange(len(sizes))] = -1
    return sizes


def view(rng: random.Random, x: str, shape: Shape, names: Names) -> Proposal | None:
    """`x.view(...)` to a shape with the same number of elements."""
    return f"{x}.view({_args(_new_sizes(rng, shape))})", {}


def reshape(rng: random.Random, x: str, shape: Shape, names: Names) -> Proposal | None:
    """`x.reshape(...)` or `torch.reshape(x, (...))`."""
    sizes = _new_sizes(rng, shape)
    if rng.random() < 0.5:
        return f"torch.reshape({x}, {_tuple(sizes)})", {}
    return f"{x}.reshape({_args(sizes)})", {}


def permute(rng: random.Random, x: str, shape: Shape, names: Names) -> Proposal | None:
    """`x.permute(...)` or `torch.permute(x, (...))` with a non-identity order."""
    order = list(range(len(shape)))
    if len(order) < 2:
        return None
    while order == sorted(order):
        rng.shuffle(order)
    if rng.random() < 0.3:
        return f"torch.permute({x}, {_tuple(order)})", {}
    return f"{x}.permute({_args(order)})", {}


def transpose(rng: random.Random, x: str, shape: Shape, names: Names) -> Proposal | None:
    """`x.transpose(i, j)`, `torch.transpose`, `x.swapaxes`, `x.mT` or (2-D) `x.t()`."""
    rank = len(shape)
    if rank < 2:
        return None
    i, j = (_signed(rng, d, rank) for d in rng.sample(range(rank), 2))
    forms = [f"{x}.transpose({i}, {j})", f"torch.transpose({x}, {i}, {j})"]
    forms += [f"{x}.swapaxes({i}, {j})", f"{x}.mT", *([f"{x}.t()"] if rank == 2 else [])]
    return rng.choice(forms), {}


def unsqueeze(rng: random.Random, x: str, shape: Shape, names: Names) -> Proposal | None:
    """`x.unsqueeze(d)` or `torch.unsqueeze(x, d)`."""
    d = _signed(rng, rng.randrange(len(shape) + 1), len(shape) + 1)
    if rng.random() < 0.3:
        return f"torch.unsqueeze({x}, {d})", {}
    return f"{x}.unsqueeze({d})", {}


def index_none(rng: random.Random, x: str, shape: Shape, names: Names) -> Proposal | None:
    """Indexing with `None` (and `:`/`...`), e.g. `x[None, :]` or `x[..., None]`."""
    tokens = [":"] * len(shape)
    for _ in range(rng.choice([1, 1, 1, 2])):
        tokens.insert(rng.randrange(len(tokens) + 1), "None")
    style = rng.randrange(3)
    if style == 1:
        while tokens[-1] == ":":
            tokens.pop()
    elif style == 2 and ":" in tokens:
        if tokens[-1] == ":":
            while tokens[-1] == ":":
                tokens.pop()
            tokens.append("...")
        elif tokens[0] == ":":
            while tokens[0] == ":":
                tokens.pop(0)
            tokens.insert(0, "...")
    return f"{x}[{_args(tokens)}]", {}


def expand(rng: random.Random, x: str, shape: Shape, names: Names) -> Proposal | None:
    """`x.expand(...)`: size-1 dimensions grow, new leading dimensions may appear."""
    sizes: list[object] = [_size(rng) for _ in range(rng.choice([0, 0, 1, 2]))]
    grows = bool(sizes)
    for s in shape:
        if s == 1 and rng.random() < 0.7:
            sizes.append(_size(rng))
            grows = True
        else:
            sizes.append(rng.choice([-1, s]))
    if not grows:
        return None
    return f"{x}.expand({_args(sizes)})", {}


def cat(rng: random.Random, x: str, shape: Shape, names: Names) -> Proposal | None:
    """`torch.cat([...], dim=d)` of `x` with itself or with a new input."""
    if not shape:
        return None
    d = rng.randrange(len(shape))
    other = [*shape[:d], _size(rng), *shape[d + 1 :]]
    items, inputs = [x, x], {}
    if rng.random() < 0.7:
        y = names.pick()
        items, inputs = ([x, y] if rng.random() < 0.6 else [y, x]), {y: other}
    dim = _signed(rng, d, len(shape))
    if rng.random() < 0.5:
        return f"torch.cat(({_args(items)}), {dim})", inputs
    return f"torch.cat([{_args(items)}], dim={dim})", inputs


def stack(rng: random.Random, x: str, shape: Shape, names: Names) -> Proposal | None:
    """`torch.stack([...], dim=d)` of `x` with copies of itself or same-shaped new inputs."""
    count = rng.choice([2, 2, 3])
    items, inputs = [x] * count, {}
    if rng.random() < 0.7:
        for i in range(1, count):
            items[i] = names.pick()
            inputs[items[i]] = list(shape)
    d = _signed(rng, rng.randrange(len(shape) + 1), len(shape) + 1)
    if d == 0 and rng.random() < 0.5:
        return f"torch.stack([{_args(items)}])", inputs
    return f"torch.stack([{_args(items)}], dim={d})", inputs


def flatten(rng: random.Random, x: str, shape: Shape, names: Names) -> Proposal | None:
    """`x.flatten()`, `x.flatten(start, end)` or `torch.flatten(x, start_dim=...)`."""
    rank = len(shape)
    if rank < 2:
        return None
    start, end = sorted(rng.sample(range(rank), 2))
    forms = [f"{x}.flatten()", f"torch.flatten({x}, start_dim={start})", f"{x}.flatten({start})"]
    forms.append(f"{x}.flatten({start}, {_signed(rng, end, rank)})")
    return rng.choice(forms), {}


def matmul(rng: random.Random, x: str, shape: Shape, names: Names) -> Proposal | None:
    """`x @ y`, `y @ x`, `torch.matmul` or `.matmul` with a new input of a fitting shape."""
    if not shape:
        return None
    y, k, last = names.pick(), _size(rng), shape[-1]
    cases: list[tuple[Shape, bool]] = [([last, k], False), ([last], False)]  # (y, y on the left)
    if len(shape) >= 2:
        cases += [([k, shape[-2]], True), ([_size(rng), last, k], False)]
        cases.append(([*shape[:-2], last, k], False))
    else:
        cases += [([k, last], True), ([_size(rng), last, k], False)]
    other, left = rng.choice(cases)
    a, b = (y, x) if left else (x, y)
    form = rng.randrange(3)
    expr = (
        f"{a} @ {b}"
        if form == 0
        else f"torch.matmul({a}, {b})"
        if form == 1
        else f"{a}.matmul({b})"
    )
    return expr, {y: other}


def broadcast(rng: random.Random, x: str, shape: Shape, names: Names) -> Proposal | None:
    """Arithmetic with a new input of a broadcastable shape, e.g. `x + y` or `torch.mul(y, x)`."""
    y, rank = names.pick(), len(shape)
    other = list(shape[rank - rng.randint(1, rank) :]) if rank else []
    for i, s in enumerate(other):
        if s == 1 and rng.random() < 0.5:
            other[i] = _size(rng)
        elif rng.random() < 0.4:
            other[i] = 1
    other = [_size(rng) for _ in range(rng.choice([0, 0, 0, 1]))] + other
    a, b = (x, y) if rng.random() < 0.7 else (y, x)
    if rng.random() < 0.25:
        return f"torch.{rng.choice(['add', 'mul', 'maximum'])}({a}, {b})", {y: other}
    return f"{a} {rng.choice('+-*/')} {b}", {y: other}


def _reduce(fn: str, rng: random.Random, x: str, shape: Shape) -> Proposal | None:
    rank = len(shape)
    if not rank:
        return None
    dims = sorted(rng.sample(range(rank), 2 if rank >= 3 and rng.random() < 0.3 else 1))
    signed = [_signed(rng, d, rank) for d in dims]
    dim = str(signed[0]) if len(signed) == 1 else _tuple(signed)
    keep = ", keepdim=True" if rng.random() < 0.35 else ""
    form = rng.randrange(3)
    if form == 0:
        return f"torch.{fn}({x}, dim={dim}{keep})", {}
    if form == 1 and len(signed) == 1:
        return f"{x}.{fn}({dim}{keep})", {}
    return f"{x}.{fn}(dim={dim}{keep})", {}


def sum_(rng: random.Random, x: str, shape: Shape, names: Names) -> Proposal | None:
    """`x.sum(dim=...)` over one or two dimensions, with or without keepdim."""
    return _reduce("sum", rng, x, shape)


def mean(rng: random.Random, x: str, shape: Shape, names: Names) -> Proposal | None:
    """`x.mean(dim=...)` over one or two dimensions, with or without keepdim."""
    return _reduce("mean", rng, x, shape)


def _part(rng: random.Random, n: int) -> str:
    """One index part for a dimension of size n: a slice or an integer."""
    start, stop, step = rng.randrange(-n, n), rng.randrange(-n, n + 3), rng.choice([2, 3])
    forms = [str(rng.randrange(-n, n)), f"{start}:", f":{stop}", f"::{step}", f"{start}:{stop}"]
    return rng.choice([*forms, f"{start}:{stop}:{step}"])


def slice_(rng: random.Random, x: str, shape: Shape, names: Names) -> Proposal | None:
    """Basic indexing with slices and integers, e.g. `x[1:]`, `x[:, ::2]`, `x[..., 0]`."""
    if not shape:
        return None
    if rng.random() < 0.25:
        return f"{x}[..., {_part(rng, shape[-1])}]", {}
    count = rng.randint(1, min(len(shape), 3))
    parts = [":"] * count
    for d in rng.sample(range(count), rng.randint(1, count)):
        parts[d] = _part(rng, shape[d])
    while parts[-1] == ":":
        parts.pop()
    return f"{x}[{_args(parts)}]", {}


PROPOSERS: dict[str, Proposer] = {
    "view": view,
    "reshape": reshape,
    "permute": permute,
    "transpose": transpose,
    "unsqueeze": unsqueeze,
    "index_none": index_none,
    "expand": expand,
    "cat": cat,
    "stack": stack,
    "flatten": flatten,
    "matmul": matmul,
    "broadcast": broadcast,
    "sum": sum_,
    "mean": mean,
    "slice": slice_,
}
