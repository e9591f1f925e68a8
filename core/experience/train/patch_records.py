"""The patch records a step writes (patches/<step>.json): one per changed or staged entry, and the coefficients."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

from experience.function.route import Route
from experience.storage.layout import EXPERIENCE_COLUMNS
from experience.tasks.dataset import Pair
from experience.tensor import SymbolicTensor
from experience.textwise import PatchStats


def coeff_changes(before: torch.Tensor, after: torch.Tensor) -> list[tuple[int, float, float]]:
    """(flat position, before, after) of every coefficient that changed."""
    old, new = before.reshape(-1).tolist(), after.reshape(-1).tolist()
    return [(i, float(a), float(b)) for i, (a, b) in enumerate(zip(old, new, strict=True)) if a != b]


@dataclass(frozen=True)
class StepRecords:
    """What every record of one step shares: the step it makes, the batch, each row's route, the run's rules."""

    step: int
    batch: Sequence[Pair]
    routes: dict[int, Route]
    grad: str
    policy: str

    def record(self, position: int, diff: str, state: str, outcome: str | None) -> dict[str, Any]:
        """The record of one entry's patch: its row and column, the samples that asked for it, how it went."""
        row, column = divmod(position, 3)
        route = self.routes.get(row)
        samples = [self.batch[i].name for i in route.samples] if route is not None else []
        found: dict[str, Any] = {
            "id": f"{self.step}:{row}:{column}",
            "step": self.step,
            "row": row,
            "column": EXPERIENCE_COLUMNS[column],
            "diff": diff,
            "state": state,
            "outcome": outcome,
            "sample": samples[0] if samples else None,
            "samples": samples,
            "grad": self.grad,
            "action": route.action if route is not None else None,
            "policy": self.policy,
        }
        if route is not None and route.evicted_trust is not None:
            found["evicted_trust"] = route.evicted_trust
        return found

    def applied(self, stats: PatchStats, state: str = "applied") -> list[dict[str, Any]]:
        """One record per element the optimizer patched (or blocked), with its rejected hunks."""
        out = []
        for element in stats.elements:
            outcome = element.outcome.value if element.outcome is not None else "blocked"
            rec = self.record(element.position, element.diff, state if element.outcome else "blocked", outcome)
            rec["rejected_hunks"] = list(element.rejected_hunks)
            out.append(rec)
        return out

    def staged(self, experience: SymbolicTensor) -> tuple[PatchStats, list[dict[str, Any]]]:
        """Review mode: one "staged" record per entry with a gradient (and the text it applies to); nothing written."""
        stats = PatchStats()
        sgrad = experience.sgrad
        diffs = sgrad.texts() if sgrad is not None else []
        texts = experience.texts()
        records = [
            self.record(position, d, "staged", None) | {"base": texts[position] or ""}
            for position, d in enumerate(diffs)
            if d
        ]
        stats.skipped = len(diffs) - len(records)
        return stats, records
