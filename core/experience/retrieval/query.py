"""Query keywords for retrieval: LLM-generated, plus the identifiers the source names."""

from __future__ import annotations

import keyword
import re
from collections.abc import Sequence

from experience.kernel import Kernel, KernelTask
from experience.prompts import render
from experience.retrieval.keywords import parse_keywords
from experience.text import merge_keywords

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_COMMON = frozenset(keyword.kwlist) | {"self", "none", "true", "false", "int", "str", "float", "bool", "list", "dict"}
_PARTS = re.compile(r"[a-z]+|[A-Z][a-z]*|\d+")


def identifiers(source: str) -> list[str]:
    """Distinctive words the source names: identifiers and their snake/camel parts (>= 3 chars)."""
    words: set[str] = set()
    for name in _IDENT.findall(source):
        for part in (name, *_PARTS.findall(name)):
            low = part.lower().strip("_")
            if len(low) >= 3 and low not in _COMMON:
                words.add(low)
    return sorted(words)


def keyword_task(source: str) -> KernelTask:
    """The LLM call that asks for search keywords of one source text."""
    return KernelTask.chat(
        render("keywords_user", source=source.rstrip("\n")),
        system=render("keywords_system"),
        max_tokens=48,
        tag="query",
    )


def generate_queries(kernel: Kernel, sources: Sequence[str | None], *, lexical: bool = True) -> list[str]:
    """Query text (one keyword per line, sorted) for each source; one LLM call per non-empty source."""
    wanted = [i for i, s in enumerate(sources) if s]
    replies = kernel.run([keyword_task(sources[i] or "") for i in wanted])
    queries = [""] * len(sources)
    for i, reply in zip(wanted, replies, strict=True):
        words = sorted(parse_keywords(reply.text))[:8]
        extra = identifiers(sources[i] or "") if lexical else []
        queries[i] = merge_keywords(["\n".join(words), "\n".join(extra)])
    return queries
