"""Rollback: restore a run's experience as it was after a step, as one more journal record."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import torch

from experience.tensor import SymbolicTensor
from experience.train.journal import Change, active_records, point_after_step, values_at
from experience.train.run_dir import RunDir, RunError, RunState


def rollback(run: RunDir, experience: SymbolicTensor, to_step: int) -> dict[str, Any]:
    """Restore entries and coefficients byte for byte as after step `to_step` (hold the run's lock).

    The undone records stay in the journal and their patch files move to patches/rolled-back/; the run's
    position (step, epoch, batch) becomes the one after `to_step`, so resuming trains from there.
    """
    current_step = run.state.step
    if not 0 <= to_step <= current_step:
        raise RunError(f"cannot roll back {run.path} to step {to_step}: it has steps 0..{current_step}")
    records = run.journal.records()
    point = point_after_step(records, to_step)
    if point is None and to_step != 0:
        raise RunError(
            f"{run.path} has no journal record of step {to_step} (steps made before journals existed "
            "cannot be restored); pick a later step"
        )
    seq = int(point["seq"]) if point is not None else 0
    texts = experience.texts()
    coeffs = [float(c) for c in experience.coeff.detach().reshape(-1).tolist()]
    entries = values_at(records, seq, "entries", dict(enumerate(texts)))
    coeff = values_at(records, seq, "coeff", dict(enumerate(coeffs)))
    undone_records = [r for r in active_records(records) if int(r["seq"]) > seq and r.get("kind") != "rollback"]
    undone = [int(r["seq"]) for r in undone_records]
    undone_steps = sorted({int(r["state"]["step"]) for r in undone_records if r["kind"] == "step"})
    if point is not None:
        state = RunState(**{k: v for k, v in point["state"].items() if k != "seq"})
    else:
        state = RunState()
    state.epochs = run.state.epochs
    next_seq = (run.journal.seqs() or [0])[-1] + 1
    moves = [
        (f"patches/{s:06d}.json", f"patches/rolled-back/{s:06d}.r{next_seq:06d}.json")
        for s in run.patch_steps()
        if s > to_step
    ]
    note = {"split": "rollback", "step": to_step, "from_step": current_step, "undone_steps": undone_steps}
    change = Change(
        "rollback",
        asdict(state),
        entries=[(slot, texts[slot], text) for slot, text in sorted(entries.items())],
        coeff=[(pos, coeffs[pos], float(value)) for pos, value in sorted(coeff.items())],
        metrics=[note | {"epoch": state.epoch}],
        moves=moves,
        info={"undone": undone, "to_step": to_step, "from_step": current_step},
    )
    run.commit(change)
    experience.storage.set_memory({slot: text for slot, text in entries.items()})
    with torch.no_grad():
        flat = experience.coeff.data.view(-1)
        for pos, value in coeff.items():
            flat[pos] = float(value)
    return {"step": run.state.step, "epoch": run.state.epoch, "restored": len(entries), "undone": undone_steps}
