"""Review mode: list a run's patches, preview, accept or reject a staged one (records live in patches/).

A preview and an accept go through the same `proposal`: the text a preview shows is the text accept writes.
"""

from __future__ import annotations

import re
import time
from typing import Any

from experience.text import PatchOutcome, PatchResult, apply_patch
from experience.text.answer import clean_answer
from experience.train.run_dir import RunDir
from experience_daemon.errors import NotFound, PatchConflict
from experience_daemon.session import RunSession, column_index

FUZZ = 3
HUNK_HEADER = re.compile(r"^@@ -(\S+) \+(\S+) @@(.*)$")


def patch_info(record: dict[str, Any]) -> dict[str, Any]:
    """The wire form of a patch record."""
    return {
        "id": str(record.get("id")),
        "step": int(record.get("step", 0)),
        "row": int(record.get("row", 0)),
        "column": str(record.get("column")),
        "diff": str(record.get("diff", "")),
        "state": str(record.get("state")),
        "outcome": record.get("outcome"),
        "sample": record.get("sample"),
    }


def list_patches(run: RunDir, step: int | None = None, state: str | None = None) -> list[dict[str, Any]]:
    """Patches of one step (every step when `step` is None), optionally only those in `state`."""
    steps = run.patch_steps() if step is None else [step]
    found = [patch_info(r) for s in steps for r in run.read_patches(s)]
    return [p for p in found if state is None or p["state"] == state]


def _find(run: RunDir, patch_id: str) -> tuple[int, list[dict[str, Any]], int]:
    head = patch_id.split(":", 1)[0]
    if not head.isdigit():
        raise NotFound(
            f"{patch_id!r} is not a patch id (ids look like '<step>:<row>:<column>'; list them with experience/patches)"
        )
    step = int(head)
    records = run.read_patches(step)
    for index, record in enumerate(records):
        if record.get("id") == patch_id:
            return step, records, index
    raise NotFound(f"no patch {patch_id!r} in {run.path} (step {step} has {len(records)} patches)")


def _staged(record: dict[str, Any]) -> None:
    if record.get("state") != "staged":
        raise PatchConflict(
            f"patch {record.get('id')} is {record.get('state')}, not staged; only staged patches "
            "can be accepted or rejected",
            {"state": record.get("state")},
        )


def rebase(patch_id: str, row: int, base: str | None, current: str, diff: str) -> PatchResult:
    """Apply a staged diff to an entry; when the entry changed since staging, only a context-anchored re-base.

    A diff staged against an empty entry (or with a hunk without context) has no anchor in changed text:
    applying it would prepend. That, and a hunk that no longer applies, is a PatchConflict naming the row.
    """
    result = apply_patch(current, diff, fuzz=FUZZ)
    if result.outcome is PatchOutcome.REJECTED:
        raise PatchConflict(
            f"patch {patch_id} no longer applies to row {row} ({len(result.rejected_hunks)} of {result.hunks} "
            "hunks rejected): the entry changed since the step; edit it by hand or reject the patch",
            {"row": row, "rejectedHunks": list(result.rejected_hunks)},
        )
    if base is not None and current != base:
        proposal = apply_patch(base, diff, fuzz=FUZZ).text
        if current != proposal and (not base.strip() or any(not _anchored(h) for h in _hunks(diff))):
            raise PatchConflict(
                f"patch {patch_id} was staged for row {row} when it held different text; the row changed since "
                "and the patch has no context to re-base on (it would be pasted beside the new text). Edit the "
                "row by hand or reject the patch",
                {"row": row, "base": base, "current": current, "proposal": proposal},
            )
    return result


def _hunks(diff: str) -> list[list[str]]:
    hunks: list[list[str]] = []
    for line in diff.split("\n"):
        if line.startswith("@@"):
            hunks.append([])
        elif hunks and line[:1] in (" ", "-", "+"):
            hunks[-1].append(line)
    return hunks


def _anchored(hunk: list[str]) -> bool:
    """A hunk that names lines of the old text (context or removals), so it can be placed in changed text."""
    return any(line[:1] in (" ", "-") for line in hunk)


def proposal(session: RunSession, record: dict[str, Any], current: str) -> PatchResult:
    """What accepting a staged record writes over `current` (PatchConflict when accept would refuse it)."""
    patch_id, row = str(record.get("id")), int(record["row"])
    base = record.get("base")
    result = rebase(patch_id, row, base if isinstance(base, str) else None, current, str(record.get("diff", "")))
    if clean_answer(result.text) in session.val_targets():
        raise PatchConflict(
            f"leak guard: patch {patch_id} would write a validation target verbatim into the experience; reject it",
            {"leak": True},
        )
    return result


def reverse_diff(diff: str) -> str:
    """The unified diff that undoes `diff` (hunk headers swapped, '+' and '-' lines swapped; file headers dropped)."""
    out: list[str] = []
    for line in diff.split("\n"):
        header = HUNK_HEADER.match(line)
        if header:
            old, new, rest = header.group(1), header.group(2), header.group(3)
            out.append(f"@@ -{new} +{old} @@{rest}")
        elif out and line[:1] in ("+", "-"):
            out.append(("-" if line[0] == "+" else "+") + line[1:])
        elif out:
            out.append(line)
    return "\n".join(out)


def preview(session: RunSession, patch_id: str, side: str = "after") -> dict[str, Any]:
    """The entry as a patch leaves it: a staged one as accept would write it; `side` "before" undoes it instead."""
    with session.lock:
        _, records, index = _find(session.run, patch_id)
        record = records[index]
        slot = session.slot(int(record["row"]), column_index(str(record["column"])))
        session.sync([slot])
        current, version = session.read(slot)
        diff = str(record.get("diff", ""))
        conflict: str | None = None
        if side == "before":
            result = apply_patch(current, reverse_diff(diff), fuzz=FUZZ)
        elif record.get("state") == "staged":
            try:
                result = proposal(session, record, current)
            except PatchConflict as error:  # accept would write nothing: the preview shows the entry unchanged
                conflict = str(error)
                failed = apply_patch(current, diff, fuzz=FUZZ)
                result = PatchResult(current, PatchOutcome.REJECTED, failed.rejected_hunks, failed.hunks, 0, 0)
        else:
            result = apply_patch(current, diff, fuzz=FUZZ)
        return {
            "patch": patch_info(record),
            "text": result.text,
            "version": version,
            "outcome": result.outcome.value,
            "rejectedHunks": list(result.rejected_hunks),
            "conflict": conflict,
        }


def accept(session: RunSession, patch_id: str) -> tuple[dict[str, Any], int]:
    """Apply a staged patch to its entry (fuzzy, like patch -F3; re-based or refused if the entry changed)."""
    with session.lock:
        step, records, index = _find(session.run, patch_id)
        record = records[index]
        _staged(record)
        slot = session.slot(int(record["row"]), column_index(str(record["column"])))
        session.sync([slot])
        current, _ = session.read(slot)
        result = proposal(session, record, current)
        record.update(state="accepted", outcome=result.outcome.value, decided=time.time())
        session.commit_entry(slot, result.text, "review", patches=(step, records))
        return patch_info(record), slot


def reject(session: RunSession, patch_id: str) -> dict[str, Any]:
    """Mark a staged patch rejected (the entry is left as it is)."""
    with session.lock:
        step, records, index = _find(session.run, patch_id)
        record = records[index]
        _staged(record)
        record.update(state="rejected", decided=time.time())
        slot = session.slot(int(record["row"]), column_index(str(record["column"])))
        session.commit_entry(slot, session.read(slot)[0], "review", patches=(step, records))
        return patch_info(record)
