"""Layouts: where the text of each element of a tensor lives inside its folder."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from experience.storage.paths import check_ext

EXPERIENCE_COLUMNS = ("query", "key", "value")


@dataclass(frozen=True)
class GridLayout:
    """Element (i, j, k) lives at `i/j/k.txt`; a scalar at `value.txt`."""

    kind: str = "grid"

    def relpath(self, index: tuple[int, ...]) -> str:
        """Path of one element relative to the tensor folder."""
        if not index:
            return "value.txt"
        return "/".join(str(i) for i in index) + ".txt"

    def to_json(self) -> dict[str, Any]:
        """JSON form stored in tensor.json."""
        return {"kind": self.kind}


@dataclass(frozen=True)
class ExperienceLayout:
    """Row r of an [N, 3] experience lives at `rrrr/query.txt`, `key.<src>`, `value.<tgt>`."""

    source_ext: str = "txt"
    target_ext: str = "txt"
    kind: str = "experience"

    def __post_init__(self) -> None:
        check_ext(self.source_ext)  # a name from tensor.json must not lead a file path out of the folder
        check_ext(self.target_ext)

    def column_file(self, column: int) -> str:
        """File name of one column of a row."""
        return ("query.txt", f"key.{self.source_ext}", f"value.{self.target_ext}")[column]

    def relpath(self, index: tuple[int, ...]) -> str:
        """Path of one element relative to the tensor folder."""
        if len(index) != 2 or not 0 <= index[1] < 3:
            raise ValueError(f"an experience element is addressed by (row, column<3), got {index}")
        return f"{index[0]:04d}/{self.column_file(index[1])}"

    def to_json(self) -> dict[str, Any]:
        """JSON form stored in tensor.json."""
        return {"kind": self.kind, "source_ext": self.source_ext, "target_ext": self.target_ext}


Layout = GridLayout | ExperienceLayout


def layout_from_json(data: Any) -> Layout:
    """Rebuild a layout from its tensor.json form; ValueError names a bad kind or extension."""
    if not isinstance(data, dict):
        raise ValueError(f"'layout' must be an object like {{\"kind\": \"grid\"}}, got {data!r}")
    kind = data.get("kind")
    if kind == "grid":
        return GridLayout()
    if kind == "experience":
        return ExperienceLayout(check_ext(data.get("source_ext")), check_ext(data.get("target_ext")))
    raise ValueError(f"unknown layout kind {kind!r} in tensor.json (expected 'grid' or 'experience')")
