"""Read-only views of an open run: its summary, its status, its entries (plain JSON-ready dicts)."""

from __future__ import annotations

from typing import Any

from experience.experience_tensor import Experience
from experience.train.jsonsafe import finite_record
from experience.train.provenance import row_provenance
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
        "grad": run.config.grad,
        "capacity": run.config.capacity,
        "query": run.config.query,
        "retriever": run.config.retriever,
        "grammar": run.config.grammar,
        "lastMetrics": finite_record(metrics[-1]) if metrics else None,
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
        "lastMetrics": finite_record(metrics[-1]) if metrics else None,
    }


def entries(session: RunSession) -> list[dict[str, Any]]:
    """Every experience row: keywords, file paths, and the step and sample that last wrote it."""
    run, experience = session.run, session.experience
    provenance, shaped = row_provenance(run)
    trust = experience.coeff.detach()[:, 2].tolist()
    out = []
    for row, (query, key, value) in enumerate(Experience.rows(experience)):
        step, sample = provenance.get(row, (None, None))
        query_path = experience.path(row, 0)
        out.append(
            {
                "row": row,
                "query": [w for w in (query or "").splitlines() if w.strip()],
                "queryPath": str(query_path),
                "keyPath": str(experience.path(row, 1)),
                "valuePath": str(experience.path(row, 2)),
                "step": step,
                "source": sample,
                "filled": bool(key or value),
                "samples": shaped.get(row, []),
                "trust": float(trust[row]),
                "missing": query_path is not None and not query_path.parent.is_dir(),  # a deleted row folder
            }
        )
    return out


