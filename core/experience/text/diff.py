"""Unified diffs between two texts: the symbolic gradient points from `current` to `better`."""

from __future__ import annotations

from difflib import SequenceMatcher

CONTEXT_LINES = 3
NO_NEWLINE_MARKER = "\\ No newline at end of file"

_Opcode = tuple[str, int, int, int, int]


def split_lines(text: str) -> list[str]:
    """Split `text` on '\\n' only, keeping line ends; a final line without '\\n' is kept as is."""
    if not text:
        return []
    parts = text.split("\n")
    last = parts.pop()
    lines = [part + "\n" for part in parts]
    if last:
        lines.append(last)
    return lines


def unified_diff(current: str, better: str, name: str = "element") -> str | None:
    """Unified diff turning `current` into `better` (current -> better); None when equal."""
    if current == better:
        return None
    if "\n" in name or "\r" in name:
        raise ValueError(f"diff name {name!r} contains a line break; pass a single-line name")
    old = split_lines(current)
    new = split_lines(better)
    out = [f"--- a/{name}\n", f"+++ b/{name}\n"]
    for group in _grouped_opcodes(old, new):
        i1, i2 = group[0][1], group[-1][2]
        j1, j2 = group[0][3], group[-1][4]
        out.append(f"@@ -{_format_range(i1, i2)} +{_format_range(j1, j2)} @@\n")
        for tag, a1, a2, b1, b2 in group:
            if tag == "equal":
                _emit(out, " ", old[a1:a2])
                continue
            _emit(out, "-", old[a1:a2])
            _emit(out, "+", new[b1:b2])
    return "".join(out)


def _emit(out: list[str], prefix: str, lines: list[str]) -> None:
    """Append `lines` with `prefix`, marking a line that has no final newline."""
    if not lines:
        return
    out.extend([prefix + line for line in lines])
    if not lines[-1].endswith("\n"):  # only a text's last line can lack its newline
        out[-1] += f"\n{NO_NEWLINE_MARKER}\n"


def _format_range(start: int, stop: int) -> str:
    """Hunk range as GNU diff writes it: 'l' for one line, 'l,n' otherwise (l is 0 when n is 0)."""
    length = stop - start
    if length == 1:
        return str(start + 1)
    return f"{start if length == 0 else start + 1},{length}"


def _opcodes(old: list[str], new: list[str]) -> list[_Opcode]:
    """Edit opcodes; the common head and tail are cut first so the matcher sees only the middle."""
    limit = min(len(old), len(new))
    head = 0
    while head < limit and old[head] == new[head]:
        head += 1
    tail = 0
    while tail < limit - head and old[-1 - tail] == new[-1 - tail]:
        tail += 1
    old_mid = old[head : len(old) - tail]
    new_mid = new[head : len(new) - tail]
    codes: list[_Opcode] = []
    if head:
        codes.append(("equal", 0, head, 0, head))
    if not old_mid:
        codes.append(("insert", head, head, head, head + len(new_mid)))
    elif not new_mid:
        codes.append(("delete", head, head + len(old_mid), head, head))
    elif len(old_mid) == 1 == len(new_mid):
        codes.append(("replace", head, head + 1, head, head + 1))
    else:
        matcher = SequenceMatcher(None, old_mid, new_mid, autojunk=False)
        for tag, a1, a2, b1, b2 in matcher.get_opcodes():
            codes.append((tag, a1 + head, a2 + head, b1 + head, b2 + head))
    if tail:
        codes.append(("equal", len(old) - tail, len(old), len(new) - tail, len(new)))
    return codes


def _grouped_opcodes(old: list[str], new: list[str]) -> list[list[_Opcode]]:
    """Opcodes grouped into hunks with CONTEXT_LINES of context (as difflib.get_grouped_opcodes)."""
    n = CONTEXT_LINES
    codes = _opcodes(old, new)
    if codes[0][0] == "equal":
        _, i1, i2, j1, j2 = codes[0]
        codes[0] = ("equal", max(i1, i2 - n), i2, max(j1, j2 - n), j2)
    if codes[-1][0] == "equal":
        _, i1, i2, j1, j2 = codes[-1]
        codes[-1] = ("equal", i1, min(i2, i1 + n), j1, min(j2, j1 + n))
    groups: list[list[_Opcode]] = []
    group: list[_Opcode] = []
    for tag, i1, i2, j1, j2 in codes:
        if tag == "equal" and i2 - i1 > 2 * n:
            group.append((tag, i1, i1 + n, j1, j1 + n))
            groups.append(group)
            group = []
            i1, j1 = max(i1, i2 - n), max(j1, j2 - n)
        group.append((tag, i1, i2, j1, j2))
    if group and not (len(group) == 1 and group[0][0] == "equal"):
        groups.append(group)
    return groups
