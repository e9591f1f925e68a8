"""Pure text operations: unified diff, fuzzy patch, merge and edit distance."""

from experience.text.diff import split_lines, unified_diff
from experience.text.distance import edit_distance, edit_distances
from experience.text.merge import merge_diffs, merge_diffs_detailed, merge_keywords, merge_texts
from experience.text.patch import (
    Hunk,
    PatchFormatError,
    PatchOutcome,
    PatchResult,
    apply_patch,
    parse_hunks,
)

__all__ = [
    "Hunk",
    "PatchFormatError",
    "PatchOutcome",
    "PatchResult",
    "apply_patch",
    "edit_distance",
    "edit_distances",
    "merge_diffs",
    "merge_diffs_detailed",
    "merge_keywords",
    "merge_texts",
    "parse_hunks",
    "split_lines",
    "unified_diff",
]
