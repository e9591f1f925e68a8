"""SymbolicTensor: torch coefficients (autograd) plus one text per element, held by a Storage."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from experience.storage.layout import ExperienceLayout, Layout
from experience.storage.store import Storage

if TYPE_CHECKING:
    from experience.function.slice_view import Slicer

Index = Any  # NumPy-style index: int, slice, None, Ellipsis, list, ndarray, or a tuple of those


class SymbolicTensor:
    """A tensor whose elements are texts; `coeff` carries the numbers (non-zero = element present)."""

    def __init__(
        self,
        coeff: torch.Tensor,
        storage: Storage,
        index: np.ndarray | None = None,
        name: str | None = None,
    ) -> None:
        if index is None:
            index = np.arange(len(storage), dtype=np.int64).reshape(storage.shape)
        if tuple(coeff.shape) != tuple(index.shape):
            raise ValueError(f"coefficients have shape {list(coeff.shape)} but the text index has {list(index.shape)}")
        self.coeff = coeff
        self.storage = storage
        self.index = index
        self.name = name
        self.sgrad: SymbolicTensor | None = None
        self._grad_lock = threading.Lock()

    # -- shape and text ---------------------------------------------------------------
    @property
    def shape(self) -> torch.Size:
        """Shape of the tensor (as torch.Size)."""
        return self.coeff.shape

    def dim(self) -> int:
        """Number of dimensions."""
        return self.coeff.dim()

    def numel(self) -> int:
        """Number of elements."""
        return int(self.coeff.numel())

    @property
    def requires_grad(self) -> bool:
        """Whether gradients flow to this tensor's coefficients."""
        return bool(self.coeff.requires_grad)

    def requires_grad_(self, flag: bool = True) -> SymbolicTensor:
        """Turn gradient tracking on (leaf tensors only), like torch."""
        self.coeff.requires_grad_(flag)
        return self

    def slots(self) -> np.ndarray:
        """Flat storage slots of the elements, in row-major order."""
        return self.index.reshape(-1)

    def texts(self) -> list[str | None]:
        """Texts of all elements, flat, row-major; None where empty."""
        return self.storage.read_many(self.slots())

    def text(self, *position: int) -> str | None:
        """Text of one element."""
        return self.storage.read(int(self.index[position]))

    def set_text(self, position: tuple[int, ...], text: str | None) -> None:
        """Replace the text of one element (in place; visible through every view)."""
        self.storage.write(int(self.index[position]), text)

    def set_texts(self, texts: Sequence[str | None]) -> None:
        """Replace all texts (flat, row-major)."""
        self.storage.write_many(self.slots(), texts)

    def path(self, *position: int) -> Path | None:
        """File holding one element's text (None when the tensor lives in memory)."""
        return self.storage.path(int(self.index[position]))

    def tolist(self) -> Any:
        """Nested lists of str, None where an element is empty."""
        array = np.empty(self.numel(), dtype=object)
        array[:] = self.texts()
        return array.reshape(tuple(self.shape)).tolist()

    @property
    def is_contiguous_base(self) -> bool:
        """True when this tensor is its storage's whole base (no view, no reordering)."""
        return tuple(self.index.shape) == self.storage.shape and bool(
            np.array_equal(self.slots(), np.arange(len(self.storage)))
        )

    # -- ops -------------------------------------------------------------------------
    @property
    def view(self) -> Slicer:
        """NumPy-style slicing that shares storage: `t.view[0, :]`."""
        from experience.function.slice_view import Slicer

        return Slicer(self)

    def __getitem__(self, key: Index) -> SymbolicTensor:
        """NumPy-style slicing that copies the texts (value semantics)."""
        from experience.function.slice_copy import slice_copy

        result: SymbolicTensor = slice_copy(self, key)
        return result

    def copy(self) -> SymbolicTensor:
        """An independent copy (new storage) that stays in the autograd graph."""
        from experience.function.copy import copy

        result: SymbolicTensor = copy(self)
        return result

    def detach(self) -> SymbolicTensor:
        """Same texts and storage, coefficients cut from the graph."""
        return SymbolicTensor(self.coeff.detach(), self.storage, self.index, self.name)

    # -- symbolic gradient -----------------------------------------------------------
    def accumulate_sgrad(self, diffs: np.ndarray) -> None:
        """Add per-element diffs (object array, this tensor's shape) into `sgrad`, merging clashes."""
        from experience.text import merge_diffs

        flat = diffs.reshape(-1)
        with self._grad_lock:
            if self.sgrad is None:
                self.sgrad = from_texts(list(flat), tuple(self.shape))
                return
            current = self.texts()
            old = self.sgrad.texts()
            merged = [
                new if prev is None else prev if new is None else merge_diffs(base or "", [prev, new])
                for base, prev, new in zip(current, old, flat, strict=True)
            ]
            self.sgrad = from_texts(merged, tuple(self.shape))

    def zero_grad(self) -> None:
        """Clear both gradient channels."""
        self.sgrad = None
        self.coeff.grad = None

    def __repr__(self) -> str:
        where = self.storage.directory or "memory"
        return f"SymbolicTensor(shape={list(self.shape)}, name={self.name!r}, at={where})"


def from_texts(
    texts: Sequence[str | None],
    shape: tuple[int, ...],
    *,
    directory: Path | None = None,
    layout: Layout | None = None,
    name: str | None = None,
    dtype: torch.dtype = torch.float32,
) -> SymbolicTensor:
    """Build a tensor from flat texts; coefficients are 1 where a text is non-empty, else 0."""
    storage = Storage(list(texts), shape, directory, layout)
    present = [1.0 if t else 0.0 for t in texts]
    coeff = torch.tensor(present, dtype=dtype).reshape(shape)
    if directory is not None:
        storage.flush_all()
    return SymbolicTensor(coeff, storage, name=name)


def new_tensor_dir(root: Path, name: str | None) -> tuple[Path, str]:
    """Folder for a new named tensor under `root`; refuses to overwrite an existing tensor."""
    name = name or f"tensor-{uuid.uuid4().hex[:8]}"
    directory = Path(root) / name
    if (directory / "tensor.json").exists():
        raise FileExistsError(
            f"a tensor already lives at {directory}; load it with ex.load({str(directory)!r}) or choose another name"
        )
    return directory, name


def experience_layout(source_ext: str, target_ext: str) -> ExperienceLayout:
    """Layout for an [N, 3] experience with the given file extensions."""
    for ext in (source_ext, target_ext):
        if not ext or "/" in ext or ext.startswith("."):
            raise ValueError(f"file extension {ext!r} must be bare, like 'py' or 'viba'")
    return ExperienceLayout(source_ext, target_ext)
