"""Review mode: list a run's patches, accept or reject a staged one (records live in patches/)."""

from __future__ import annotations

import time
from typing import Any

from experience.text import PatchOutcome, apply_patch
from experience.text.answer import clean_answer
from experience.train.run_dir import RunDir
from experience_daemon.errors import NotFound, PatchConflict
from experience_daemon.session import RunSession, column_index

FUZZ = 3


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


def accept(session: RunSession, patch_id: str) -> tuple[dict[str, Any], int]:
    """Apply a staged patch to its entry (fuzzy, like patch -F3); returns the record and slot."""
    with session.lock:
        step, records, index = _find(session.run, patch_id)
        record = records[index]
        _staged(record)
        slot = session.slot(int(record["row"]), column_index(str(record["column"])))
        session.sync([slot])
        current, _ = session.read(slot)
        result = apply_patch(current, str(record.get("diff", "")), fuzz=FUZZ)
        if result.outcome is PatchOutcome.REJECTED:
            raise PatchConflict(
                f"patch {patch_id} no longer applies to its entry ({len(result.rejected_hunks)} "
                f"of {result.hunks} hunks rejected): the entry changed since the step; edit it "
                "by hand or reject the patch",
                {"rejectedHunks": list(result.rejected_hunks)},
            )
        if clean_answer(result.text) in session.val_targets():
            raise PatchConflict(
                f"leak guard: patch {patch_id} would write a validation target verbatim into the experience; reject it",
                {"leak": True},
            )
        session.set_text(slot, result.text)
        record.update(state="accepted", outcome=result.outcome.value, decided=time.time())
        session.run.write_patches(step, records)
        return patch_info(record), slot


def reject(session: RunSession, patch_id: str) -> dict[str, Any]:
    """Mark a staged patch rejected (the entry is left as it is)."""
    with session.lock:
        step, records, index = _find(session.run, patch_id)
        record = records[index]
        _staged(record)
        record.update(state="rejected", decided=time.time())
        session.run.write_patches(step, records)
        return patch_info(record)
