"""Viba: the checker accepts the dialect and rejects the rest by line; the dataset is sound."""

from __future__ import annotations

import ast
import importlib
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from experience.tasks.viba import VibaIssue, check, normalize, parse_errors

DATASET = Path(__file__).resolve().parents[2] / "datasets" / "viba"
MANIFEST = json.loads((DATASET / "manifest.json").read_text(encoding="utf-8"))
SPLITS: dict[str, str] = MANIFEST["splits"]
TARGETS = sorted(DATASET.glob("*/*.viba"))
SOURCES = sorted(DATASET.glob("*/*.py"))
REQUIRED_PATTERNS = [
    "sequential",
    "branching",
    "loop",
    "recursion",
    "higher_order",
    "data_structures",
    "default_args",
    "list_comprehension",
    "string_formatting",
    "guard_clauses",
    "accumulator",
    "closure",
]

WORKED_EXAMPLE = """classify :=
  | 'positive'
  | 'zero'
  | 'negative'
  <- $x int
  <- Match[$x > 0 -> 'positive', $x == 0 -> 'zero', _ -> 'negative']
"""


def pairs(split: str) -> dict[str, tuple[str, str]]:
    """name -> (python source, viba target) for one split."""
    folder = DATASET / SPLITS[split]
    return {
        p.stem: (p.read_text(encoding="utf-8"), p.with_suffix(".viba").read_text(encoding="utf-8"))
        for p in sorted(folder.glob("*.py"))
    }


def lines_of(issues: list[VibaIssue]) -> list[int]:
    """The line numbers the issues name."""
    return [issue.line for issue in issues]


# ---- the checker accepts the dialect ---------------------------------------------------------


@pytest.mark.parametrize("path", TARGETS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_dataset_target_parses(path: Path) -> None:
    assert parse_errors(path.read_text(encoding="utf-8")) == []


def test_worked_example_of_the_spec_parses() -> None:
    assert check(WORKED_EXAMPLE)


@pytest.mark.parametrize(
    "text",
    [
        "Sign := | 'positive' | 'negative'\n",
        "# a file comment\nImport[lib/json.viba]\nparse :=\n  <- $raw str\n  <- `JSON\n",
        "f :=\n  # inline\n  <- $n int = 3  # a trailing comment\n  <- $n\n",
        "f :=\n  $pair str * int\n  $unit void | () | never | ...\n  <- $pair\n",
        "f :=\n  <- $g (str <- int <- float)\n  <- $d dict[str, int]\n  <- $t tuple[int, str]\n",
        "f :=\n  <- $xs list[$elem int]\n  <- list[1, 2.5, true, \"x\", '''a\nb''']\n",
        "f :=\n  <- Match[\n    $x > 0 -> 'a',\n    _ -> 'b'\n  ]\n",
        "f :=\n  <- { free text { nested } \n  more }\n",
        "f :=\n  <- not $a and ($b or $c) >= -1 // 2 % 3\n",
        "f :=\n  <- dict['first' = $a, 'second' = $b]\n  <- ($a, $b)\n\ng :=\n  <- f[$x]\n",
    ],
)
def test_forms_of_the_spec_parse(text: str) -> None:
    assert parse_errors(text) == []


# ---- and rejects everything else, naming the line --------------------------------------------


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_python_source_is_rejected(path: Path) -> None:
    assert not check(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ("classify\n  <- $x int\n  <- $x\n", 1, "':='"),  # missing :=
        ("classify =\n  <- $x int\n", 1, "':='"),
        ("f :=\n  <- $x int\n    <- $x\n", 3, "indented 4"),
        ("f :=\n   <- $x\n", 2, "indented 3"),
        ("f :=\n\t<- $x\n", 2, "tabs"),
        ("f :=\n  <- $x int\n  <- Match[$x > 0 -> 1, _ -> 2\n  <- $x\n", 3, "'Match['"),
        ("f :=\n  <- Match[$x > 0 -> 1]]\n", 2, "nothing is open"),
        ("f :=\n  <- list[1, 2)\n", 2, "does not close 'list['"),
        ("f :=\n  <- Match[$x > 0, _ -> 2]\n", 2, "condition -> value"),
        ("f :=\n  <- Match[]\n", 2, "at least one branch"),
        ("f :=\n  <- list[$x -> 1]\n", 2, "inside Match"),
        ("def f(x: int) -> int:\n    return x\n", 1, "':'"),  # a Python def
        ("f :=\n  <- $x int\n  def g(x):\n", 3, "':'"),
        ("f :=\n  return $x\n", 2, "a binding starts with"),
        ("f :=\n  x = 3\n", 2, "a binding starts with"),
        ("f :=\n  $x\n", 2, "with a type"),
        ("f :=\n  <- g($x)\n", 2, "square brackets"),
        ("f :=\n  <- 'never closed\n", 2, "string"),
        ("f :=\n  <- { never closed\n", 2, "code block"),
        ("f :=\n  <- $ x\n", 2, "followed by a name"),
        ("f :=\n  <- Import[two words]\n", 2, "Import[path"),
        ("f :=\n  <- $x int\n  <- $x +\n", 3, "expected a value"),
        ("f :=\n  <- $s.upper\n", 2, "'.'"),
        ("  <- $x int\nf :=\n  <- $x\n", 1, "outside a definition"),
        ("f :=\n\ng :=\n  <- 1\n", 1, "no bindings"),
        ("hello world\n", 1, "':='"),  # prose
        ("The fox jumps over the lazy dog.\n", 1, "'.'"),
        ("", 1, "no definition"),
        ("# only a comment\n", 1, "no definition"),
    ],
)
def test_rejected_text_names_the_line(text: str, line: int, fragment: str) -> None:
    issues = parse_errors(text)
    assert not check(text)
    assert line in lines_of(issues), issues
    assert any(fragment in issue.message for issue in issues if issue.line == line), issues


def test_issues_come_sorted_by_line_and_print_their_line() -> None:
    issues = parse_errors("f :=\n  return 1\n  <- 'open\ng\n")
    assert lines_of(issues) == sorted(lines_of(issues))
    assert lines_of(issues)[:2] == [2, 3]
    assert str(issues[0]).startswith("line 2: ")


def test_an_error_in_one_binding_does_not_hide_the_next() -> None:
    issues = parse_errors("f :=\n  return 1\n  <- $x\n  yield 2\n")
    assert lines_of(issues) == [2, 4]


VIBA_ALPHABET = st.sampled_from(
    [*"ab $`'\"{}()[]<-=>|#:.,*\t\r\n_0123", ":=", "Match[", "\n  ", "$x", " int", "'''", "->"]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(VIBA_ALPHABET, max_size=60).map("".join))
def test_any_text_gets_an_answer_on_a_real_line(text: str) -> None:
    issues = parse_errors(text)
    last = text.replace("\r\n", "\n").replace("\r", "\n").count("\n") + 1
    assert all(1 <= issue.line <= last for issue in issues)
    assert check(text) == (issues == [])


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(TARGETS), st.integers(min_value=0), st.integers(min_value=0, max_value=2))
def test_damaged_targets_never_crash_the_checker(path: Path, at: int, cut: int) -> None:
    text = path.read_text(encoding="utf-8")
    at %= len(text)
    damaged = text[:at] + text[at + cut :]
    issues = parse_errors(damaged)
    assert all(isinstance(issue, VibaIssue) for issue in issues)


def test_fenced_output_is_rejected_until_normalized() -> None:
    fenced = "```viba\n" + WORKED_EXAMPLE + "```\n"
    assert not check(fenced)
    assert check(normalize(fenced))


# ---- normalize -------------------------------------------------------------------------------


def test_normalize_strips_fences_trailing_space_and_ends_with_one_newline() -> None:
    text = "\n```viba\nf :=  \n  <- $x int\t\n\n  <- $x\n```\n\n\n"
    assert normalize(text) == "f :=\n  <- $x int\n\n  <- $x\n"


def test_normalize_keeps_indentation_and_inner_content() -> None:
    assert normalize("f :=\r\n  <- 'a  b'\r\n") == "f :=\n  <- 'a  b'\n"
    assert normalize("f :=\n  <- $x") == "f :=\n  <- $x\n"


def test_normalize_of_nothing_is_empty() -> None:
    assert normalize("") == ""
    assert normalize("```\n```\n  \n") == ""


@pytest.mark.parametrize("path", TARGETS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_dataset_targets_are_already_normal(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert normalize(text) == text
    assert normalize(normalize(text)) == text


# ---- the dataset -----------------------------------------------------------------------------


def test_manifest_describes_the_dataset() -> None:
    assert MANIFEST["name"] == "viba"
    assert (MANIFEST["source_ext"], MANIFEST["target_ext"]) == ("py", "viba")
    assert MANIFEST["task_prompt"] == "Translate the Python function into Viba."
    assert SPLITS == {"train": "train", "val": "val"}
    module, _, attr = MANIFEST["checker"].partition(":")
    assert getattr(importlib.import_module(module), attr) is check


def test_every_pair_has_both_files_and_nothing_else_is_there() -> None:
    for folder in SPLITS.values():
        files = list((DATASET / folder).iterdir())
        stems = {p.stem for p in files}
        assert {p.name for p in files} == {f"{s}.{e}" for s in stems for e in ("py", "viba")}


def test_splits_are_non_empty_and_disjoint() -> None:
    train, val = pairs("train"), pairs("val")
    assert len(train) >= 14 and len(val) >= 6 and len(train) + len(val) >= 20
    assert not set(train) & set(val)


def test_no_validation_target_appears_verbatim_in_train() -> None:
    train_targets = [target for _, target in pairs("train").values()]
    for name, (source, target) in pairs("val").items():
        body = target.strip()
        assert all(body not in t for t in train_targets), name
        assert all(source != s for s, _ in pairs("train").values()), name


def test_patterns_cover_the_twelve_and_name_real_pairs() -> None:
    patterns: dict[str, list[str]] = MANIFEST["patterns"]
    listed = {ref for refs in patterns.values() for ref in refs}
    everything = {f"{SPLITS[s]}/{name}" for s in SPLITS for name in pairs(s)}
    assert listed == everything  # every pair shows some pattern; every reference exists
    for pattern in REQUIRED_PATTERNS:
        assert any(ref.startswith("train/") for ref in patterns[pattern]), pattern
    for pattern, refs in patterns.items():  # a val pattern is learnable from train
        if any(ref.startswith("val/") for ref in refs):
            assert any(ref.startswith("train/") for ref in refs), pattern


@pytest.mark.parametrize("path", TARGETS + SOURCES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_files_end_with_one_newline_and_use_no_tabs(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.endswith("\n") and not text.endswith("\n\n")
    assert "\t" not in text
    if path.suffix == ".viba":
        indents = {len(line) - len(line.lstrip(" ")) for line in text.splitlines() if line}
        assert indents <= {0, 2}


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_sources_are_small_fully_typed_functions(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    functions = [n for n in ast.walk(ast.parse(text)) if isinstance(n, ast.FunctionDef)]
    assert functions and len(text.splitlines()) <= 10
    for fn in functions:
        assert fn.returns is not None, fn.name
        assert all(a.annotation is not None for a in fn.args.args), fn.name
    assert functions[0].name == path.stem  # the outer function is named like the pair
