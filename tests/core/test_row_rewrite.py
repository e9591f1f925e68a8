"""rewrite_rows (the LLM learning rule) and transpose_picks, with a scripted kernel and once with the real model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from doubles import ScriptedBackend
from experience.function.row_rewrite import RowRewrite, SampleFeedback, rewrite_rows, transpose_picks
from experience.kernel import Kernel, KernelTask
from learning_fixtures import PAIRS

DATASET = Path(__file__).resolve().parents[2] / "datasets" / "viba"
TRAIN = PAIRS["train"]
TASK = "Translate the Python function into Viba."
WRONG = {name: f"func {name}(a) {{ return a }}\n" for name in TRAIN}


def feedback(name: str) -> SampleFeedback:
    """A sample whose translation came out wrong."""
    source, expected = TRAIN[name]
    return SampleFeedback.of(name, source, WRONG[name], expected)


def prompt(task: KernelTask) -> str:
    """Every message of a task, joined."""
    return "\n".join(m.content for m in task.messages)


def by_tag(backend: ScriptedBackend, tag: str) -> list[KernelTask]:
    """The recorded calls with this tag."""
    return [t for t in backend.calls if t.tag == tag]


def answers(key: str, value: str) -> Any:
    """A script answering key calls with `key` and value calls with `value`."""
    return lambda task: key if task.tag == "rewrite-key" else value


# -- transpose_picks ---------------------------------------------------------------------------


def test_transpose_groups_live_samples_by_row_in_sample_order() -> None:
    picks = [[2, 0], [0], [2], [1, 2], [0, 0]]
    live = [True, True, False, True, True]
    assert transpose_picks(picks, live) == {0: [0, 1, 4], 1: [3], 2: [0, 3]}
    assert transpose_picks(picks, [False] * 5) == {}
    with pytest.raises(ValueError, match="length"):
        transpose_picks(picks, live[:2])


# -- rewrite_rows with a scripted kernel -------------------------------------------------------


def test_two_tagged_calls_per_row_in_one_batch() -> None:
    backend = ScriptedBackend(
        answers("def f(a: int) -> int:\n    return a\n", "f :=\n  <- $a int\n  <- $a\n"), delay=0.05
    )
    kernel = Kernel(backend, concurrency=8)
    rows = {0: (TRAIN["add"][0], TRAIN["add"][1]), 3: (TRAIN["sq"][0], TRAIN["sq"][1])}
    out = rewrite_rows(kernel, TASK, rows, {0: [feedback("neg")], 3: [feedback("dbl")]})
    assert backend.tags == ["rewrite-key", "rewrite-value", "rewrite-key", "rewrite-value"]
    assert backend.max_in_flight == 4  # one kernel.run batch: all four calls were in flight together
    assert set(out) == {0, 3}
    assert out[3] == RowRewrite(
        row=3,
        key="def f(a: int) -> int:\n    return a\n",
        value="f :=\n  <- $a int\n  <- $a\n",
        samples=("dbl",),
        replies=("def f(a: int) -> int:\n    return a\n", "f :=\n  <- $a int\n  <- $a\n"),
    )


def test_rows_without_feedback_cost_no_call() -> None:
    backend = ScriptedBackend("unused")
    assert rewrite_rows(Kernel(backend), TASK, {0: ("k", "v")}, {0: []}) == {}
    assert backend.calls == []


def test_every_routed_sample_shapes_its_rows_prompts_and_provenance() -> None:
    backend = ScriptedBackend(answers("def g(a: int) -> int:\n    return a\n", "g :=\n  <- $a int\n"))
    samples = [feedback("neg"), feedback("dbl"), feedback("sq")]
    rows = {1: (TRAIN["add"][0], TRAIN["add"][1])}
    out = rewrite_rows(Kernel(backend), TASK, rows, {1: samples})
    assert len(backend.calls) == 2
    key_call, value_call = by_tag(backend, "rewrite-key")[0], by_tag(backend, "rewrite-value")[0]
    for sample in samples:
        for text in (sample.source, sample.output, sample.expected, sample.diff):
            assert text.rstrip("\n") in prompt(key_call)
            assert text.rstrip("\n") in prompt(value_call)
    assert TRAIN["add"][0].rstrip("\n") in key_call.messages[-1].content  # current key, to be kept
    assert TRAIN["add"][1].rstrip("\n") in value_call.messages[-1].content  # current value, to be kept
    assert TASK in key_call.messages[0].content and TASK in value_call.messages[0].content
    # the value call shows each sample's expected output as an assistant turn: the thing to produce
    assistant = [m.content for m in value_call.messages if m.role == "assistant"]
    assert assistant == [TRAIN[n][1].rstrip("\n") for n in ("neg", "dbl", "sq")]
    assert value_call.messages[-1].role == "user" and TRAIN["add"][0].rstrip("\n") in value_call.messages[-1].content
    assert out[1].samples == ("neg", "dbl", "sq")
    assert out[1].fallback == ()


def test_prompts_ask_to_keep_what_is_right() -> None:
    backend = ScriptedBackend(answers("def g(a: int) -> int:\n    return a\n", "g :=\n  <- $a int\n"))
    rewrite_rows(Kernel(backend), TASK, {0: (TRAIN["add"][0], TRAIN["add"][1])}, {0: [feedback("neg")]})
    for task in backend.calls:  # ACE's brevity bias / context collapse: the model is told not to drop content
        assert "keep" in prompt(task).lower()


def test_cold_start_row_asks_for_the_first_source_and_its_translation() -> None:
    backend = ScriptedBackend(
        answers("def neg(a: int) -> int:\n    return 0 - a\n", "neg :=\n  <- $a int\n  <- 0 - $a\n")
    )
    out = rewrite_rows(Kernel(backend), TASK, {2: (None, "")}, {2: [feedback("neg"), feedback("dbl")]})
    key_call, value_call = backend.calls
    assert "(empty)" not in key_call.messages[-1].content.split("Input 1:")[0]  # no current key section
    assert "first input" in key_call.messages[-1].content
    assert TRAIN["neg"][0].rstrip("\n") in key_call.messages[-1].content
    last = value_call.messages[-1].content
    assert TRAIN["neg"][0].rstrip("\n") in last and TRAIN["dbl"][0].rstrip("\n") not in last  # the first source
    assert out[2].key == "def neg(a: int) -> int:\n    return 0 - a\n"
    assert out[2].value == "neg :=\n  <- $a int\n  <- 0 - $a\n"
    assert out[2].fallback == ()


def test_row_with_key_but_no_value_translates_its_key() -> None:
    backend = ScriptedBackend(answers("def add(a: int) -> int:\n    return a + 1\n", TRAIN["add"][1]))
    out = rewrite_rows(Kernel(backend), TASK, {0: (TRAIN["add"][0], None)}, {0: [feedback("neg")]})
    last = by_tag(backend, "rewrite-value")[0].messages[-1].content
    assert TRAIN["add"][0].rstrip("\n") in last and TRAIN["neg"][0].rstrip("\n") not in last
    assert "(empty)" in last
    assert out[0].value == TRAIN["add"][1]


def test_cold_start_empty_replies_fall_back_to_the_first_sample() -> None:
    backend = ScriptedBackend(["", "  \n```\n```\n"])
    out = rewrite_rows(Kernel(backend), TASK, {5: (None, None)}, {5: [feedback("sq"), feedback("neg")]})
    assert out[5].key == TRAIN["sq"][0] and out[5].value == TRAIN["sq"][1]
    assert out[5].fallback == ("key", "value")
    assert out[5].samples == ("sq", "neg")


def test_empty_reply_keeps_the_current_text_and_is_marked() -> None:
    backend = ScriptedBackend(answers("", "add :=\n  <- $a int\n  <- 1 + $a\n"))
    out = rewrite_rows(Kernel(backend), TASK, {0: (TRAIN["add"][0], TRAIN["add"][1])}, {0: [feedback("neg")]})
    assert out[0].key == TRAIN["add"][0]
    assert out[0].value == "add :=\n  <- $a int\n  <- 1 + $a\n"
    assert out[0].fallback == ("key",)


def test_fenced_reply_is_cleaned() -> None:
    backend = ScriptedBackend(
        answers("```python\ndef h(a: int) -> int:\n    return a\n```\n", "```\nh :=\n  <- $a\n```")
    )
    out = rewrite_rows(Kernel(backend), TASK, {0: (TRAIN["add"][0], TRAIN["add"][1])}, {0: [feedback("neg")]})
    assert out[0].key == "def h(a: int) -> int:\n    return a\n"
    assert out[0].value == "h :=\n  <- $a\n"
    assert out[0].fallback == ()


def test_lenient_parsing_takes_the_answer_out_of_chatter() -> None:
    key_reply = "Here is the example:\n```python\ndef h(a: int) -> int:\n    return a\n```\nThis function returns a.\n"
    value_reply = TRAIN["add"][1] + "Fix: the same fixes as above, in one translation that keeps everything right.\n"
    backend = ScriptedBackend(answers(key_reply, value_reply))
    out = rewrite_rows(Kernel(backend), TASK, {0: (TRAIN["add"][0], "")}, {0: [feedback("neg")]})
    assert out[0].key == "def h(a: int) -> int:\n    return a\n"  # the fenced block, not the prose around it
    assert out[0].value == TRAIN["add"][1]  # cut where the model started echoing the prompt
    assert out[0].fallback == ()


def test_preamble_and_rambling_are_cut_to_the_shape_of_the_examples() -> None:
    block = "def k{n}(a: int) -> int:\n    return a + {n}\n"
    key_reply = "Here's a rewritten example source:\n\n" + "\n".join(block.format(n=n) for n in range(4))
    value_reply = "neg :=\n  <- $a int\n  <- 0 - $a\n  <- 0 - $a\n  <- 0 - $a\n"
    backend = ScriptedBackend(answers(key_reply, value_reply))
    out = rewrite_rows(Kernel(backend), TASK, {0: (None, None)}, {0: [feedback("neg")]})
    assert out[0].key == block.format(n=0)  # one block, like the routed source
    assert out[0].value == "neg :=\n  <- $a int\n  <- 0 - $a\n"  # a repeated line is a generation loop
    assert out[0].fallback == ()


@pytest.mark.parametrize(
    ("key_reply", "value_reply"),
    [
        ("Example source:\ndef f(): pass\n", "Current translation:\nadd :=\n"),  # echoes the prompt's frame
        ("Input 1:\ndef neg(a): ...\n", "Source:\n" + TRAIN["add"][0]),
        (TRAIN["neg"][1], TRAIN["add"][0]),  # each copies the other domain's text
        (TASK, "(empty)"),
    ],
)
def test_unusable_replies_fall_back(key_reply: str, value_reply: str) -> None:
    backend = ScriptedBackend(answers(key_reply, value_reply))
    out = rewrite_rows(Kernel(backend), TASK, {0: (TRAIN["add"][0], TRAIN["add"][1])}, {0: [feedback("neg")]})
    assert (out[0].key, out[0].value) == TRAIN["add"]
    assert out[0].fallback == ("key", "value")
    assert out[0].replies == (key_reply, value_reply)


def test_chain_translates_the_new_key_in_a_second_batch() -> None:
    new_key = "def neg(a: int) -> int:\n    return 0 - a\n"
    backend = ScriptedBackend(answers(new_key, "neg :=\n  <- $a int\n  <- 0 - $a\n"), delay=0.05)
    kernel = Kernel(backend, concurrency=8)
    rows = {0: (None, None), 1: (TRAIN["add"][0], TRAIN["add"][1])}
    out = rewrite_rows(kernel, TASK, rows, {0: [feedback("neg")], 1: [feedback("dbl")]}, chain=True)
    assert backend.tags == ["rewrite-key", "rewrite-key", "rewrite-value", "rewrite-value"]
    assert backend.max_in_flight == 2  # two batches: keys first, then values
    for call in by_tag(backend, "rewrite-value"):
        assert new_key.rstrip("\n") in call.messages[-1].content  # the value translates the NEW key
    cold, warm = by_tag(backend, "rewrite-value")
    assert "(empty)" in cold.messages[-1].content  # row 0 had no value
    # row 1's key changed: its old value translates the old key, so it is a worked turn, not the text to edit
    assert "(empty)" in warm.messages[-1].content
    assert TRAIN["add"][0].rstrip("\n") in warm.messages[-3].content
    assert warm.messages[-2].content == TRAIN["add"][1].rstrip("\n")
    assert out[0].key == new_key and out[0].fallback == ()


def test_chain_reverts_the_key_when_the_value_falls_back() -> None:
    backend = ScriptedBackend(answers("def neg(a: int) -> int:\n    return 0 - a\n", ""))
    rows = {0: (None, None), 1: (TRAIN["add"][0], TRAIN["add"][1])}
    out = rewrite_rows(Kernel(backend), TASK, rows, {0: [feedback("sq")], 1: [feedback("dbl")]}, chain=True)
    assert (out[0].key, out[0].value) == TRAIN["sq"]  # the first sample's own pair
    assert (out[1].key, out[1].value) == TRAIN["add"]  # the row as it was
    assert out[0].fallback == out[1].fallback == ("key", "value")


def test_missing_row_text_is_an_error_not_a_cold_start() -> None:
    with pytest.raises(ValueError, match=r"rows \[4\]"):
        rewrite_rows(Kernel(ScriptedBackend("x")), TASK, {}, {4: [feedback("neg")]})


def test_feedback_diff_points_from_output_to_expected() -> None:
    sample = feedback("neg")
    assert sample.diff.startswith("--- a/element\n+++ b/element\n")
    assert "+  <- 0 - $a\n" in sample.diff and "-func neg(a) { return a }\n" in sample.diff
    assert SampleFeedback.of("x", "s", "same\n", "same\n").diff == ""


# -- the real local model ----------------------------------------------------------------------


@pytest.mark.llm
def test_real_model_rewrites_one_row_from_two_viba_samples(local_backend: Any) -> None:
    def pair(name: str) -> tuple[str, str]:
        return (DATASET / "train" / f"{name}.py").read_text(), (DATASET / "train" / f"{name}.viba").read_text()

    (sq_src, sq_viba), (sum_src, sum_viba) = pair("squares"), pair("sum_of_squares")
    samples = [
        SampleFeedback.of("squares", sq_src, "squares = [x * x for x in numbers]\n", sq_viba),
        SampleFeedback.of("sum_of_squares", sum_src, "", sum_viba),
    ]
    kernel = Kernel(local_backend)
    out = rewrite_rows(kernel, TASK, {0: pair("positive_doubles")}, {0: samples}, max_tokens=160)
    assert kernel.usage.calls == 2
    assert out[0].key.strip() and out[0].value.strip()
    assert out[0].samples == ("squares", "sum_of_squares")
    assert all(reply for reply in out[0].replies)
