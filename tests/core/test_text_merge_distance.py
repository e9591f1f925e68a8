"""merge_texts, merge_diffs, merge_keywords and the float32-exact edit distance."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from experience.text import (
    PatchOutcome,
    apply_patch,
    edit_distance,
    edit_distances,
    merge_diffs,
    merge_diffs_detailed,
    merge_keywords,
    merge_texts,
    unified_diff,
)

BASE = "".join(f"line{i}\n" for i in range(1, 16))


def _f32(value: float) -> float:
    return float(np.float32(value))


def test_merge_texts_keeps_first_seen_order_and_drops_duplicates() -> None:
    merged = merge_texts(["b rule", None, "a rule\n", "", "b rule  \n\n", "  \n", "c\nd"])
    assert merged == "b rule\n\na rule\n\nc\nd\n"


def test_merge_texts_dedupes_ignoring_trailing_whitespace_per_line() -> None:
    assert merge_texts(["x \ny\n", "x\ny", "x\nY"]) == "x \ny\n\nx\nY\n"


def test_merge_texts_none_when_nothing_to_merge() -> None:
    assert merge_texts([]) is None
    assert merge_texts([None, "", " \n\t"]) is None
    assert merge_texts(["solo"]) == "solo\n"


def test_merge_diffs_sums_two_gradients() -> None:
    first = unified_diff(BASE, BASE.replace("line2\n", "TWO\n"), name="e/value.txt")
    second = unified_diff(BASE, BASE.replace("line13\n", "THIRTEEN\n"))
    merged = merge_diffs(BASE, [first, None, second])
    assert merged is not None
    assert merged.startswith("--- a/e/value.txt\n+++ b/e/value.txt\n")
    expected = BASE.replace("line2\n", "TWO\n").replace("line13\n", "THIRTEEN\n")
    result = apply_patch(BASE, merged)
    assert result.outcome is PatchOutcome.APPLIED
    assert result.text == expected


def test_merge_diffs_applies_later_diffs_with_offset() -> None:
    grow = unified_diff(BASE, "new a\nnew b\n" + BASE)
    edit = unified_diff(BASE, BASE.replace("line8\n", "EIGHT\n"))
    merged = merge_diffs(BASE, [grow, edit])
    assert merged is not None
    assert apply_patch(BASE, merged).text == "new a\nnew b\n" + BASE.replace("line8\n", "EIGHT\n")


def test_merge_diffs_drops_conflicting_hunks_without_crashing() -> None:
    first = unified_diff(BASE, BASE.replace("line5\n", "FIVE\n"))
    clash = unified_diff(BASE, BASE.replace("line5\n", "five?\n"))
    merged, results = merge_diffs_detailed(BASE, [first, clash])
    assert merged == first
    assert [r.outcome for r in results] == [PatchOutcome.APPLIED, PatchOutcome.REJECTED]
    assert "+five?" in results[1].rejected_hunks[0]


def test_merge_diffs_none_when_nothing_changes() -> None:
    assert merge_diffs(BASE, []) is None
    assert merge_diffs(BASE, [None, "", None]) is None
    undo_base = unified_diff(BASE, BASE + "extra\n")
    redo = unified_diff(BASE + "extra\n", BASE)
    assert merge_diffs(BASE, [undo_base, redo]) is None


def test_merge_diffs_from_empty_base() -> None:
    merged = merge_diffs("", [unified_diff("", "first\n"), unified_diff("", "second\n")])
    assert merged is not None
    text = apply_patch("", merged).text
    assert "first\n" in text and "second\n" in text


def test_merge_keywords_union() -> None:
    merged = merge_keywords(["Shape\n circle \n", None, "circle\nAREA\n\n", ""])
    assert merged == "area\ncircle\nshape"
    assert merge_keywords([None, ""]) == ""


def test_edit_distance_known_values() -> None:
    assert edit_distance("kitten", "sitting") == _f32(3 / 7)
    assert edit_distance("kitten", "sitting") != 3 / 7  # float32-rounded, not the float64 value
    assert edit_distance("", "") == 0.0
    assert edit_distance("", "abc") == 1.0
    assert edit_distance("abc", "") == 1.0
    assert edit_distance("abc", "abc") == 0.0
    assert edit_distance("abc", "xyz") == 1.0
    assert edit_distance("flaw", "lawn") == _f32(2 / 4)
    assert edit_distance("日本語", "日本") == _f32(1 / 3)


def test_edit_distances_match_the_scalar_version() -> None:
    pairs = [("kitten", "sitting"), ("", ""), ("", "a"), ("abc", "abd"), ("é", "e")]
    assert edit_distances(pairs) == [edit_distance(a, b) for a, b in pairs]
    assert edit_distances([]) == []


@given(st.text(max_size=30), st.text(max_size=30))
def test_edit_distance_is_float32_exact_and_bounded(a: str, b: str) -> None:
    value = edit_distance(a, b)
    assert isinstance(value, float)
    assert float(np.float32(value)) == value
    assert 0.0 <= value <= 1.0
    assert (value == 0.0) == (a == b)
    assert edit_distances([(a, b)]) == [value]
    assert edit_distance(b, a) == value
