"""Cleaning and trimming model answers."""

from __future__ import annotations

from experience.function.st_moe import answer_shape
from experience.text.answer import blocks, clean_answer, trim_blocks


def test_clean_answer_drops_fences_and_trailing_space() -> None:
    assert clean_answer("```viba\nf :=  \n  <- 1\n```\n\n") == "f :=\n  <- 1\n"
    assert clean_answer("  \n\n") == ""


def test_trim_keeps_the_example_shape() -> None:
    rambling = "f :=\n  <- 1\n\nThis function returns one.\n"
    assert trim_blocks(rambling, 1) == "f :=\n  <- 1\n"
    two = "g :=\n  <- 2\n\nf :=\n  <- g\n\nExplanation.\n"
    assert trim_blocks(two, 2) == "g :=\n  <- 2\n\nf :=\n  <- g\n"
    assert blocks(two) == ["g :=\n  <- 2", "f :=\n  <- g", "Explanation."]


def test_trim_cuts_generation_loops_and_long_answers() -> None:
    looping = "f :=\n  <- $x int\n  <- f[$x]\n  <- f[$x]\n  <- f[$x]\n"
    assert trim_blocks(looping, 1) == "f :=\n  <- $x int\n  <- f[$x]\n"
    long = "\n".join(f"line {i}" for i in range(50))
    assert trim_blocks(long, 1, max_lines=4) == "line 0\nline 1\nline 2\nline 3\n"


def test_answer_shape_follows_the_retrieved_values() -> None:
    rows = [("q", "k", "a :=\n  <- 1\n"), ("q", "k", "h :=\n  <- 1\n\nb :=\n  <- h\n"), (None, None, None)]
    assert answer_shape(rows) == (2, 10)
    assert answer_shape([(None, None, None)]) == (1, None)
