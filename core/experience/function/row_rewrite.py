"""The seed's LLM learning rule: per experience row, the LLM rewrites its key and value from the samples it served.

The forward index transposed (`transpose_picks`) groups samples by the rows they retrieved; `rewrite_rows`
then issues two calls per row, one per domain, all in one kernel batch. The per-row call is the aggregator:
every sample routed to a row is in its prompt and they shape one edit. A reply that is empty, echoes the
prompt or copies the other domain's text is replaced by a deterministic fallback, and the fallback is recorded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from experience.kernel import Kernel, KernelTask
from experience.prompts import load_prompt, render
from experience.text import unified_diff
from experience.text.answer import blocks, clean_answer, trim_blocks

EMPTY = "(empty)"
DIFF_LINE = re.compile(r"(--- a/|\+\+\+ b/|@@ -)")  # a reply quoting a diff of the prompt
FENCED = re.compile(r"^[ \t]*```[^\n]*\n(.*?)^[ \t]*```", re.S | re.M)
KEY_PROMPTS = ("rewrite_key_system", "rewrite_key_user", "rewrite_key_cold_user", "rewrite_sample")
VALUE_PROMPTS = ("rewrite_value_system", "rewrite_value_user", "rewrite_value_cold_user", "rewrite_value_shot")


@dataclass(frozen=True)
class SampleFeedback:
    """One sample routed to a row: its input, the model's output, the expected output and the output diff."""

    name: str | None
    source: str
    output: str
    expected: str
    diff: str  # unified diff output -> expected

    @classmethod
    def of(cls, name: str | None, source: str, output: str | None, expected: str) -> SampleFeedback:
        """Feedback for one sample, its diff computed (output -> expected)."""
        return cls(name, source, output or "", expected, unified_diff(output or "", expected) or "")


@dataclass(frozen=True)
class RowRewrite:
    """The LLM's new text for one row and the calls it took."""

    row: int
    key: str
    value: str
    samples: tuple[str | None, ...]  # names of every sample that shaped it
    fallback: tuple[str, ...] = ()  # "key" / "value": that reply was unusable and the fallback was kept
    replies: tuple[str, str] = ("", "")  # raw (key, value) replies of the two calls


def transpose_picks(picks: list[list[int]], live: list[bool]) -> dict[int, list[int]]:
    """The forward index transposed: row -> indices of the live samples that retrieved it, in sample order."""
    if len(picks) != len(live):
        raise ValueError(f"picks and live differ in length: {len(picks)} != {len(live)}")
    routed: dict[int, list[int]] = {}
    for i, (rows, want) in enumerate(zip(picks, live, strict=True)):
        if not want:
            continue
        for row in dict.fromkeys(rows):  # a row picked twice by one sample counts once
            routed.setdefault(int(row), []).append(i)
    return dict(sorted(routed.items()))


def _show(text: str | None) -> str:
    """A text as a prompt shows it: without its final newline, '(empty)' when blank."""
    text = (text or "").rstrip("\n")
    return text if text.strip() else EMPTY


def _present(text: str | None) -> str | None:
    """The text, or None when it is blank."""
    return text if text and text.strip() else None


def _budget(max_tokens: int, texts: list[str | None]) -> int:
    """Token limit for a reply: 64 plus one per character of the longest text it rewrites, at most `max_tokens`."""
    return min(max_tokens, 64 + max((len(t or "") for t in texts), default=0))


def key_task(task_prompt: str, key: str | None, samples: list[SampleFeedback], max_tokens: int) -> KernelTask:
    """The KEY call: the current key (or none) and every routed sample; asks for one better source-domain key."""
    block = "\n\n".join(
        render(
            "rewrite_sample",
            number=str(n),
            source=_show(s.source),
            output=_show(s.output),
            expected=_show(s.expected),
            diff=_show(s.diff),
        )
        for n, s in enumerate(samples, 1)
    )
    if key is None:
        user = render("rewrite_key_cold_user", samples=block)
    else:
        user = render("rewrite_key_user", key=_show(key), samples=block)
    limit = _budget(max_tokens, [key, *(s.source for s in samples)])
    return KernelTask.chat(
        user, system=render("rewrite_key_system", task_prompt=task_prompt), max_tokens=limit, tag="rewrite-key"
    )


def value_task(
    task_prompt: str,
    key: str | None,
    value: str | None,
    samples: list[SampleFeedback],
    max_tokens: int,
    previous: tuple[str, str] | None = None,
) -> KernelTask:
    """The VALUE call: samples as (source + output + diff, expected) turns, then the key to translate.

    `previous` is the row's old (key, value) when the key was rewritten: shown as one more worked turn, last.
    """
    turns = [(s.source, s.output, s.diff, s.expected) for s in samples]
    if previous is not None:
        turns.append((previous[0], previous[1], "", previous[1]))
    shots = tuple(
        (render("rewrite_value_shot", source=_show(src), output=_show(out), diff=_show(diff)), _show(right))
        for src, out, diff, right in turns
    )
    if key is None:  # cold start: translate the first routed source, whose expected output is shown above
        user = render("rewrite_value_cold_user", source=_show(samples[0].source))
    else:
        user = render("rewrite_value_user", key=_show(key), value=_show(value))
    limit = _budget(max_tokens, [value, *(previous or ()), *(s.expected for s in samples)])
    return KernelTask.chat(
        user,
        system=render("rewrite_value_system", task_prompt=task_prompt),
        shots=shots,
        max_tokens=limit,
        tag="rewrite-value",
    )


@cache
def _frame(names: tuple[str, ...]) -> tuple[re.Pattern[str], ...]:
    """Echo detector: the templates' lines of fixed text, or their 'Label:' up to the first colon (placeholders: .*)."""
    patterns: list[re.Pattern[str]] = []
    for name in names:
        template = load_prompt(name)
        for line in template.template.split("\n"):
            line = line.strip()
            label = line[: line.index(":") + 1] if ":" in line else None
            literal = template.pattern.split(label or line)[::5]  # literal, 4 groups, literal, ...
            if not "".join(literal).strip():
                continue  # a line that is only a placeholder: its text is data, not frame
            patterns.append(re.compile(".*".join(re.escape(p) for p in literal) + ("" if label else "$")))
    return tuple(patterns)


def extract(reply: str) -> str:
    """The answer inside a reply: its first fenced block if it has one, else the reply less a 'Here is...:' line."""
    reply = reply.replace("\r\n", "\n")
    fenced = FENCED.search(reply)
    text = clean_answer(fenced.group(1) if fenced and fenced.group(1).strip() else reply)
    lines = text.split("\n")
    if len(lines) > 2 and lines[0].endswith(":") and not lines[1].strip():  # a preamble line, then a blank
        text = clean_answer("\n".join(lines[2:]))
    return text


def usable(
    reply: str,
    frame: tuple[re.Pattern[str], ...],
    task_prompt: str,
    like: list[str | None],
    other: list[str | None],
) -> str | None:
    """The answer cut where it starts echoing the prompt and to the shape of `like`; None when nothing usable is left.

    Unusable: blank, only an echo of the prompt's frame, or a copy of `other` (the other domain's texts).
    """
    echo = {line.strip() for line in task_prompt.split("\n") if line.strip()} | {EMPTY}
    kept: list[str] = []
    for line in extract(reply).split("\n"):
        if line.strip() in echo or DIFF_LINE.match(line) or any(p.match(line.strip()) for p in frame):
            break
        kept.append(line)
    shaped = [t for t in like if t and t.strip()]
    keep = max((len(blocks(t)) for t in shaped), default=1)
    most = 2 * max((len(t.rstrip("\n").split("\n")) for t in shaped), default=0) or None
    text = trim_blocks("\n".join(kept), keep, most)
    if not text.strip() or text.strip() in {t.strip() for t in other if t and t.strip()}:
        return None
    return text


def rewrite_rows(
    kernel: Kernel,
    task_prompt: str,
    rows: dict[int, tuple[str | None, str | None]],
    feedback: dict[int, list[SampleFeedback]],
    *,
    max_tokens: int = 384,
    chain: bool = False,
) -> dict[int, RowRewrite]:
    """Rewrite the key and the value of every row with feedback: two LLM calls per row, all in one batch.

    With `chain`, the key calls run first (one batch) and each value call translates its row's NEW key (a
    second batch), so key and value stay a consistent pair; a value that falls back then reverts the key too.
    """
    todo = [row for row, samples in feedback.items() if samples]
    missing = [row for row in todo if row not in rows]
    if missing:
        raise ValueError(f"rows {missing} have feedback but no current (key, value); pass (None, None) for empty")
    if not todo:
        return {}
    current = {row: (_present(rows[row][0]), _present(rows[row][1])) for row in todo}
    key_tasks = [key_task(task_prompt, current[row][0], feedback[row], max_tokens) for row in todo]
    if chain:
        key_replies = [c.text for c in kernel.run(key_tasks)]
        keys = _new_keys(task_prompt, todo, current, feedback, key_replies)
        value_tasks = [_chained_value_task(task_prompt, keys[r][0], current[r], feedback[r], max_tokens) for r in todo]
        value_replies = [c.text for c in kernel.run(value_tasks)]
    else:
        value_tasks = [value_task(task_prompt, current[r][0], current[r][1], feedback[r], max_tokens) for r in todo]
        both = [c.text for c in kernel.run([t for pair in zip(key_tasks, value_tasks, strict=True) for t in pair])]
        key_replies, value_replies = both[0::2], both[1::2]
        keys = _new_keys(task_prompt, todo, current, feedback, key_replies)
    result: dict[int, RowRewrite] = {}
    for row, key_reply, value_reply in zip(todo, key_replies, value_replies, strict=True):
        samples, (key, value) = feedback[row], current[row]
        translated = keys[row][0] if chain else key if key is not None else samples[0].source
        sources, expected = [s.source for s in samples], [s.expected for s in samples]
        new_value = usable(value_reply, _frame(VALUE_PROMPTS), task_prompt, [value, *expected], [translated, *sources])
        new_key, key_fell_back = keys[row]
        if chain and new_value is None:  # keep the pair consistent: the old key with the old value
            new_key, key_fell_back = key if key is not None else samples[0].source, True
        fallback = tuple(name for name, fell in (("key", key_fell_back), ("value", new_value is None)) if fell)
        result[row] = RowRewrite(
            row=row,
            key=new_key,
            value=new_value if new_value is not None else value if value is not None else samples[0].expected,
            samples=tuple(s.name for s in samples),
            fallback=fallback,
            replies=(key_reply, value_reply),
        )
    return result


def _chained_value_task(
    task_prompt: str,
    new_key: str,
    current: tuple[str | None, str | None],
    samples: list[SampleFeedback],
    max_tokens: int,
) -> KernelTask:
    """The VALUE call of a chained rewrite: a changed key starts from no value, the old pair shown as a worked turn."""
    key, value = current
    if key is None or new_key.strip() == key.strip():
        return value_task(task_prompt, new_key, value, samples, max_tokens)
    previous = (key, value) if value is not None else None
    return value_task(task_prompt, new_key, None, samples, max_tokens, previous)


def _new_keys(
    task_prompt: str,
    todo: list[int],
    current: dict[int, tuple[str | None, str | None]],
    feedback: dict[int, list[SampleFeedback]],
    replies: list[str],
) -> dict[int, tuple[str, bool]]:
    """Row -> (its new key, whether that is the fallback): the usable reply, else the current key or first source."""
    keys: dict[int, tuple[str, bool]] = {}
    for row, reply in zip(todo, replies, strict=True):
        (key, value), samples = current[row], feedback[row]
        like, other = [key, *(s.source for s in samples)], [value, *(s.expected for s in samples)]
        new = usable(reply, _frame(KEY_PROMPTS), task_prompt, like, other)
        keys[row] = (new, False) if new is not None else (key if key is not None else samples[0].source, True)
    return keys
