"""Viba recursive-descent parser over the tokens of one logical line (builds no tree)."""

from __future__ import annotations

from collections.abc import Callable

from experience.tasks.viba.lexer import _INFIX, _KEYWORDS, _PREFIX, _STARTS, VibaIssue, _Line, _Token


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
