"""Element-wise text ops on whole tensors: diff (the gradient direction) and patch (the update)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from experience.tensor import SymbolicTensor, from_texts
from experience.text import PatchFormatError, PatchOutcome, apply_patch, unified_diff


def _same_shape(a: SymbolicTensor, b: SymbolicTensor, what: str) -> None:
    if tuple(a.shape) != tuple(b.shape):
        raise ValueError(f"{what}: shapes {list(a.shape)} and {list(b.shape)} differ; slice or stack to match")


def diff(current: SymbolicTensor, better: SymbolicTensor) -> SymbolicTensor:
    """Element-wise unified diffs turning `current` into `better`; None where they are equal."""
    _same_shape(current, better, "diff")
    diffs = [
        unified_diff(c or "", b or "", name=f"element{i}")
        for i, (c, b) in enumerate(zip(current.texts(), better.texts(), strict=True))
    ]
    return from_texts(diffs, tuple(current.shape))


@dataclass
class ElementPatch:
    """What happened to one element."""

    position: int
    outcome: PatchOutcome | None  # None: blocked by the caller's `accept` check
    diff: str = ""
    before: str | None = None
    after: str | None = None
    rejected_hunks: tuple[str, ...] = ()


@dataclass
class PatchStats:
    """Counts of one patch call: applied clean, applied with fuzz, rejected, skipped (no diff)."""

    applied: int = 0
    fuzzed: int = 0
    rejected: int = 0
    skipped: int = 0
    blocked: int = 0
    elements: list[ElementPatch] = field(default_factory=list)

    def add(self, other: PatchStats) -> None:
        """Fold another call's counts into this one."""
        self.applied += other.applied
        self.fuzzed += other.fuzzed
        self.rejected += other.rejected
        self.skipped += other.skipped
        self.blocked += other.blocked
        self.elements.extend(other.elements)

    def as_dict(self) -> dict[str, int]:
        """The counts as a JSON-ready dict."""
        return {
            "applied": self.applied,
            "fuzzed": self.fuzzed,
            "rejected": self.rejected,
            "skipped": self.skipped,
            "blocked": self.blocked,
        }


Accept = Callable[[int, str, str], bool]


def patch(target: SymbolicTensor, grad: SymbolicTensor, *, fuzz: int = 3, accept: Accept | None = None) -> PatchStats:
    """Apply each element's diff in `grad` to `target` in place (fuzzy, like GNU patch -F3).

    `accept(position, diff, new_text)` may veto an element (counted as blocked, left unchanged).
    """
    _same_shape(target, grad, "patch")
    stats = PatchStats()
    slots = target.slots()
    updates_slots, updates_texts = [], []
    for position, (text, d) in enumerate(zip(target.texts(), grad.texts(), strict=True)):
        if not d:
            stats.skipped += 1
            continue
        try:
            result = apply_patch(text or "", d, fuzz=fuzz)
        except PatchFormatError as error:  # nothing was written yet: the whole call changes nothing
            raise PatchFormatError(f"element {position} of the gradient: {error}") from error
        if accept is not None and not accept(position, d, result.text):
            stats.blocked += 1
            stats.elements.append(ElementPatch(position, None, d, text, text))
            continue
        if result.outcome is PatchOutcome.APPLIED:
            stats.applied += 1
        elif result.outcome is PatchOutcome.FUZZED:
            stats.fuzzed += 1
        else:
            stats.rejected += 1
        after = result.text or None
        stats.elements.append(ElementPatch(position, result.outcome, d, text, after, result.rejected_hunks))
        if result.text != (text or ""):
            updates_slots.append(int(slots[position]))
            updates_texts.append(result.text)
    if updates_slots:
        target.storage.write_many(updates_slots, updates_texts)
    return stats
