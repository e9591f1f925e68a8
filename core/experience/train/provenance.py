"""Which step and samples wrote each experience row, read from the run's applied patch records."""

from __future__ import annotations

from experience.train.run_dir import RunDir


def row_provenance(run: RunDir) -> tuple[dict[int, tuple[int, str | None]], dict[int, list[str]]]:
    """Per row: (step, sample) of its last applied patch, and every sample that shaped its current text."""
    last: dict[int, tuple[int, str | None]] = {}
    shaped: dict[int, list[str]] = {}
    for number in run.patch_steps():
        fresh: set[int] = set()
        for rec in run.read_patches(number):
            if rec.get("state") not in ("applied", "accepted"):
                continue
            row = int(rec["row"])
            last[row] = (int(rec["step"]), rec.get("sample"))
            names = [str(n) for n in rec.get("samples") or ([rec["sample"]] if rec.get("sample") else [])]
            if rec.get("action") in ("new", "evict") and row not in fresh:
                shaped[row] = []  # a row written afresh forgets who shaped its old text
                fresh.add(row)
            seen = shaped.setdefault(row, [])
            seen.extend(n for n in names if n not in seen)
    return last, shaped
