"""unified_diff and apply_patch: round trip, offsets, fuzz, rejects, cold start, malformed diffs."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from experience.text import (
    PatchFormatError,
    PatchOutcome,
    apply_patch,
    parse_hunks,
    split_lines,
    unified_diff,
)

TWELVE = "".join(f"line{i}\n" for i in range(1, 13))

# texts built from a small alphabet of lines so that diffs have real structure (shared lines)
_line = st.sampled_from(["a", "b", "c", "", "  ", "x y", "é", "日本", "\r", "tab\t", "a "])
_text = st.builds(
    lambda lines, end: "\n".join(lines) + end,
    st.lists(_line, max_size=12),
    st.sampled_from(["", "\n"]),
)


@settings(max_examples=400, deadline=None)
@given(_text, _text)
def test_round_trip_structured(a: str, b: str) -> None:
    diff = unified_diff(a, b)
    if a == b:
        assert diff is None
        return
    assert diff is not None
    result = apply_patch(a, diff)
    assert result.text == b
    assert result.outcome is PatchOutcome.APPLIED
    assert result.rejected_hunks == ()
    assert result.offset_hunks == 0


@settings(max_examples=300, deadline=None)
@given(st.text(), st.text())
def test_round_trip_arbitrary_unicode(a: str, b: str) -> None:
    diff = unified_diff(a, b)
    result = apply_patch(a, diff)
    assert result.text == b
    assert result.outcome is PatchOutcome.APPLIED


@given(st.text())
def test_split_lines_joins_back(text: str) -> None:
    lines = split_lines(text)
    assert "".join(lines) == text
    assert all(line.endswith("\n") for line in lines[:-1])


def test_diff_format_is_standard() -> None:
    diff = unified_diff("a\nb\nc\n", "a\nB\nc\n", name="experience/0001/value.viba")
    assert diff == (
        "--- a/experience/0001/value.viba\n"
        "+++ b/experience/0001/value.viba\n"
        "@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n"
    )


def test_diff_marks_missing_final_newline() -> None:
    diff = unified_diff("a\nb", "a\nb\n")
    assert diff is not None
    assert diff.endswith("-b\n\\ No newline at end of file\n+b\n")
    assert apply_patch("a\nb", diff).text == "a\nb\n"
    back = unified_diff("a\nb\n", "a\nb")
    assert back is not None
    assert apply_patch("a\nb\n", back).text == "a\nb"


def test_diff_splits_far_apart_changes_into_hunks_with_three_lines_of_context() -> None:
    better = TWELVE.replace("line2\n", "LINE2\n").replace("line11\n", "LINE11\n")
    diff = unified_diff(TWELVE, better)
    assert diff is not None
    hunks = parse_hunks(diff)
    assert [(h.old_start, h.old_len, h.new_start, h.new_len) for h in hunks] == [
        (1, 5, 1, 5),
        (8, 5, 8, 5),
    ]
    assert hunks[0].prefix_context == 1 and hunks[0].suffix_context == 3
    assert hunks[1].prefix_context == 3 and hunks[1].suffix_context == 1


def test_diff_rejects_a_multiline_name() -> None:
    with pytest.raises(ValueError, match="line break"):
        unified_diff("a", "b", name="x\ny")


def test_offset_hunk_applies_clean_and_is_counted() -> None:
    diff = unified_diff(TWELVE, TWELVE.replace("line6\n", "SIX\n"))
    assert diff is not None
    target = "new0\nnew1\n" + TWELVE
    result = apply_patch(target, diff)
    assert result.outcome is PatchOutcome.APPLIED
    assert result.offset_hunks == 1
    assert result.max_fuzz == 0
    assert result.text == "new0\nnew1\n" + TWELVE.replace("line6\n", "SIX\n")


def test_offset_searches_backwards_too() -> None:
    diff = unified_diff(TWELVE, TWELVE.replace("line9\n", "NINE\n"))
    assert diff is not None
    target = TWELVE.replace("line1\nline2\nline3\n", "")
    result = apply_patch(target, diff)
    assert result.outcome is PatchOutcome.APPLIED
    assert result.offset_hunks == 1
    assert result.text == target.replace("line9\n", "NINE\n")


def test_later_hunk_follows_the_offset_of_an_earlier_one() -> None:
    better = TWELVE.replace("line2\n", "TWO\n").replace("line11\n", "ELEVEN\n")
    diff = unified_diff(TWELVE, better)
    assert diff is not None
    target = TWELVE.replace("line5\n", "line5\nextra\nextra\n")
    result = apply_patch(target, diff)
    assert result.outcome is PatchOutcome.APPLIED
    assert result.offset_hunks == 1  # only the second hunk moved
    assert result.text == better.replace("line5\n", "line5\nextra\nextra\n")


@pytest.mark.parametrize(
    ("edits", "fuzz_needed"),
    [
        ({"line3\n": "changed3\n"}, 1),  # first context line differs
        ({"line9\n": "changed9\n"}, 1),  # last context line differs
        ({"line3\n": "x\n", "line4\n": "y\n"}, 2),  # two leading context lines differ
        ({"line3\n": "x\n", "line4\n": "y\n", "line5\n": "z\n"}, 3),  # all leading context
    ],
)
def test_fuzz_levels(edits: dict[str, str], fuzz_needed: int) -> None:
    diff = unified_diff(TWELVE, TWELVE.replace("line6\n", "SIX\n"))
    assert diff is not None
    target = TWELVE
    for old, new in edits.items():
        target = target.replace(old, new)
    result = apply_patch(target, diff)
    assert result.outcome is PatchOutcome.FUZZED
    assert result.max_fuzz == fuzz_needed
    assert result.text == target.replace("line6\n", "SIX\n")
    # the edited context lines are kept as the target has them
    assert all(new in result.text for new in edits.values())
    below = apply_patch(target, diff, fuzz=fuzz_needed - 1)
    assert below.outcome is PatchOutcome.REJECTED
    assert below.text == target


def test_hand_made_diff_with_fuzz_and_offset() -> None:
    diff = "@@ -2,5 +2,5 @@\n alpha\n beta\n-gamma\n+GAMMA\n delta\n epsilon\n"
    target = "intro\nintro2\nintro3\nALPHA\nbeta\ngamma\ndelta\nEPSILON\n"
    result = apply_patch(target, diff)
    assert result.outcome is PatchOutcome.FUZZED
    assert result.max_fuzz == 1
    assert result.offset_hunks == 1
    assert result.text == "intro\nintro2\nintro3\nALPHA\nbeta\nGAMMA\ndelta\nEPSILON\n"


def test_removed_lines_are_never_fuzzed() -> None:
    diff = unified_diff(TWELVE, TWELVE.replace("line6\n", "SIX\n"))
    assert diff is not None
    result = apply_patch(TWELVE.replace("line6\n", "other\n"), diff)
    assert result.outcome is PatchOutcome.REJECTED
    assert result.rejected_hunks == (diff.split("\n", 2)[2],)


def test_rejected_hunk_is_kept_while_others_apply() -> None:
    better = TWELVE.replace("line2\n", "TWO\n").replace("line11\n", "ELEVEN\n")
    diff = unified_diff(TWELVE, better)
    assert diff is not None
    target = TWELVE.replace("line11\n", "eleven, edited\n")
    result = apply_patch(target, diff)
    assert result.outcome is PatchOutcome.REJECTED
    assert result.hunks == 2
    assert result.text == target.replace("line2\n", "TWO\n")
    assert len(result.rejected_hunks) == 1
    assert result.rejected_hunks[0].startswith("@@ -8,5 +8,5 @@\n")
    assert "-line11\n+ELEVEN\n" in result.rejected_hunks[0]
    assert parse_hunks(result.rejected_hunks[0])[0].old_start == 8


def test_trailing_whitespace_fallback_counts_as_fuzzed() -> None:
    diff = "@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n"
    result = apply_patch("a  \nb\t\nc \n", diff)
    assert result.outcome is PatchOutcome.FUZZED
    assert result.max_fuzz >= 1
    assert result.text == "a  \nB\nc \n"
    assert apply_patch("a  \nb\t\nc \n", diff, fuzz=0).outcome is PatchOutcome.REJECTED


def test_cold_start_from_empty_text() -> None:
    for better in ["x\ny\n", "x\ny", "only"]:
        diff = unified_diff("", better)
        assert diff is not None
        assert "@@ -0,0 +1" in diff
        result = apply_patch("", diff)
        assert result.text == better
        assert result.outcome is PatchOutcome.APPLIED


def test_empty_target_rejects_hunks_that_remove_lines() -> None:
    diff = unified_diff("a\nb\nc\n", "a\nB\nc\n")
    assert diff is not None
    result = apply_patch("", diff)
    assert result.outcome is PatchOutcome.REJECTED
    assert result.text == ""
    assert len(result.rejected_hunks) == 1


def test_empty_target_gets_added_lines_when_fuzz_removes_the_context() -> None:
    diff = unified_diff("a\nc\n", "a\nb\nc\n")
    assert diff is not None
    result = apply_patch("", diff)
    assert result.outcome is PatchOutcome.FUZZED
    assert result.text == "b\n"
    assert apply_patch("", diff, fuzz=0).outcome is PatchOutcome.REJECTED


def test_empty_diff_is_a_no_op() -> None:
    for diff in (None, ""):
        result = apply_patch("keep\n", diff)
        assert result.text == "keep\n"
        assert result.outcome is PatchOutcome.APPLIED
        assert result.hunks == 0


def test_fuzzed_hunk_never_glues_lines_together() -> None:
    diff = unified_diff("a\nb", "a\nb\nc")  # expects 'b' to be the last line, with no newline
    assert diff is not None
    result = apply_patch("a\nb\nz\n", diff)
    assert result.outcome is PatchOutcome.FUZZED
    assert result.text == "a\nb\nc\nz\n"


def test_parse_accepts_short_ranges_and_section_headings() -> None:
    hunks = parse_hunks("--- a/x\n+++ b/x\n@@ -3 +3 @@ def f():\n-old\n+new\n")
    assert len(hunks) == 1
    assert (hunks[0].old_start, hunks[0].old_len, hunks[0].new_len) == (3, 1, 1)
    assert hunks[0].lines == (("-", "old\n"), ("+", "new\n"))


def test_parse_reads_an_empty_line_inside_a_hunk_as_empty_context() -> None:
    hunks = parse_hunks("@@ -1,3 +1,3 @@\n a\n\n-b\n+B\n")
    assert hunks[0].lines == ((" ", "a\n"), (" ", "\n"), ("-", "b\n"), ("+", "B\n"))


@pytest.mark.parametrize(
    ("diff", "message"),
    [
        ("hello world\n", "line 1: not a unified diff"),
        ("--- a/x\n+++ b/x\n@@ -1,2 +1,2 @@\n a\n-b\n", r"line 3: .*promises 2 old and 2 new"),
        ("@@ -1,1 +1,1 @@\n-a\n+b\n+c\n", r"line 4: .*already used up"),
        ("@@ -1,2 +1,2 @@\n a\n?b\n", r"line 3: .*inside the hunk at line 1"),
        ("@@ -1,2 +1,2 @@\n a\n-b\n-c\n+d\n", r"line 4: .*exceeds the counts"),
        ("@@ -x +1 @@\n+a\n", r"line 1: malformed hunk header"),
        ("@@ -0,2 +0,2 @@\n a\n b\n", r"line 1: .*line numbers start at 1"),
        ("+a\n@@ -1 +1 @@\n-b\n+c\n", r"line 1: hunk line .* before any"),
        ("@@ -0,0 +1 @@\n\\ No newline at end of file\n+a\n", r"line 2: .*marker without"),
        ("@@ -1,2 +1,2 @@\n a\n-b\n@@ -3 +3 @@\n-c\n+d\n", r"line 1: .*promises 2 old"),
    ],
)
def test_malformed_diffs_raise_with_the_line(diff: str, message: str) -> None:
    with pytest.raises(PatchFormatError, match=message):
        apply_patch("a\nb\n", diff)
    assert issubclass(PatchFormatError, ValueError)


def test_pure_insertion_hunk_without_context() -> None:
    result = apply_patch("a\nb\nc\n", "@@ -2,0 +3 @@\n+inserted\n")
    assert result.outcome is PatchOutcome.APPLIED
    assert result.text == "a\nb\ninserted\nc\n"
    beyond = apply_patch("a\n", "@@ -7,0 +8 @@\n+tail\n")
    assert beyond.text == "a\ntail\n"
    assert beyond.offset_hunks == 1
