"""Experience: the learnable [N, 3] (query, key, value) tensor, laid out as one folder per row."""

from __future__ import annotations

from pathlib import Path

import torch

from experience.storage.serialize import load, write_meta
from experience.tensor import SymbolicTensor, experience_layout, from_texts, new_tensor_dir

QUERY, KEY, VALUE = 0, 1, 2


class Experience:
    """Constructors and accessors for experience tensors (plain SymbolicTensors of shape [N, 3])."""

    @staticmethod
    def empty(
        rows: int,
        root: str | Path,
        *,
        source_ext: str = "txt",
        target_ext: str = "txt",
        name: str = "experience",
        dtype: torch.dtype = torch.float32,
    ) -> SymbolicTensor:
        """An all-empty [rows, 3] experience at `root/name/`; each row a folder a person can edit."""
        if rows < 1:
            raise ValueError(f"an experience needs at least one row, got rows={rows}")
        directory, name = new_tensor_dir(Path(root), name)
        layout = experience_layout(source_ext, target_ext)
        t = from_texts([None] * (rows * 3), (rows, 3), directory=directory, layout=layout, name=name, dtype=dtype)
        write_meta(directory, t)
        return t.requires_grad_(True)

    @staticmethod
    def load(directory: str | Path) -> SymbolicTensor:
        """Load an experience saved in a run directory (gradients enabled)."""
        t = load(directory)
        if t.dim() != 2 or t.shape[1] != 3:
            raise ValueError(f"{directory} holds a tensor of shape {list(t.shape)}, not an [N, 3] experience")
        return t.requires_grad_(True)

    @staticmethod
    def rows(t: SymbolicTensor) -> list[tuple[str | None, str | None, str | None]]:
        """(query, key, value) texts of every row."""
        flat = t.texts()
        return [(flat[i], flat[i + 1], flat[i + 2]) for i in range(0, len(flat), 3)]

    @staticmethod
    def filled_rows(t: SymbolicTensor) -> list[int]:
        """Rows whose key or value holds text."""
        return [i for i, (_, k, v) in enumerate(Experience.rows(t)) if k or v]
