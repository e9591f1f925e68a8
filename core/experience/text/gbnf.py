"""GBNF (llama.cpp grammar) parser and matcher: read the subset datasets use, decide whether a text matches.

Supported: rules `name ::= ...`, `|` alternation, sequences, `( )` groups, "literals" and [char classes]
(ranges, `^` negation, escapes \\n \\r \\t \\\\ \\" \\] \\- \\xHH \\uHHHH), `.`, and the postfix `*`, `+`, `?`.
Newlines follow llama.cpp: a rule ends at a newline unless inside parentheses or right after `|` or `::=`.
Matching is an Earley recognizer over characters (fine for answers of a few thousand characters).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "\\": "\\", '"': '"', "[": "[", "]": "]", "-": "-", "'": "'", "/": "/"}
_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_")


class GbnfError(ValueError):
    """A grammar text that cannot be read; the message names the file, the line and the fix."""


@dataclass(frozen=True)
class CharSet:
    """A terminal: one character in (or, negated, not in) the ranges."""

    ranges: tuple[tuple[str, str], ...]
    negated: bool = False

    def accepts(self, char: str) -> bool:
        """True when `char` is one this terminal matches."""
        inside = any(low <= char <= high for low, high in self.ranges)
        return inside != self.negated


Symbol = str | CharSet  # a rule name or a terminal


@dataclass
class Grammar:
    """Rules as alternatives of symbol sequences; `root` is where matching starts."""

    rules: dict[str, list[tuple[Symbol, ...]]] = field(default_factory=dict)
    root: str = "root"

    def matches(self, text: str, start: str | None = None) -> bool:
        """True when the whole of `text` is a sentence of the rule `start` (default: root)."""
        return _Earley(self).recognize(text, start or self.root)


class _Reader:
    """Recursive descent over the grammar text, mirroring llama.cpp's grammar-parser."""

    def __init__(self, text: str, where: str) -> None:
        self.text, self.pos, self.where = text, 0, where
        self.grammar = Grammar()
        self.lines: dict[str, int] = {}  # rule -> line of its definition
        self.refs: list[tuple[str, int]] = []  # (rule name used, line)
        self.fresh = 0

    def line(self, pos: int | None = None) -> int:
        return self.text.count("\n", 0, self.pos if pos is None else pos) + 1

    def fail(self, problem: str, fix: str) -> GbnfError:
        return GbnfError(f"{self.where}:{self.line()}: {problem}; {fix}")

    def peek(self, ahead: int = 0) -> str:
        at = self.pos + ahead
        return self.text[at] if at < len(self.text) else ""

    def space(self, newline_ok: bool) -> None:
        while self.pos < len(self.text):
            c = self.text[self.pos]
            if c in " \t" or (newline_ok and c in "\r\n"):
                self.pos += 1
            elif c == "#":
                while self.pos < len(self.text) and self.text[self.pos] not in "\r\n":
                    self.pos += 1
            else:
                return

    def name(self) -> str:
        start = self.pos
        while self.peek() and self.peek() in _NAME_CHARS:
            self.pos += 1
        if start == self.pos:
            raise self.fail(f"expected a rule name, got {self.peek()!r}", "a rule is written `name ::= ...`")
        return self.text[start : self.pos]

    def run(self) -> Grammar:
        self.space(True)
        while self.pos < len(self.text):
            self.rule()
        for name, line in self.refs:
            if name not in self.grammar.rules:
                fix = f"define `{name} ::= ...`"
                raise GbnfError(f"{self.where}:{line}: rule {name!r} is used but never defined; {fix}")
        if self.grammar.root not in self.grammar.rules:
            raise GbnfError(f"{self.where}: no `root ::= ...` rule; add one (matching starts there)")
        return self.grammar

    def rule(self) -> None:
        line = self.line()
        name = self.name()
        self.space(False)
        if not self.text.startswith("::=", self.pos):
            raise self.fail(f"expected '::=' after rule name {name!r}", "write `name ::= ...`")
        if name in self.lines:
            raise self.fail(f"rule {name!r} is defined twice (first on line {self.lines[name]})", "keep one")
        self.lines[name] = line
        self.pos += 3
        self.space(True)
        self.grammar.rules[name] = self.alternates(nested=False)
        if self.peek() == "\r":
            self.pos += 1
        if self.peek() == "\n":
            self.pos += 1
        elif self.pos < len(self.text):
            raise self.fail(f"unexpected {self.peek()!r}", "end the rule with a newline, or quote the character")
        self.space(True)

    def alternates(self, nested: bool) -> list[tuple[Symbol, ...]]:
        alts = [self.sequence(nested)]
        while self.peek() == "|":
            self.pos += 1
            self.space(True)
            alts.append(self.sequence(nested))
        return alts

    def new_rule(self, alts: list[tuple[Symbol, ...]]) -> str:
        self.fresh += 1
        name = f"~{self.fresh}"  # '~' cannot appear in a written name
        self.grammar.rules[name] = alts
        return name

    def sequence(self, nested: bool) -> tuple[Symbol, ...]:
        items: list[list[Symbol]] = []  # each element of the sequence as its symbols (a literal is several)
        while self.pos < len(self.text):
            c = self.peek()
            if c == '"':
                self.pos += 1
                chars = []
                while self.peek() != '"':
                    if not self.peek() or self.peek() in "\r\n":
                        raise self.fail("a string literal is never closed", 'close it with "')
                    chars.append(self.char())
                self.pos += 1
                items.append([CharSet(((ch, ch),)) for ch in chars])
            elif c == "[":
                items.append([self.char_class()])
            elif c == ".":
                self.pos += 1
                items.append([CharSet((), negated=True)])
            elif c in _NAME_CHARS:
                line = self.line()
                ref = self.name()
                self.refs.append((ref, line))
                items.append([ref])
            elif c == "(":
                self.pos += 1
                self.space(True)
                alts = self.alternates(nested=True)
                if self.peek() != ")":
                    raise self.fail(f"expected ')', got {self.peek()!r}", "close the group")
                self.pos += 1
                items.append([self.new_rule(alts)])
            elif c in "*+?":
                if not items:
                    raise self.fail(f"{c!r} follows nothing", f"put {c!r} after a literal, class, name or group")
                self.pos += 1
                items[-1] = [self.repeat(tuple(items[-1]), c)]
            elif c == "{":
                raise self.fail("repetition {m,n} is not supported here", "write the repeats out, or use * + ?")
            else:
                break
            self.space(nested)
        return tuple(s for item in items for s in item)

    def repeat(self, body: tuple[Symbol, ...], op: str) -> str:
        if op == "?":
            return self.new_rule([body, ()])
        star = self.new_rule([])
        self.grammar.rules[star] = [(*body, star), ()]
        return star if op == "*" else self.new_rule([(*body, star)])

    def char(self) -> str:
        c = self.peek()
        if c != "\\":
            self.pos += 1
            return c
        kind = self.peek(1)
        if kind in _ESCAPES:
            self.pos += 2
            return _ESCAPES[kind]
        digits = {"x": 2, "u": 4, "U": 8}.get(kind)
        if digits is None:
            raise self.fail(f"unknown escape '\\{kind}'", "use \\n \\t \\\\ \\\" \\] \\xHH or \\uHHHH")
        code = self.text[self.pos + 2 : self.pos + 2 + digits]
        try:
            value = chr(int(code, 16))
        except ValueError:
            raise self.fail(f"bad escape '\\{kind}{code}'", f"write \\{kind} with {digits} hex digits") from None
        self.pos += 2 + digits
        return value

    def char_class(self) -> CharSet:
        self.pos += 1
        negated = self.peek() == "^"
        if negated:
            self.pos += 1
        ranges = []
        while self.peek() != "]":
            if not self.peek():
                raise self.fail("a character class is never closed", "close it with ]")
            low = self.char()
            high = low
            if self.peek() == "-" and self.peek(1) not in ("]", ""):
                self.pos += 1
                high = self.char()
                if high < low:
                    raise self.fail(f"range {low!r}-{high!r} runs backwards", f"write {high!r}-{low!r}")
            ranges.append((low, high))
        self.pos += 1
        return CharSet(tuple(ranges), negated)


def parse_gbnf(text: str, where: str = "<grammar>") -> Grammar:
    """Parse GBNF text; GbnfError names `where`, the line and the fix when it cannot."""
    return _Reader(text, where).run()


def load_gbnf(path: str | Path) -> tuple[str, Grammar]:
    """Read and parse a .gbnf file; returns its text and the parsed grammar."""
    file = Path(path)
    text = file.read_text(encoding="utf-8")
    return text, parse_gbnf(text, str(file))


class _Earley:
    """Earley recognizer; items are (production, dot, origin); nullable rules per Aycock and Horspool."""

    def __init__(self, grammar: Grammar) -> None:
        self.prods: list[tuple[str, tuple[Symbol, ...]]] = []
        self.by_lhs: dict[str, list[int]] = {}
        for lhs, alts in grammar.rules.items():
            for rhs in alts:
                self.by_lhs.setdefault(lhs, []).append(len(self.prods))
                self.prods.append((lhs, rhs))
        self.nullable = self._nullable()

    def _nullable(self) -> set[str]:
        found: set[str] = set()
        changed = True
        while changed:
            changed = False
            for lhs, rhs in self.prods:
                if lhs not in found and all(isinstance(s, str) and s in found for s in rhs):
                    found.add(lhs)
                    changed = True
        return found

    def recognize(self, text: str, start: str) -> bool:
        if start not in self.by_lhs:
            raise GbnfError(f"no rule {start!r} in the grammar")
        n = len(text)
        charts: list[set[tuple[int, int, int]]] = [set() for _ in range(n + 1)]
        waiting: list[dict[str, list[tuple[int, int, int]]]] = [{} for _ in range(n + 1)]
        for p in self.by_lhs[start]:
            charts[0].add((p, 0, 0))
        for i in range(n + 1):
            agenda = list(charts[i])
            chart, nxt = charts[i], charts[i + 1] if i < n else None
            while agenda:
                prod, dot, origin = item = agenda.pop()
                lhs, rhs = self.prods[prod]
                if dot == len(rhs):
                    for w_prod, w_dot, w_origin in waiting[origin].get(lhs, ()):
                        new = (w_prod, w_dot + 1, w_origin)
                        if new not in chart:
                            chart.add(new)
                            agenda.append(new)
                    continue
                sym = rhs[dot]
                if isinstance(sym, CharSet):
                    if nxt is not None and sym.accepts(text[i]):
                        nxt.add((prod, dot + 1, origin))
                    continue
                waiting[i].setdefault(sym, []).append(item)
                for p in self.by_lhs[sym]:
                    new = (p, 0, i)
                    if new not in chart:
                        chart.add(new)
                        agenda.append(new)
                if sym in self.nullable:
                    new = (prod, dot + 1, origin)
                    if new not in chart:
                        chart.add(new)
                        agenda.append(new)
            if nxt is not None and not nxt:
                return False
        return any(
            dot == len(self.prods[prod][1]) and origin == 0 and self.prods[prod][0] == start
            for prod, dot, origin in charts[n]
        )
