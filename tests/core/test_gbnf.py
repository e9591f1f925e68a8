"""GBNF reader and matcher; the datasets' grammars: targets match, Python does not, llama.cpp reads them."""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

import pytest

from experience.tasks.dataset import DatasetError, load_dataset
from experience.tasks.viba import check as viba_check
from experience.tasks.viba import parse_errors
from experience.text.gbnf import CharSet, GbnfError, Grammar, parse_gbnf

ROOT = Path(__file__).resolve().parents[2]
DATASETS = {"viba": ROOT / "datasets" / "viba", "shapes": ROOT / "datasets" / "shapes"}


def test_literals_classes_groups_and_repeats() -> None:
    grammar = parse_gbnf('root ::= "ab" [0-9]+ ("x" | "y")? tail*\ntail ::= [^a-z\\n]\n')
    assert grammar.matches("ab7")
    assert grammar.matches("ab12yQ!")
    assert grammar.matches("ab0x")
    assert not grammar.matches("ab")  # + needs one digit
    assert not grammar.matches("ab1xy")  # ? allows one of x|y
    assert not grammar.matches("ab1q")  # q is in a-z, which tail refuses
    assert not grammar.matches("ab1\n")


def test_escapes_any_char_and_nullable_recursion() -> None:
    grammar = parse_gbnf('root ::= list\nlist ::= "" | "(" list ")" list\n')
    assert grammar.matches("")
    assert grammar.matches("(()())()")
    assert not grammar.matches("(()")
    escaped = parse_gbnf('root ::= "\\"" [\\]\\-\\x41] . "\\n"\n')
    assert escaped.matches('"]Z\n') and escaped.matches('"-\u00e9\n') and escaped.matches('"AA\n')
    assert not escaped.matches('"B.\n')


def test_newlines_follow_llama_cpp() -> None:
    grammar = parse_gbnf('root ::= "a" |\n  "b"\n\n# a comment\nother ::= ( "c"\n  "d" )\n')
    assert grammar.matches("a") and grammar.matches("b") and grammar.matches("cd", "other")
    with pytest.raises(GbnfError, match=r"<grammar>:2: expected a rule name, got '\|'"):
        parse_gbnf('root ::= "a"\n| "b"\n')  # at top level a rule ends at the newline


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('root ::= item\n\nitem ::= thing\n', r"g.gbnf:3: rule 'thing' is used but never defined"),
        ('start ::= "a"\n', r"g.gbnf: no `root ::= \.\.\.` rule"),
        ('root ::= "a\n', r"g.gbnf:1: a string literal is never closed"),
        ('root ::= "a"\nroot ::= "b"\n', r"g.gbnf:2: rule 'root' is defined twice \(first on line 1\)"),
        ('root ::= [z-a]\n', r"g.gbnf:1: range 'z'-'a' runs backwards"),
        ('root ::= "a"{2}\n', r"g.gbnf:1: repetition \{m,n\} is not supported"),
        ('root ::= ("a"\n', r"g.gbnf:2: expected '\)'"),
        ('root = "a"\n', r"g.gbnf:1: expected '::=' after rule name 'root'"),
    ],
)
def test_bad_grammars_name_file_line_and_problem(text: str, message: str) -> None:
    with pytest.raises(GbnfError, match=message):
        parse_gbnf(text, "g.gbnf")


def _pairs(name: str) -> list[tuple[str, str]]:
    dataset = load_dataset(DATASETS[name])
    return [(p.source, p.target) for pairs in dataset.splits.values() for p in pairs]


@pytest.mark.parametrize("name", sorted(DATASETS))
def test_every_target_matches_the_grammar_and_the_checker(name: str) -> None:
    dataset = load_dataset(DATASETS[name])
    assert dataset.grammar is not None
    grammar, checker = parse_gbnf(dataset.grammar), dataset.check()
    assert checker is not None
    pairs = _pairs(name)
    assert len(pairs) >= 20
    for source, target in pairs:
        assert grammar.matches(target), target
        assert checker(target), target
        assert not grammar.matches(source), source  # Python is not an answer
        assert not grammar.matches("```\n" + target + "```\n")  # the grammar defines the bare answer


def _min_heights(grammar: Grammar) -> dict[str, int]:
    """Per rule: the least derivation depth that ends in terminals only."""
    heights: dict[str, int] = {}
    for _ in range(len(grammar.rules) + 1):
        for rule, alts in grammar.rules.items():
            for alt in alts:
                subs = [heights.get(s) if isinstance(s, str) else 0 for s in alt]
                if all(h is not None for h in subs):
                    height = 1 + max((h for h in subs if h is not None), default=0)
                    heights[rule] = min(heights.get(rule, height), height)
    return heights


def _sample(grammar: Grammar, rule: str, rng: random.Random, depth: int, heights: dict[str, int]) -> str:
    alts = grammar.rules[rule]
    if depth > 6:  # close off: the alternatives that end soonest
        best = min(1 + max((heights[s] if isinstance(s, str) else 0 for s in a), default=0) for a in alts)
        alts = [a for a in alts if 1 + max((heights[s] if isinstance(s, str) else 0 for s in a), default=0) == best]
    out = []
    for symbol in rng.choice(alts):
        if isinstance(symbol, CharSet):
            out.append(_char(symbol, rng))
        else:
            out.append(_sample(grammar, symbol, rng, depth + 1, heights))
    return "".join(out)


def _char(terminal: CharSet, rng: random.Random) -> str:
    if terminal.negated:
        return rng.choice([c for c in "abcxyz019 _+-*()[]" if terminal.accepts(c)])
    low, high = rng.choice(terminal.ranges)
    return chr(rng.randint(ord(low), ord(high)))


def test_what_the_viba_grammar_generates_parses_as_viba() -> None:
    """The grammar is a subset of the checker's language, so a constrained answer is a valid one."""
    dataset = load_dataset(DATASETS["viba"])
    assert dataset.grammar is not None
    grammar = parse_gbnf(dataset.grammar)
    heights = _min_heights(grammar)
    rng = random.Random(0)
    for _ in range(300):
        text = _sample(grammar, "root", rng, 0, heights)
        if any(f" {w} " in text or text.endswith(f" {w}") for w in ("and", "or", "not")):
            continue  # a keyword drawn as a name: the one thing the grammar does not exclude
        assert grammar.matches(text)
        assert viba_check(text), (text, parse_errors(text))


def test_a_bad_grammar_file_stops_loading_with_its_file_and_line(tmp_path: Path) -> None:
    folder = tmp_path / "viba"
    shutil.copytree(DATASETS["viba"], folder)
    (folder / "viba.gbnf").write_text('root ::= definition\n\ndefinition ::= nme " :="\n', encoding="utf-8")
    with pytest.raises(DatasetError, match=r"viba\.gbnf:3: rule 'nme' is used but never defined"):
        load_dataset(folder)
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    manifest["grammar"] = "missing.gbnf"
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(DatasetError, match=r"missing\.gbnf named by manifest\.json does not exist"):
        load_dataset(folder)
    manifest["checker"] = "experience.tasks.nowhere:check"
    del manifest["grammar"]
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    loaded = load_dataset(folder)
    assert loaded.grammar is None
    with pytest.raises(DatasetError, match=r"manifest checker 'experience\.tasks\.nowhere:check' cannot be imported"):
        loaded.check()


@pytest.mark.llm
@pytest.mark.parametrize("name", sorted(DATASETS))
def test_llama_cpp_reads_the_dataset_grammar(name: str, local_model_path: Path) -> None:
    """llama.cpp's own grammar parser (with the model's vocabulary) accepts the shipped grammar."""
    import llama_cpp

    dataset = load_dataset(DATASETS[name])
    assert dataset.grammar is not None
    llm = llama_cpp.Llama(model_path=str(local_model_path), vocab_only=True, verbose=False)
    vocab = llama_cpp.llama_model_get_vocab(llm._model.model)
    sampler = llama_cpp.llama_sampler_init_grammar(vocab, dataset.grammar.encode(), b"root")
    assert sampler, f"llama.cpp refused {name}'s grammar"
    llama_cpp.llama_sampler_free(sampler)
    broken = llama_cpp.llama_sampler_init_grammar(vocab, b'root ::= "a" | (', b"root")
    assert not broken  # the check can fail
