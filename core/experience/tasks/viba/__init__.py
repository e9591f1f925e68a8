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

from experience.tasks.viba.lexer import VibaIssue, _Lexer, _Line
from experience.tasks.viba.parser import _parse, _Parser
from experience.text.answer import clean_answer

__all__ = ["VibaIssue", "check", "normalize", "parse_errors"]


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
    """Canonical form for scoring: no ``` fence lines, no trailing whitespace, one final newline ("" if empty)."""
    return clean_answer(text)
