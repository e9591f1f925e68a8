"""Shapes: generated answers agree with torch on real tensors; verify is exact; the split holds."""

from __future__ import annotations

import importlib
import itertools
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch

from experience.tasks.dataset import load_dataset
from experience.tasks.shapes import (
    OP_KINDS,
    ShapeExample,
    answer_of,
    check,
    format_source,
    format_target,
    generate,
    parse_shape,
    verify,
    verify_text,
)
from experience.tasks.shapes_split import write_dataset

ROOT = Path(__file__).resolve().parents[2]
DATASET = ROOT / "datasets" / "shapes"
MANIFEST = json.loads((DATASET / "manifest.json").read_text(encoding="utf-8"))
SPLITS: dict[str, str] = MANIFEST["splits"]
OPS: dict[str, list[str]] = MANIFEST["ops"]
_INPUT = re.compile(r"# (\w+)\.shape == \[([\d, ]*)\]")
_QUESTION = re.compile(r"# (\w+)\.shape == \?")


def run_on_cpu(code: str, inputs: dict[str, list[int]], target: str) -> list[int]:
    """An independent check: run the code on real random CPU tensors with full builtins."""
    namespace: dict[str, Any] = {"torch": torch}
    namespace.update({name: torch.randn(shape) for name, shape in inputs.items()})
    exec(code, namespace)
    return list(namespace[target].shape)


def parse_source(text: str) -> tuple[str, dict[str, list[int]], str]:
    """Code, inputs and target back from a source file."""
    lines = text.splitlines()
    inputs = {}
    for line in lines:
        found = _INPUT.fullmatch(line)
        if found:
            inputs[found[1]] = [int(s) for s in found[2].split(",") if s.strip()]
    question = _QUESTION.fullmatch(lines[-1])
    assert question is not None, lines[-1]
    code = "\n".join(line for line in lines if not line.startswith("#"))
    return code, inputs, question[1]


def shipped(split: str) -> list[tuple[str, str, str]]:
    """(name, source, target) of one shipped split."""
    folder = DATASET / SPLITS[split]
    return [
        (p.stem, p.read_text(encoding="utf-8"), p.with_suffix(".shape").read_text(encoding="utf-8"))
        for p in sorted(folder.glob("*.py"))
    ]


# ---- answers come from torch -------------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_generated_answers_match_torch_on_real_tensors(seed: int) -> None:
    examples = generate(60, seed=seed)
    for example in examples:
        assert example.answer == run_on_cpu(example.code, example.inputs, example.target), example
        assert 1 <= len(example.ops) <= 4
        assert len(example.code.splitlines()) == len(example.ops)
        assert example.target == example.code.splitlines()[-1].split(" = ")[0]


@pytest.mark.parametrize("split", ["train", "val", "test"])
def test_shipped_answers_match_torch_on_real_tensors(split: str) -> None:
    for name, source, target in shipped(split):
        code, inputs, asked = parse_source(source)
        assert target == format_target_of(run_on_cpu(code, inputs, asked)), name


def format_target_of(shape: list[int]) -> str:
    return "[" + ", ".join(str(s) for s in shape) + "]\n"


def test_answer_of_runs_on_meta_with_only_torch_in_scope() -> None:
    assert answer_of("q = s[None, :]\nf = q.expand(4, -1)", {"s": [16]}, "f") == [4, 16]
    big = {"x": [100_000, 100_000]}  # 40 GB if it were real memory
    assert answer_of("y = x.sum(0)", big, "y") == [100_000]
    with pytest.raises(NameError):
        answer_of("y = open('f')", {"x": [2]}, "y")
    with pytest.raises(NameError):
        answer_of("y = __import__('os')", {"x": [2]}, "y")
    with pytest.raises(RuntimeError):
        answer_of("y = x.view(3)", {"x": [2, 2]}, "y")
    with pytest.raises(ValueError, match="no tensor named 'z'"):
        answer_of("y = x + 1", {"x": [2]}, "z")
    with pytest.raises(ValueError, match="reserved"):
        answer_of("y = 1", {"torch": [2]}, "y")


# ---- generation --------------------------------------------------------------------------------


def test_same_seed_same_examples_and_another_seed_differs() -> None:
    first = generate(25, seed=3)
    assert first == generate(25, seed=3)
    assert [e.code for e in first] != [e.code for e in generate(25, seed=4)]
    assert len({format_source(e) for e in first}) == 25


_SIGNATURE = {
    "view": r"\.view\(",
    "reshape": r"reshape\(",
    "permute": r"permute\(",
    "transpose": r"transpose\(|swapaxes\(|\.mT\b|\.t\(\)",
    "unsqueeze": r"unsqueeze\(",
    "index_none": r"\[[^\]]*None",
    "expand": r"\.expand\(",
    "cat": r"torch\.cat\(",
    "stack": r"torch\.stack\(",
    "flatten": r"flatten\(",
    "matmul": r" @ |matmul\(",
    "broadcast": r" [-+*/] |torch\.(add|mul|maximum)\(",
    "sum": r"sum\(",
    "mean": r"mean\(",
    "slice": r"\[[^\]]*[0-9:]",
}


@pytest.mark.parametrize("kind", OP_KINDS)
def test_each_op_kind_generates_its_op(kind: str) -> None:
    assert set(_SIGNATURE) == set(OP_KINDS)
    for example in generate(6, seed=11, ops=[kind], min_ops=2, max_ops=2):
        assert example.ops == (kind, kind)
        for line in example.code.splitlines():
            assert re.search(_SIGNATURE[kind], line.split(" = ", 1)[1]), (kind, line)


def test_programs_have_the_requested_length_and_new_inputs_are_declared() -> None:
    for example in generate(30, seed=5, min_ops=3, max_ops=4):
        assert len(example.ops) in (3, 4)
        assert example.answer == answer_of(example.code, example.inputs, example.target)
        names = set(re.findall(r"(?<![.\w])[a-z](?![\w(])", example.code))  # not x.t()
        defined = {line.split(" = ")[0] for line in example.code.splitlines()}
        assert names == set(example.inputs) | defined, example


def test_generate_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match="unknown op kinds"):
        generate(1, ops=["einsum"])
    with pytest.raises(ValueError, match="min_ops"):
        generate(1, min_ops=3, max_ops=2)


def test_format_source_and_target() -> None:
    example = ShapeExample("q = s[None, :]\nf = q.expand(4, -1)", {"s": [16]}, "f", [4, 16], ())
    assert format_source(example) == (
        "# s.shape == [16]\nq = s[None, :]\nf = q.expand(4, -1)\n# f.shape == ?\n"
    )
    assert format_target(example) == "[4, 16]\n"
    scalar = ShapeExample("y = x.sum(0)", {"x": [3]}, "y", [], ("sum",))
    assert format_target(scalar) == "[]\n"
    assert verify(scalar, format_target(scalar))


# ---- verify ------------------------------------------------------------------------------------

EXAMPLE = ShapeExample("q = s[None, :]\nf = q.expand(4, -1)", {"s": [16]}, "f", [4, 16], ())


@pytest.mark.parametrize(
    "text",
    [
        "[4, 16]",
        "[4,16]\n",
        "(4, 16)",
        "torch.Size([4, 16])",
        "torch.Size((4, 16))",
        "[4, 16,]",
        "The shape is (4, 16).",
        "step 0: add dimension at position 0 | [16] -> [1, 16]\n"
        "step 1: expand(4) | [1, 16] -> [4, 16]\n</think>\nfinal: [4, 16]",
        "**Answer:** `f.shape == torch.Size([4, 16])` (expand keeps dim 1)",
    ],
)
def test_verify_accepts_the_answer_in_several_formats(text: str) -> None:
    assert verify(EXAMPLE, text)


@pytest.mark.parametrize(
    "text",
    [
        "[16, 4]",
        "[4, 16, 1]",
        "[1, 4, 16]",
        "[4]",
        "4, 16",
        "no idea",
        "",
        "[4, 16] at first, but really [1, 16]",
        "[4, -16]",
        "[4, 16.0]",
        "(4 16)",
    ],
)
def test_verify_rejects_wrong_or_missing_answers(text: str) -> None:
    assert not verify(EXAMPLE, text)


def test_parse_shape_edge_cases() -> None:
    assert parse_shape("(8,)") == [8]
    assert parse_shape("(8)") is None  # not a tuple
    assert parse_shape("torch.Size([])") == []
    assert parse_shape("[]") == []
    assert parse_shape("()") is None
    assert parse_shape("x[:, None] gives [3, 1, 4]") == [3, 1, 4]
    assert parse_shape("[2, 3] (the answer)") == [2, 3]
    assert check("[2, 3]\n") and check("[]\n")
    assert not check("[-1, 3]") and not check("two by three")


def test_verify_text_compares_with_the_target_file() -> None:
    assert verify_text("# src", "final: (2, 3)", "[2, 3]\n")
    assert not verify_text("# src", "final: (3, 2)", "[2, 3]\n")
    with pytest.raises(ValueError, match="holds no shape"):
        verify_text("# src", "[2, 3]", "two by three")


# ---- the shipped dataset -----------------------------------------------------------------------


def test_manifest_loads_and_names_the_verifier() -> None:
    dataset = load_dataset(DATASET)
    assert (dataset.source_ext, dataset.target_ext) == ("py", "shape")
    assert {k: len(v) for k, v in dataset.splits.items()} == {"train": 40, "val": 15, "test": 15}
    for key, function in (("verifier", verify_text), ("checker", check)):
        module, _, attr = MANIFEST[key].partition(":")
        assert getattr(importlib.import_module(module), attr) is function
    for pairs in dataset.splits.values():
        for pair in pairs:
            assert check(pair.target) and verify_text(pair.source, pair.target, pair.target)


def test_manifest_ops_describe_exactly_the_shipped_pairs() -> None:
    names = {f"{split}/{name}" for split in SPLITS for name, _, _ in shipped(split)}
    assert set(OPS) == names
    for key, ops in OPS.items():
        assert key.split("/", 1)[1].split("-", 1)[1] == "-".join(ops)
        assert set(ops) <= set(OP_KINDS)
    for folder in SPLITS.values():
        suffixes = sorted({p.suffix for p in (DATASET / folder).iterdir()})
        assert suffixes == [".py", ".shape"]


def test_test_split_uses_op_combinations_unseen_in_train() -> None:
    train = [ops for key, ops in OPS.items() if key.startswith("train/")]
    test = [ops for key, ops in OPS.items() if key.startswith("test/")]
    train_sets = [set(ops) for ops in train]
    train_pairs = {(a, b) for ops in train for a, b in itertools.pairwise(ops)}
    assert {kind for ops in train for kind in ops} == set(OP_KINDS)  # every single kind is taught
    for ops in test:
        assert len(ops) >= 2
        assert not any(set(ops) <= seen for seen in train_sets), ops  # no train program covers it
        assert any(pair not in train_pairs for pair in itertools.pairwise(ops)), ops
    held = [tuple(p) for p in MANIFEST["heldout_pairs"]]
    for key, ops in OPS.items():
        together = any(a in ops and b in ops for a, b in held)
        assert together == key.startswith("test/"), key


def test_no_source_is_repeated_across_splits() -> None:
    sources = [source for split in SPLITS for _, source, _ in shipped(split)]
    assert len(sources) == len(set(sources))


def test_regenerating_gives_byte_identical_files(tmp_path: Path) -> None:
    out = tmp_path / "shapes out"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "core"), str(ROOT / "daemon")])}
    command = [sys.executable, "-m", "experience.tasks.shapes", "--out", str(out), "--seed", "0"]
    subprocess.run(command, check=True, env=env, capture_output=True, timeout=300)
    made = sorted(p.relative_to(out) for p in out.rglob("*") if p.is_file())
    assert made == sorted(
        p.relative_to(DATASET) for p in DATASET.rglob("*") if p.is_file() and p.name != "README.md"
    )
    for relative in made:
        assert (out / relative).read_bytes() == (DATASET / relative).read_bytes(), relative


def test_write_dataset_removes_stale_pairs(tmp_path: Path) -> None:
    (tmp_path / "train").mkdir()
    (tmp_path / "train" / "stale.py").write_text("# old\n", encoding="utf-8")
    (tmp_path / "train" / "notes.txt").write_text("kept\n", encoding="utf-8")
    write_dataset(tmp_path, seed=1)
    assert not (tmp_path / "train" / "stale.py").exists()
    assert (tmp_path / "train" / "notes.txt").exists()
    assert len(list((tmp_path / "test").glob("*.shape"))) == 15
    assert (tmp_path / "manifest.json").read_bytes() != (DATASET / "manifest.json").read_bytes()
