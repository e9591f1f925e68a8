"""Query keywords for retrieval: LLM-generated, plus the identifiers the source names."""

from __future__ import annotations

import ast
import keyword
import re
from collections.abc import Sequence

from experience.kernel import Kernel, KernelTask
from experience.prompts import load_shots, render
from experience.text import merge_keywords

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_COMMON = frozenset(keyword.kwlist) | {"self", "none", "true", "false", "int", "str", "float", "bool", "list", "dict"}
_PARTS = re.compile(r"[a-z]+|[A-Z][a-z]*|\d+")
_WORD = re.compile(r"[a-z][a-z0-9_]{2,19}")
MAX_LLM_KEYWORDS = 6


def identifiers(source: str) -> list[str]:
    """Distinctive words the source names: identifiers and their snake/camel parts (>= 3 chars)."""
    words: set[str] = set()
    for name in _IDENT.findall(source):
        for part in (name, *_PARTS.findall(name)):
            low = part.lower().strip("_")
            if len(low) >= 3 and low not in _COMMON:
                words.add(low)
    return sorted(words)


# Python syntax that changes how a function translates, as retrieval words (node kinds a person would name).
_SYNTAX = {
    "For": "loop", "AsyncFor": "loop", "While": "loop", "If": "branch", "IfExp": "conditional",
    "ListComp": "listcomp", "SetComp": "setcomp", "DictComp": "dictcomp", "GeneratorExp": "genexp",
    "Lambda": "lambda", "JoinedStr": "fstring", "Try": "try", "With": "with", "ClassDef": "class",
    "Yield": "yield", "YieldFrom": "yield", "Assert": "assert", "Slice": "slice", "Subscript": "index",
    "Dict": "dict", "Tuple": "tuple", "List": "list", "Set": "set", "BoolOp": "boolean", "Compare": "compare",
    "AugAssign": "accumulate", "Raise": "raise", "Await": "await", "Starred": "unpack", "Global": "global",
}  # fmt: skip  (def, return and calls are in nearly every source: no signal)
QUERY_MODES = ("llm", "lexical")


def syntax_words(source: str) -> list[str]:
    """Kinds of Python syntax the source uses (loop, listcomp, fstring, ...); [] when it does not parse."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return []
    words = {_SYNTAX[type(node).__name__] for node in ast.walk(tree) if type(node).__name__ in _SYNTAX}
    if sum(isinstance(node, ast.FunctionDef) for node in ast.walk(tree)) > 1:
        words.add("nested")
    return sorted(words)


def lexical_query(source: str) -> str:
    """Query text without an LLM call: the source's identifiers and the kinds of syntax it uses."""
    return merge_keywords(["\n".join(identifiers(source)), "\n".join(syntax_words(source))])


def keyword_task(source: str) -> KernelTask:
    """The LLM call that asks for search keywords of one source text."""
    shots = tuple((render("keywords_user", source=u), a) for u, a in load_shots("keywords_shots"))
    return KernelTask.chat(
        render("keywords_user", source=source.rstrip("\n")),
        system=render("keywords_system"),
        shots=shots,
        max_tokens=32,
        stop=("\n\n",),
        tag="query",
    )


def reply_keywords(reply: str) -> list[str]:
    """Keywords from a model reply: short lowercase words, first-seen order, at most MAX_LLM_KEYWORDS."""
    seen: list[str] = []
    for word in _WORD.findall(reply.lower()):
        if word not in _COMMON and word not in seen:
            seen.append(word)
    return seen[:MAX_LLM_KEYWORDS]


def generate_queries(
    kernel: Kernel, sources: Sequence[str | None], *, lexical: bool = True, mode: str = "llm"
) -> list[str]:
    """Query text (one keyword per line, sorted) per source: `llm` makes one call per non-empty source,
    `lexical` none (identifiers and syntax kinds)."""
    if mode not in QUERY_MODES:
        raise ValueError(f"unknown query mode {mode!r}; use one of {', '.join(QUERY_MODES)}")
    if mode == "lexical":
        return [lexical_query(s) if s else "" for s in sources]
    wanted = [i for i, s in enumerate(sources) if s]
    replies = kernel.run([keyword_task(sources[i] or "") for i in wanted])
    queries = [""] * len(sources)
    for i, reply in zip(wanted, replies, strict=True):
        words = reply_keywords(reply.text)
        extra = identifiers(sources[i] or "") if lexical else []
        queries[i] = merge_keywords(["\n".join(words), "\n".join(extra)])
    return queries
