"""Accepting a staged patch whose entry changed since staging: re-based when anchored, else a conflict."""

from __future__ import annotations

import pytest

from experience.text import unified_diff
from experience_daemon.errors import PatchConflict
from experience_daemon.review import rebase


def test_an_anchored_patch_is_rebased_onto_the_changed_entry() -> None:
    base = "one\ntwo\nthree\nfour\nfive\nsix\n"
    diff = unified_diff(base, "one\nTWO\nthree\nfour\nfive\nsix\n")
    current = base + "seven\neight\n"  # changed since staging, away from the hunk
    assert rebase("1:0:1", 0, base, current, diff).text == "one\nTWO\nthree\nfour\nfive\nsix\nseven\neight\n"


def test_a_cold_start_patch_onto_changed_text_is_a_conflict_not_a_prepend() -> None:
    diff = unified_diff("", "B\n")
    with pytest.raises(PatchConflict, match="row 4") as caught:
        rebase("2:4:1", 4, "", "A\n", diff)
    assert caught.value.data["proposal"] == "B\n" and caught.value.data["current"] == "A\n"


def test_unchanged_entries_and_already_applied_patches_pass() -> None:
    diff = unified_diff("", "B\n")
    assert rebase("3:1:1", 1, "", "", diff).text == "B\n"  # nothing changed since staging
    base = "x\n"
    change = unified_diff(base, "y\n")
    assert rebase("3:1:2", 1, base, "x\n", change).text == "y\n"
