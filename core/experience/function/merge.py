"""merge: fold the texts along one dimension into one text per remaining position."""

from __future__ import annotations

import difflib

import numpy as np
import torch

from experience.function.base import Context, Function, Grad, object_array
from experience.storage.store import Storage
from experience.tensor import SymbolicTensor
from experience.text import apply_patch, merge_texts, unified_diff


def _part_owners(parts: list[str | None], merged: str | None) -> list[int | None]:
    """For each line of `merged`, the index of the first part it came from (None for separators)."""
    lines = (merged or "").splitlines(keepends=True)
    owners: list[int | None] = [None] * len(lines)
    cursor = 0
    for k, part in enumerate(parts):
        part_lines = (part or "").splitlines(keepends=True)
        if not part_lines:
            continue
        stripped = [p.rstrip() for p in part_lines]
        for start in range(cursor, len(lines) - len(part_lines) + 1):
            if [x.rstrip() for x in lines[start : start + len(part_lines)]] == stripped:
                owners[start : start + len(part_lines)] = [k] * len(part_lines)
                cursor = start + len(part_lines)
                break
    return owners


def split_merged_grad(parts: list[str | None], merged: str | None, diff: str) -> list[str | None]:
    """Route a diff of the merged text back to the parts whose lines it changes."""
    better = apply_patch(merged or "", diff).text
    old = (merged or "").splitlines(keepends=True)
    new = better.splitlines(keepends=True)
    owners = _part_owners(parts, merged)
    first = next((k for k, p in enumerate(parts) if p), 0)

    def owner_near(i: int) -> int:
        for j in (*range(min(i, len(old) - 1), -1, -1), *range(i, len(old))):
            if 0 <= j < len(old) and owners[j] is not None:
                return int(owners[j])  # type: ignore[arg-type]
        return first

    out_lines: list[list[str]] = [[] for _ in parts]
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            for i, j in zip(range(i1, i2), range(j1, j2), strict=True):
                if owners[i] is not None:
                    out_lines[int(owners[i])].append(new[j])  # type: ignore[arg-type]
        elif j2 > j1:
            out_lines[owner_near(i1 if i2 > i1 else i1 - 1)].extend(new[j1:j2])
    grads: list[str | None] = []
    for k, part in enumerate(parts):
        identical = next((j for j in range(k) if (parts[j] or "").rstrip() == (part or "").rstrip()), None)
        target = "".join(out_lines[identical if identical is not None and part else k])
        grads.append(unified_diff(part or "", target) if (part or target) else None)
    return grads


class Merge(Function):
    """Merge texts along `dim` (distinct texts, in order); coefficients add up as in torch.sum."""

    @staticmethod
    def forward(ctx: Context, t: SymbolicTensor, dim: int = 0) -> SymbolicTensor:
        """One merged text per position of the other dimensions."""
        dim = dim % t.dim()
        texts = np.moveaxis(object_array(t.texts(), tuple(t.shape)), dim, -1)
        lead = texts.shape[:-1]
        rows = texts.reshape(-1, texts.shape[-1])
        parts = [list(r) for r in rows]
        merged = [merge_texts(p) for p in parts]
        ctx.save(dim=dim, parts=parts, merged=merged, lead=lead)
        coeff = torch.sum(t.coeff, dim=dim)
        return SymbolicTensor(coeff, Storage(merged, tuple(coeff.shape)))

    @staticmethod
    def backward(ctx: Context, grad: Grad) -> tuple[Grad]:
        """Expand the numeric grad along `dim`; route each diff's hunks to the parts they touch."""
        dim, parts, merged = ctx.saved["dim"], ctx.saved["parts"], ctx.saved["merged"]
        shape = tuple(ctx.inputs[0].shape)
        coeff = None if grad.coeff is None else grad.coeff.unsqueeze(dim).expand(shape).clone()
        if grad.diffs is None:
            return (Grad(coeff, None),)
        rows = []
        for p, m, d in zip(parts, merged, grad.diffs.reshape(-1), strict=True):
            rows.append(split_merged_grad(p, m, d) if d else [None] * len(p))
        moved = object_array([x for r in rows for x in r], (*ctx.saved["lead"], shape[dim]))
        return (Grad(coeff, np.moveaxis(moved, -1, dim)),)


merge = Merge.apply
