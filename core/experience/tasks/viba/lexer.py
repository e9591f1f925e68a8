"""Viba tokenizer: logical lines of tokens (strings and code blocks may span lines)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_TOKEN = re.compile(
    r"""(?P<comment>\#[^\n]*)
    |(?P<import>Import\[[A-Za-z0-9_./-]+\])
    |(?P<str>'''.*?'''|'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*")
    |(?P<var>\$[A-Za-z_][A-Za-z0-9_]*)
    |(?P<tag>`[A-Za-z_][A-Za-z0-9_]*)
    |(?P<num>[0-9]+(?:\.[0-9]+)?)
    |(?P<name>[A-Za-z_][A-Za-z0-9_]*)
    |(?P<op>:=|<-|->|<=|>=|==|!=|//|\.\.\.|[|*+\-/%<>=,])""",
    re.VERBOSE | re.DOTALL,
)
_PREFIX = frozenset({"-", "not"})
_INFIX = frozenset({"|", "<-", "*", "+", "-", "/", "//", "%", "==", "!=", "<", "<=", ">", ">="})
_INFIX |= {"and", "or"}
_KEYWORDS = _INFIX | _PREFIX
_STARTS = frozenset({"var", "tag", "num", "str", "code", "import"})
_CLOSERS = {")": "(", "]": "["}
_HINTS = {
    ":": "unexpected ':' (a definition is `name :=`)",
    ".": "unexpected '.' (a method is a function: strip[$s])",
    "'": "a string is never closed",
    '"': "a string is never closed",
    "$": "'$' must be followed by a name",
    "`": "'`' must be followed by a name",
}


@dataclass(frozen=True)
class VibaIssue:
    """A problem that stops a text parsing as Viba, on a 1-based line."""

    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


@dataclass
class _Token:
    kind: str  # comment import str var tag num name op code
    text: str
    line: int
    glued: bool  # no whitespace before it


@dataclass
class _Line:
    number: int
    indent: int
    tokens: list[_Token] = field(default_factory=list)
    broken: bool = False  # the tokenizer already reported a problem on it


class _Lexer:
    """Splits text into logical lines of tokens and reports what cannot be a token."""

    def __init__(self, text: str) -> None:
        self.text, self.i, self.line = text.replace("\r\n", "\n").replace("\r", "\n"), 0, 1
        self.lines: list[_Line] = []
        self.issues: list[VibaIssue] = []
        self.open: list[tuple[str, int]] = []  # brackets not yet closed: (as written, line)

    def fail(self, message: str, line: int = 0) -> None:
        self.issues.append(VibaIssue(line or self.line, message))
        self.lines[-1].broken = True

    def add(self, kind: str, text: str) -> None:
        glued = self.i > 0 and self.text[self.i - 1] not in " \t\r\n"
        self.lines[-1].tokens.append(_Token(kind, text, self.line, glued))
        self.line += text.count("\n")
        self.i += len(text)

    def run(self) -> list[_Line]:
        text, at_start = self.text, True
        while self.i < len(text):
            c = text[self.i]
            if c == "\n":
                self.line, self.i, at_start = self.line + 1, self.i + 1, not self.open
            elif at_start:
                at_start, j = False, self.i
                while j < len(text) and text[j] in " \t":
                    j += 1
                if j < len(text) and text[j] not in "\r\n":
                    self.lines.append(_Line(self.line, j - self.i))
                    if "\t" in text[self.i : j]:
                        self.fail("indent with spaces, not tabs")
                self.i = j
            elif c in " \t\r":
                self.i += 1
            else:
                self.token(c)
        for opener, line in self.open:
            self.fail(f"'{opener}' opened here is never closed", line)
        return self.lines

    def token(self, c: str) -> None:
        match = _TOKEN.match(self.text, self.i)
        tokens = self.lines[-1].tokens
        if c == "{":
            end = _brace_end(self.text, self.i)
            if end < 0:
                self.fail("a code block '{' is never closed")
                self.i = len(self.text)
            else:
                self.add("code", self.text[self.i : end])
        elif c in "([":
            named = bool(tokens) and tokens[-1].kind in ("name", "var")
            glued = self.i > 0 and self.text[self.i - 1] not in " \t\r\n"
            self.open.append(((tokens[-1].text if named and glued else "") + c, self.line))
            self.add("op", c)
        elif c in _CLOSERS:
            if not self.open:
                self.fail(f"unexpected '{c}': nothing is open")
                self.i += 1
                return
            opener, line = self.open.pop()
            if opener[-1] != _CLOSERS[c]:
                self.fail(f"'{c}' does not close '{opener}' opened on line {line}")
            self.add("op", c)
        elif match is not None and match.lastgroup is not None:
            self.add(match.lastgroup, match.group())
        else:
            self.fail(_HINTS.get(c, f"unexpected character {c!r}"))
            end = self.text.find("\n", self.i) if c in "'\"" else self.i + 1
            self.i = len(self.text) if end < 0 else end  # a broken string runs to the line end


def _brace_end(text: str, start: int) -> int:
    """Index just past the brace that closes the one at `start` (braces nest); -1 if none."""
    depth = 0
    for j in range(start, len(text)):
        depth += {"{": 1, "}": -1}.get(text[j], 0)
        if depth == 0:
            return j + 1
    return -1
