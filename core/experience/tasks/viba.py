"""Checker for the Viba dialect of spec/VIBA.md: a tokenizer and a small recursive-descent parser.

Grammar (a logical line ends at a newline outside brackets; '''strings''' and {code} may span lines):

    file     := (definition | Import[path] | # comment)*
    definition := NAME ':=' [form] NEWLINE ('  ' binding NEWLINE)*
    binding  := '#' text | '<-' $var form ['=' form] | '<-' form | $var form ['=' form] | '|' form
    form     := ['|'] arrow ('|' arrow)*            sum
    arrow    := binary ['<-' arrow]                  exponent (a function type)
    binary   := or / and / not / comparison / + - / * / // %, then '-' unary
    juxt     := postfix postfix*                     product by adjacency: `$elem int`, `str int`
    postfix  := primary ('[' args ']')*              generics, application: list[...], f[$x]
    primary  := NAME | $var | `tag | number | string | {code} | Import[path] | ... | '(' forms ')'
    args     := arg (',' arg)*; arg := form ['->' form (only in Match) | '=' form]
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

__all__ = ["VibaIssue", "check", "normalize", "parse_errors"]

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_PATH = re.compile(r"[A-Za-z0-9_./-]+")
_OPERATORS = (":=", "<-", "->", "<=", ">=", "==", "!=", "//", "...")
_SINGLE = "|*+-/%<>=,"
_CLOSERS = {")": "(", "]": "["}
_KEYWORDS = frozenset({"and", "or", "not"})
_LEVELS = (
    frozenset({"or"}),
    frozenset({"and"}),
    frozenset({"==", "!=", "<", "<=", ">", ">="}),
    frozenset({"+", "-"}),
    frozenset({"*", "/", "//", "%"}),
)
_NOT_LEVEL = 2  # `not` binds looser than comparison, tighter than `and`
_PRIMARY_KINDS = frozenset({"var", "tag", "num", "str", "code", "import"})


@dataclass(frozen=True)
class VibaIssue:
    """A problem that stops a text parsing as Viba, on a 1-based line."""

    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


@dataclass
class _Token:
    kind: str  # name var tag num str code import op comment
    text: str
    line: int
    glued: bool = False  # no whitespace before it


@dataclass
class _Line:
    number: int
    indent: int
    tokens: list[_Token] = field(default_factory=list)
    broken: bool = False  # the tokenizer already reported a problem here


class _Lexer:
    """Splits text into logical lines of tokens; brackets, '''strings''' and {code} join lines."""

    def __init__(self, text: str) -> None:
        self.text, self.i, self.line = text, 0, 1
        self.lines: list[_Line] = []
        self.issues: list[VibaIssue] = []
        self.stack: list[tuple[str, int]] = []  # (opener as written, line)

    def fail(self, line: int, message: str) -> None:
        self.issues.append(VibaIssue(line, message))
        if self.lines:
            self.lines[-1].broken = True

    def add(self, kind: str, text: str, start: int) -> None:
        glued = start > 0 and self.text[start - 1] not in " \t\r\n"
        self.lines[-1].tokens.append(_Token(kind, text, self.line, glued))
        self.line += text.count("\n")
        self.i = start + len(text)

    def run(self) -> None:
        text, at_start = self.text, True
        while self.i < len(text):
            c = text[self.i]
            if c == "\n":
                self.line, self.i, at_start = self.line + 1, self.i + 1, not self.stack
            elif at_start:
                at_start, j = False, self.i
                while j < len(text) and text[j] == " ":
                    j += 1
                if j < len(text) and text[j] not in "\r\n":
                    self.lines.append(_Line(self.line, j - self.i))
                    if text[j] == "\t":
                        self.fail(self.line, "indent with spaces, not tabs")
                self.i = j
            elif c in " \t\r":
                self.i += 1
            else:
                self.token(c)
        for opener, line in self.stack:
            self.fail(line, f"'{opener}' opened here is never closed")

    def token(self, c: str) -> None:
        text, i = self.text, self.i
        eol = text.find("\n", i) % (len(text) + 1)
        word = _NAME.match(text, i) or _NUMBER.match(text, i)
        op = next((o for o in _OPERATORS if text.startswith(o, i)), c if c in _SINGLE else "")
        if c == "#":
            self.add("comment", text[i:eol], i)
        elif text.startswith("'''", i) or c == "{":
            end = text.find("'''", i + 3) + 3 if c == "'" else _brace_end(text, i)
            if end >= 3:
                self.add("str" if c == "'" else "code", text[i:end], i)
            else:
                self.i = len(text)
                self.fail(self.line, f"{'a \'\'\'string' if c == chr(39) else 'code block {'} is never closed")
        elif c in "'\"":
            j = i + 1
            while j < eol and text[j] != c:
                j += 2 if text[j] == "\\" else 1
            if j < eol:
                self.add("str", text[i : j + 1], i)
            else:
                self.i = eol
                self.fail(self.line, f"string {text[i:eol][:24]!r} is never closed")
        elif c in "$`":
            name = _NAME.match(text, i + 1)
            if name is not None:
                self.add("var" if c == "$" else "tag", text[i : name.end()], i)
            else:
                self.i += 1
                self.fail(self.line, f"'{c}' must be followed by a name")
        elif word is not None and word.group() == "Import" and text.startswith("[", word.end()):
            close = text.find("]", i, eol)
            if close > 0 and _PATH.fullmatch(text[word.end() + 1 : close]):
                self.add("import", text[i : close + 1], i)
            else:
                self.i = eol
                self.fail(self.line, "write an import as Import[path/to/file.viba]")
        elif word is not None:
            self.add("num" if c.isdigit() else "name", word.group(), i)
        elif op:
            self.add("op", op, i)
        elif c in "([":
            self.bracket(c)
        elif c in _CLOSERS:
            self.close(c)
        else:
            self.i += 1
            hint = {":": " (a definition is `name :=`)", ".": " (methods are functions: f[$x])"}
            self.fail(self.line, f"unexpected character {c!r}{hint.get(c, '')}")

    def bracket(self, c: str) -> None:
        tokens = self.lines[-1].tokens
        glued = self.text[self.i - 1] not in " \t\r\n"
        named = glued and tokens and tokens[-1].kind in ("name", "var")
        self.stack.append(((tokens[-1].text if named else "") + c, self.line))
        self.add("op", c, self.i)

    def close(self, c: str) -> None:
        if not self.stack:
            self.i += 1
            self.fail(self.line, f"unexpected '{c}': nothing is open")
            return
        opener, line = self.stack.pop()
        if opener[-1] != _CLOSERS[c]:
            self.fail(self.line, f"'{c}' does not close '{opener}' opened on line {line}")
        self.add("op", c, self.i)


def _brace_end(text: str, start: int) -> int:
    """Index just past the brace that closes the one at `start` (braces nest); -1 if none."""
    depth = 0
    for j in range(start, len(text)):
        depth += {"{": 1, "}": -1}.get(text[j], 0)
        if depth == 0:
            return j + 1
    return -1
