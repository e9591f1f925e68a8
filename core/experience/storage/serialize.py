"""Saving and loading tensors: tensor.json (shape, layout, coefficients) beside the element files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from experience.storage.atomic import atomic_write_text
from experience.storage.layout import GridLayout, Layout, layout_from_json
from experience.storage.paths import UnsafePathError, read_regular_bytes
from experience.storage.store import Storage

if TYPE_CHECKING:
    from experience.tensor import SymbolicTensor

FORMAT = 1
_DTYPES = {"float32": torch.float32, "float64": torch.float64, "bfloat16": torch.bfloat16, "float16": torch.float16}


class TensorDirectoryError(RuntimeError):
    """A tensor folder is missing, incomplete or corrupt."""


def write_meta(directory: Path, t: SymbolicTensor, layout: Layout | None = None) -> None:
    """Write tensor.json (shape, layout, dtype, coefficients) atomically."""
    dtype = str(t.coeff.dtype).removeprefix("torch.")
    meta: dict[str, Any] = {
        "format": FORMAT,
        "shape": list(t.shape),
        "layout": (layout or t.storage.layout).to_json(),
        "dtype": dtype,
        "coeff": [float(x) for x in t.coeff.detach().reshape(-1).tolist()],
    }
    atomic_write_text(directory / "tensor.json", json.dumps(meta) + "\n")


def save(t: SymbolicTensor, path: str | Path) -> Path:
    """Save a tensor to a folder: one file per element plus tensor.json; returns the folder."""
    directory = Path(path)
    layout: Layout = t.storage.layout if tuple(t.shape) == t.storage.shape else GridLayout()
    in_place = t.storage.directory is not None and t.storage.directory.resolve() == directory.resolve()
    if in_place and not t.is_contiguous_base:
        raise ValueError(f"{directory} holds this view's base tensor; save the view elsewhere")
    if not in_place:
        Storage(t.texts(), tuple(t.shape), directory, layout).flush_all()
    write_meta(directory, t, layout)
    return directory


def load(path: str | Path, *, name: str | None = None) -> SymbolicTensor:
    """Load a tensor saved with `save` (or created with a root); its texts stay bound to the folder."""
    from experience.tensor import SymbolicTensor

    directory = Path(path)
    meta_path = directory / "tensor.json"
    if not directory.is_dir():
        raise TensorDirectoryError(f"no tensor folder at {directory}: check the path (it must hold tensor.json)")
    if not meta_path.exists():
        raise TensorDirectoryError(
            f"{directory} has no tensor.json: it is not a saved tensor (save one with ex.save(t, path))"
        )
    try:
        meta = json.loads(read_regular_bytes(meta_path, follow=False).decode("utf-8"))
        shape = tuple(int(n) for n in meta["shape"])
        try:
            layout = layout_from_json(meta["layout"])
        except ValueError as error:
            raise TensorDirectoryError(
                f"{meta_path} has an unsafe or unknown \"layout\" ({error}); fix \"layout\" in that file, "
                'e.g. {"kind": "experience", "source_ext": "py", "target_ext": "viba"}, or re-create the tensor'
            ) from error
        dtype = _DTYPES[meta.get("dtype", "float32")]
        coeff = torch.tensor(meta["coeff"], dtype=dtype).reshape(shape)
    except TensorDirectoryError:
        raise
    except UnsafePathError as error:
        raise TensorDirectoryError(f"{directory} cannot be loaded: {error}") from error
    except (ValueError, KeyError, TypeError, RuntimeError) as error:
        raise TensorDirectoryError(
            f"{meta_path} is corrupt ({error}); restore it from a copy or re-create the tensor"
        ) from error
    storage = Storage([None] * int(coeff.numel()), shape, directory, layout)
    for slot in range(len(storage)):
        try:
            storage.reload(slot)
        except UnicodeDecodeError as error:
            file = storage.path(slot)
            raise TensorDirectoryError(f"{file} is not UTF-8 text ({error}); fix or delete that file") from error
        except UnsafePathError as error:  # a link or a special file inside a tensor folder: never followed
            raise TensorDirectoryError(f"{directory} cannot be loaded: {error}") from error
    return SymbolicTensor(coeff, storage, name=name or directory.name)
