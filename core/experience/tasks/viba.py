"""Checker for the Viba dialect of spec/VIBA.md: a tokenizer and a small recursive-descent parser.

A logical line ends at a newline outside brackets; '''strings''' and {code blocks} may span lines.

    file        := (definition | Import[path] | '#' comment)*
    definition  := NAME ':=' [form] NEWLINE ('  ' binding NEWLINE)*
    binding     := '#' words | ['<-'] $var form ['=' form] | '<-' form | '|' form
    form        := ['|'] operand (infix operand)*
    infix       := '|' (sum) '<-' (exponent) '*' (product) + - / // % == != < <= > >= and or
    operand     := ('-' | 'not')* postfix+       adjacency is a product: `$elem int`, `str int`
    postfix     := primary ('[' args ']')*        generics and application: list[...], f[$x]
    primary     := NAME | $var | `tag | number | string | {code} | Import[path] | ... | (forms)
    args        := [arg (',' arg)*]; arg := form ['=' form]; in Match[...]: form '->' form

The checker builds no tree, so operator precedence does not change what it accepts.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["VibaIssue", "check", "normalize", "parse_errors"]

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


class _ParseError(Exception):
    """Raised inside a logical line; its one argument is the VibaIssue."""


class _Parser:
    """Recursive descent over the tokens of one logical line (comments dropped)."""

    def __init__(self, line: _Line) -> None:
        self.tokens = [t for t in line.tokens if t.kind != "comment"]
        self.pos, self.last_line = 0, line.number

    def peek(self, offset: int = 0) -> _Token | None:
        at = self.pos + offset
        return self.tokens[at] if at < len(self.tokens) else None

    def at(self, *texts: str) -> bool:
        tok = self.peek()
        return tok is not None and tok.kind in ("op", "name") and tok.text in texts

    def take(self) -> _Token:
        tok = self.peek()
        if tok is None:
            raise self.error("the line ends too early")
        self.pos, self.last_line = self.pos + 1, tok.line
        return tok

    def error(self, message: str) -> _ParseError:
        tok = self.peek()
        return _ParseError(VibaIssue(tok.line if tok else self.last_line, message))

    def expect(self, text: str) -> None:
        if not self.at(text):
            raise self.error(f"expected '{text}', got {_describe(self.peek())}")
        self.take()

    def done(self) -> None:
        if self.peek() is not None:
            raise self.error(f"unexpected {_describe(self.peek())}")

    def starts_operand(self, offset: int = 0) -> bool:
        tok = self.peek(offset)
        if tok is None or (tok.kind == "op" and tok.glued and tok.text == "("):
            return False
        if tok.kind == "name":
            return tok.text not in _KEYWORDS
        return tok.kind in _STARTS or (tok.kind == "op" and tok.text in ("(", "..."))

    def form(self) -> None:
        if self.at("|"):
            self.take()
        self.operand()
        while self.at(*_INFIX):
            self.take()
            self.operand()

    def operand(self) -> None:
        while self.at(*_PREFIX):
            self.take()
        if not self.starts_operand():
            raise self.error(f"expected a value or a type, got {_describe(self.peek())}")
        while self.starts_operand():
            self.postfix()

    def postfix(self) -> None:
        tok = self.take()
        if tok.kind == "op" and tok.text == "(":
            while not self.at(")"):  # (), (form), (form, form, ...)
                self.form()
                if not self.at(","):
                    break
                self.take()
            self.expect(")")
        while (nxt := self.peek()) is not None and nxt.kind == "op" and nxt.glued:
            if nxt.text == "(":
                raise self.error(f"apply with square brackets: {tok.text}[...], not (...)")
            if nxt.text != "[":
                break
            self.take()
            self.args(tok.text)

    def args(self, callee: str) -> None:
        if callee == "Import":
            raise self.error("write an import as Import[path/to/file.viba]")
        branches = 0
        while not self.at("]"):
            self.form()
            if callee == "Match":
                if not self.at("->"):
                    got = _describe(self.peek())
                    raise self.error(f"a Match branch is `condition -> value`, got {got}")
                self.take()
                self.form()
            elif self.at("->"):
                raise self.error("'->' separates a branch inside Match[...]")
            elif self.at("="):
                self.take()
                self.form()
            branches += 1
            if not self.at(","):
                break
            self.take()
        if callee == "Match" and branches == 0:
            raise self.error("Match[...] needs at least one branch")
        self.expect("]")

    def declaration(self) -> None:
        """`$var <type>` with an optional `= value`, once the `$var` is taken."""
        name = self.tokens[self.pos - 1].text
        if not (self.starts_operand() or self.at("|")):
            raise self.error(f"declare `{name}` with a type, as in `{name} int`")
        self.form()
        if self.at("="):
            self.take()
            self.form()

    def binding(self) -> None:
        """One line of a definition's body (comment-only lines never get here)."""
        tok = self.take()
        if tok.kind == "var":
            self.declaration()
        elif tok.text == "<-" and tok.kind == "op":
            head = self.peek()
            if head is not None and head.kind == "var" and self.starts_operand(1):
                self.take()
                self.declaration()  # an input
            else:
                self.form()  # the result
        elif tok.text == "|" and tok.kind == "op":
            self.form()
        else:
            message = f"a binding starts with `$`, `<-`, `|` or `#`, got {_describe(tok)}"
            raise _ParseError(VibaIssue(tok.line, message))
        self.done()

    def top(self) -> None:
        """A line at column 0: `name :=` (optionally `name := form`) or `Import[path]`."""
        tok = self.take()
        if tok.kind == "name":
            if not self.at(":="):
                raise self.error(f"expected ':=' after `{tok.text}`, got {_describe(self.peek())}")
            self.take()
            if self.peek() is not None:
                self.form()
        elif tok.kind != "import":
            message = f"expected a definition `name :=`, got {_describe(tok)}"
            raise _ParseError(VibaIssue(tok.line, message))
        self.done()


def _describe(tok: _Token | None) -> str:
    if tok is None:
        return "the end of the line"
    return repr(tok.text if len(tok.text) <= 24 else tok.text[:21] + "...")


def _parse(rule: Callable[[], None], issues: list[VibaIssue]) -> bool:
    try:
        rule()
    except _ParseError as error:
        issues.append(error.args[0])
        return False
    return True


def parse_errors(text: str) -> list[VibaIssue]:
    """Problems that stop `text` parsing as Viba (empty list = parses)."""
    lexer = _Lexer(text)
    lines = lexer.run()
    issues = list(lexer.issues)
    bodies: dict[int, int] = {}  # definition line -> lines in its body
    head: _Line | None = None  # the definition whose body is open
    for line in lines:
        code = [t for t in line.tokens if t.kind != "comment"]
        if line.indent == 0 and code:
            head = line if code[0].kind == "name" else None
            parsed = line.broken or _parse(_Parser(line).top, issues)
            if head is not None:  # `name := form`, or a head in error, needs no body
                bodies[line.number] = int(len(code) > 2 or line.broken or not parsed)
        elif line.indent > 0:
            if head is not None:
                bodies[head.number] += 1
            if line.broken or not code:
                continue
            if line.indent != 2:
                issues.append(VibaIssue(line.number, f"indented {line.indent} spaces, not 2"))
            elif head is None:
                issues.append(VibaIssue(line.number, "a binding outside a definition `name :=`"))
            else:
                _parse(_Parser(line).binding, issues)
    issues += [VibaIssue(n, "a definition with no bindings") for n, b in bodies.items() if not b]
    if not bodies and not issues:
        issues.append(VibaIssue(1, "no definition `name :=` found"))
    return sorted(dict.fromkeys(issues), key=lambda issue: issue.line)


def check(text: str) -> bool:
    """True when `text` parses as the Viba dialect of VIBA.md."""
    return not parse_errors(text)


def normalize(text: str) -> str:
    """Canonical form for scoring: no ``` fence lines, no trailing whitespace, one final newline.

    Blank lines at the start and the end are dropped too; an empty result is "".
    """
    lines = [line.rstrip() for line in text.splitlines() if not line.lstrip().startswith("```")]
    while lines and not lines[-1]:
        lines.pop()
    while lines and not lines[0]:
        lines.pop(0)
    return "\n".join(lines) + "\n" if lines else ""
