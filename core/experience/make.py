"""Making symbolic tensors from nested Python data."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from experience.storage.atomic import read_text
from experience.storage.serialize import write_meta
from experience.tensor import SymbolicTensor, from_texts, new_tensor_dir


def _flatten(data: Any, where: tuple[int, ...], out: list[str | None]) -> tuple[int, ...]:
    if isinstance(data, (list, tuple)):
        shapes = [_flatten(item, (*where, i), out) for i, item in enumerate(data)]
        if any(s != shapes[0] for s in shapes[1:]):
            bad = next(i for i, s in enumerate(shapes) if s != shapes[0])
            raise ValueError(
                f"shape mismatch at {list((*where, bad))}: sub-lists have shapes "
                f"{list(shapes[0])} and {list(shapes[bad])}; make every row the same length"
            )
        return (len(data), *(shapes[0] if shapes else ()))
    if data is None or isinstance(data, str):
        out.append(data)
    elif isinstance(data, Path):
        out.append(read_text(data))
    else:
        raise TypeError(
            f"element {list(where)} is {type(data).__name__}, not text; give str, None or a Path "
            "(convert numbers with str())"
        )
    return ()


def tensor(
    data: Any,
    root: str | Path | None = None,
    *,
    name: str | None = None,
    dtype: torch.dtype = torch.float32,
    requires_grad: bool = False,
) -> SymbolicTensor:
    """Make a SymbolicTensor from nested lists of str / None / Path; with `root`, texts live in files."""
    texts: list[str | None] = []
    shape = _flatten(data, (), texts)
    directory = None
    if root is not None:
        directory, name = new_tensor_dir(Path(root), name)
    result = from_texts(texts, shape, directory=directory, name=name, dtype=dtype)
    if directory is not None:
        write_meta(directory, result)
    return result.requires_grad_(requires_grad) if requires_grad else result


def empty_like(t: SymbolicTensor) -> SymbolicTensor:
    """An in-memory tensor of the same shape with every element empty."""
    return from_texts([None] * t.numel(), tuple(t.shape), dtype=t.coeff.dtype)
