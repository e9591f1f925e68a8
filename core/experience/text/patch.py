"""Apply unified diffs with GNU patch's fuzz factor, counting clean, fuzzed and rejected hunks."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from experience.text.diff import split_lines

_HEADER = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@(?: .*)?$")
_LINE_ORIGIN = " -+"


class PatchFormatError(ValueError):
    """A malformed unified diff; the message names the offending line and how to fix it."""


class PatchOutcome(enum.Enum):
    """How a whole patch went: every hunk clean, some fuzzed, or at least one rejected."""

    APPLIED = "applied"
    FUZZED = "fuzzed"
    REJECTED = "rejected"


@dataclass(frozen=True)
class Hunk:
    """One parsed hunk: its header numbers, its lines as (origin, text) and its raw text."""

    old_start: int
    old_len: int
    new_start: int
    new_len: int
    lines: tuple[tuple[str, str], ...]  # origin is ' ', '-' or '+'; text keeps its line end
    text: str  # the hunk as written in the diff, header included
    line_number: int  # 1-based line of the header in the diff

    @property
    def old_lines(self) -> list[str]:
        """Context and removed lines: what the hunk expects to find."""
        return [text for origin, text in self.lines if origin != "+"]

    @property
    def prefix_context(self) -> int:
        """Number of context lines before the first change."""
        count = 0
        for origin, _ in self.lines:
            if origin != " ":
                break
            count += 1
        return count

    @property
    def suffix_context(self) -> int:
        """Number of context lines after the last change."""
        count = 0
        for origin, _ in reversed(self.lines):
            if origin != " ":
                break
            count += 1
        return count

    @property
    def anchor(self) -> int:
        """0-based index in the old text where the hunk's old lines start."""
        return self.old_start if self.old_len == 0 else self.old_start - 1


@dataclass(frozen=True)
class PatchResult:
    """The patched text and how every hunk went (rejected hunks are kept verbatim)."""

    text: str
    outcome: PatchOutcome
    rejected_hunks: tuple[str, ...]
    hunks: int
    offset_hunks: int
    max_fuzz: int


def parse_hunks(diff: str) -> list[Hunk]:
    """Parse the hunks of a one-file unified diff; raise PatchFormatError when it is malformed."""
    raw = diff.split("\n")
    if raw and raw[-1] == "":
        raw.pop()
    hunks: list[Hunk] = []
    index = 0
    while index < len(raw):
        line = raw[index]
        if line.startswith("@@"):
            hunk, index = _parse_hunk(raw, index)
            hunks.append(hunk)
            continue
        if hunks and line.startswith("\\"):
            raise PatchFormatError(
                f"line {index + 1}: a second '\\ No newline' marker; keep one marker per line"
            )
        if hunks and line.strip():
            last = hunks[-1]
            raise PatchFormatError(
                f"line {index + 1}: {line[:40]!r} follows the hunk at line {last.line_number}, "
                f"whose header -{last.old_start},{last.old_len} +{last.new_start},{last.new_len} "
                "is already used up; fix the counts in that header or remove the line "
                "(one diff holds one element)"
            )
        if (
            not hunks
            and line[:1] in _LINE_ORIGIN
            and line.strip()
            and not line.startswith(("--- ", "+++ "))
        ):
            raise PatchFormatError(
                f"line {index + 1}: hunk line {line[:40]!r} before any '@@ -l,n +l,n @@' "
                "header; add the hunk header"
            )
        index += 1
    if not hunks and diff.strip():
        raise PatchFormatError(
            "line 1: not a unified diff: no hunk header '@@ -l,n +l,n @@' found; "
            "produce the diff with experience.text.unified_diff"
        )
    return hunks


def _parse_hunk(raw: list[str], start: int) -> tuple[Hunk, int]:
    """Parse the hunk whose header is raw[start]; return it and the index after it."""
    header = raw[start]
    match = _HEADER.match(header)
    if match is None:
        raise PatchFormatError(
            f"line {start + 1}: malformed hunk header {header[:60]!r}; expected '@@ -l,n +l,n @@'"
        )
    old_start, new_start = int(match[1]), int(match[3])
    old_len = 1 if match[2] is None else int(match[2])
    new_len = 1 if match[4] is None else int(match[4])
    if (old_start == 0 and old_len) or (new_start == 0 and new_len):
        raise PatchFormatError(
            f"line {start + 1}: hunk header {header!r} starts a non-empty range at line 0; "
            "line numbers start at 1"
        )
    lines: list[tuple[str, str]] = []
    old_left, new_left = old_len, new_len
    index = start + 1
    while old_left or new_left:
        if index >= len(raw) or raw[index].startswith("@@"):
            raise PatchFormatError(
                f"line {start + 1}: hunk header {header!r} promises {old_len} old and "
                f"{new_len} new lines but the hunk ends after {old_len - old_left} old and "
                f"{new_len - new_left} new; fix the counts in the header"
            )
        line = raw[index]
        origin = line[:1] if line else " "
        if origin == "\\":
            _mark_no_newline(lines, index)
            index += 1
            continue
        if origin not in _LINE_ORIGIN:
            raise PatchFormatError(
                f"line {index + 1}: {line[:40]!r} inside the hunk at line {start + 1}; every "
                "hunk line starts with ' ' (context), '-' (removed), '+' (added) or '\\'"
            )
        uses_old, uses_new = origin != "+", origin != "-"
        if (uses_old and not old_left) or (uses_new and not new_left):
            raise PatchFormatError(
                f"line {index + 1}: {origin!r} line exceeds the counts of the hunk header "
                f"{header!r} at line {start + 1}; fix the counts in the header"
            )
        old_left -= uses_old
        new_left -= uses_new
        lines.append((origin, line[1:] + "\n"))
        index += 1
    if index < len(raw) and raw[index].startswith("\\"):
        _mark_no_newline(lines, index)
        index += 1
    text = "\n".join(raw[start:index]) + "\n"
    hunk = Hunk(old_start, old_len, new_start, new_len, tuple(lines), text, start + 1)
    return hunk, index


def _mark_no_newline(lines: list[tuple[str, str]], index: int) -> None:
    """Apply a '\\ No newline at end of file' marker to the previous hunk line."""
    if not lines or not lines[-1][1].endswith("\n"):
        raise PatchFormatError(
            f"line {index + 1}: '\\ No newline' marker without a line before it to apply to; "
            "remove the marker"
        )
    origin, text = lines[-1]
    lines[-1] = (origin, text[:-1])


def apply_patch(text: str, diff: str | None, fuzz: int = 3) -> PatchResult:
    """Apply a unified diff with GNU patch's fuzz factor; a failing hunk never raises."""
    hunks = parse_hunks(diff) if diff else []
    lines = split_lines(text)
    out: list[str] = []
    rejected: list[str] = []
    frozen = 0  # old lines before this index are settled: later hunks apply after it
    in_offset = offset_hunks = max_fuzz = 0
    for hunk in hunks:
        found = _locate(hunk, lines, frozen, hunk.anchor + in_offset, max(fuzz, 0))
        if found is None:
            rejected.append(hunk.text)
            continue
        position, skip_head, skip_tail, used_fuzz = found
        in_offset = position - skip_head - hunk.anchor
        offset_hunks += in_offset != 0
        max_fuzz = max(max_fuzz, used_fuzz)
        out.extend(lines[frozen:position])
        for origin, line in hunk.lines[skip_head : len(hunk.lines) - skip_tail]:
            if origin == "+":
                out.append(line)
                continue
            if origin == " ":
                out.append(lines[position])
            position += 1
        frozen = position
    out.extend(lines[frozen:])
    if rejected:
        outcome = PatchOutcome.REJECTED
    else:
        outcome = PatchOutcome.FUZZED if max_fuzz else PatchOutcome.APPLIED
    return PatchResult(
        text=_join(out),
        outcome=outcome,
        rejected_hunks=tuple(rejected),
        hunks=len(hunks),
        offset_hunks=offset_hunks,
        max_fuzz=max_fuzz,
    )


def _join(lines: list[str]) -> str:
    """Join lines; a line without newline that a fuzzed hunk left mid-text gets its newline back."""
    for index in range(len(lines) - 1):
        if not lines[index].endswith("\n"):
            lines[index] += "\n"
    return "".join(lines)


def _locate(
    hunk: Hunk, lines: list[str], frozen: int, guess: int, fuzz: int
) -> tuple[int, int, int, int] | None:
    """Where the hunk applies: (index of its kept old lines, context lines skipped at head and at
    tail, fuzz used), or None. Exact comparison first; with fuzz > 0 a last pass that ignores
    trailing whitespace counts as fuzzed."""
    old = hunk.old_lines
    if not old:  # a pure insertion: the empty pattern matches anywhere, take the guess
        return min(max(guess, frozen), len(lines)), 0, 0, 0
    prefix, suffix = hunk.prefix_context, hunk.suffix_context
    context = max(prefix, suffix)
    for loose in (False, True) if fuzz else (False,):
        haystack = [line.rstrip() for line in lines] if loose else lines
        for level in range(min(fuzz, context) + 1):
            head, tail = min(level, prefix), min(level, suffix)
            core = old[head : len(old) - tail]
            if loose:
                core = [line.rstrip() for line in core]
            found = _search(core, haystack, frozen, guess + head)
            if found is not None:
                return found, head, tail, max(level, 1) if loose else level
    return None


def _search(core: list[str], lines: list[str], frozen: int, guess: int) -> int | None:
    """First index >= frozen where `core` matches `lines`, searching outward from `guess`."""
    last = len(lines) - len(core)  # the highest index where core still fits
    if not core:
        return min(max(guess, frozen), len(lines))
    if last < frozen:
        return None
    nearest = max(0, guess - last, frozen - guess)  # closer distances fall outside [frozen, last]
    for distance in range(nearest, max(guess - frozen, last - guess) + 1):
        for position in (guess + distance, guess - distance) if distance else (guess,):
            if frozen <= position <= last and _matches(core, lines, position):
                return position
    return None


def _matches(core: list[str], lines: list[str], position: int) -> bool:
    """Whether `core` equals lines[position : position + len(core)]."""
    return lines[position] == core[0] and lines[position : position + len(core)] == core
