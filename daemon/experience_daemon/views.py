"""Read-only views of an open run: its summary, its status, its entries (plain JSON-ready dicts)."""

from __future__ import annotations

from typing import Any

from experience.experience_tensor import Experience
from experience_daemon import review
from experience_daemon.session import RunSession


def summary(session: RunSession) -> dict[str, Any]:
    """Shape, rows filled, step, backend, last metrics."""
    run, experience = session.run, session.experience
    metrics = run.metrics()
    return {
        "runDir": str(run.path),
        "shape": list(experience.shape),
        "rows": int(experience.shape[0]),
        "filled": len(Experience.filled_rows(experience)),
        "step": run.state.step,
        "epoch": run.state.epoch,
        "backend": run.config.backend,
        "model": run.config.model,
        "review": run.config.review,
        "lastMetrics": metrics[-1] if metrics else None,
    }


def status(session: RunSession) -> dict[str, Any]:
    """Job, step, epoch, lock holder (another process) and the number of staged patches."""
    run = session.run
    metrics = run.metrics()
    return {
        "runDir": session.key,
        "job": session.job.kind if session.job else None,
        "step": run.state.step,
        "epoch": run.state.epoch,
        "epochs": run.state.epochs,
        "review": run.config.review,
        "lockedBy": session.locked_elsewhere(),
        "staged": len(review.list_patches(run, state="staged")),
        "lastMetrics": metrics[-1] if metrics else None,
    }


def entries(session: RunSession) -> list[dict[str, Any]]:
    """Every experience row: keywords, file paths, and the step and sample that last wrote it."""
    run, experience = session.run, session.experience
    provenance: dict[int, tuple[int, str | None]] = {}
    for number in run.patch_steps():
        for rec in run.read_patches(number):
            if rec.get("state") in ("applied", "accepted"):
                provenance[int(rec["row"])] = (int(rec["step"]), rec.get("sample"))
    out = []
    for row, (query, key, value) in enumerate(Experience.rows(experience)):
        step, sample = provenance.get(row, (None, None))
        out.append(
            {
                "row": row,
                "query": [w for w in (query or "").splitlines() if w.strip()],
                "queryPath": str(experience.path(row, 0)),
                "keyPath": str(experience.path(row, 1)),
                "valuePath": str(experience.path(row, 2)),
                "step": step,
                "source": sample,
                "filled": bool(key or value),
            }
        )
    return out
