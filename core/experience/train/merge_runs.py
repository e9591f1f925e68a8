"""Merge runs of one task into a new run: identical rows once, a policy for rows on the same input, capacity kept.

Rows "cover the same input" when their keys (the source text) are equal up to whitespace. Policies for
such a group: `both` keeps every distinct row, `trust` keeps the row with the highest coefficient (the
learned per-row loss signal: StSGD lowers a row whose samples had high loss), `llm` asks the LLM to
combine the values into one (as the per-row aggregator does; an empty answer falls back to `trust`).
When more rows remain than the output holds, the most trusted (then the most recently written) are kept.
The merged run is one journal commit whose patch records name the run, row and step each row came from.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from experience.kernel import Kernel, KernelTask
from experience.prompts import render
from experience.storage.layout import EXPERIENCE_COLUMNS
from experience.text.answer import clean_answer
from experience.train.journal import Change
from experience.train.provenance import row_provenance
from experience.train.run_dir import RunConfig, RunDir, RunError

POLICIES = ("both", "trust", "llm")


@dataclass
class Candidate:
    """A filled row of one input run, with where it came from."""

    run: str
    row: int
    step: int | None
    query: str
    key: str
    value: str
    trust: float
    samples: list[str] = field(default_factory=list)
    origins: list[dict[str, Any]] = field(default_factory=list)

    def origin(self) -> dict[str, Any]:
        """{run, row, step} of this candidate."""
        return {"run": self.run, "row": self.row, "step": self.step}


@dataclass(frozen=True)
class MergeReport:
    """What the merge did: rows written, identical rows folded, same-input groups resolved, rows dropped."""

    out: str
    rows: int
    capacity: int
    identical: int
    conflicts: int
    dropped: int
    policy: str
    llm_fallbacks: int = 0

    def as_dict(self) -> dict[str, Any]:
        """JSON form."""
        return asdict(self)


def _normal(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def candidates(run: RunDir) -> list[Candidate]:
    """Every filled row of a run, with its trust, last step and the samples that shaped it (from patch records)."""
    tensor = run.load_experience()
    trust = tensor.coeff.detach()[:, 2].tolist()
    last, shaped = row_provenance(run)
    out = []
    texts = tensor.texts()
    for row in range(tensor.shape[0]):
        query, key, value = (texts[3 * row + c] or "" for c in range(3))
        if key.strip() or value.strip():
            name = run.path.name
            step = last[row][0] if row in last else None
            cand = Candidate(name, row, step, query, key, value, float(trust[row]))
            cand.samples = [f"{name}/{s}" for s in shaped.get(row, [])]
            cand.origins = [cand.origin()]
            out.append(cand)
    return out


def check_same_task(runs: Sequence[RunDir]) -> RunConfig:
    """The first run's config, after checking every run translates the same kind of file with the same prompt."""
    first = runs[0].config
    for run in runs[1:]:
        cfg = run.config
        for name in ("source_ext", "target_ext", "task_prompt"):
            if getattr(cfg, name) != getattr(first, name):
                raise RunError(
                    f"cannot merge {run.path} into {runs[0].path}: their {name} differ "
                    f"({getattr(cfg, name)!r} vs {getattr(first, name)!r}); merge runs of one task only"
                )
    return first


def combine(kernel: Kernel, config: RunConfig, group: list[Candidate]) -> str:
    """One value for a group of rows on the same input, written by the LLM ('' when it answered nothing)."""
    listing = "\n\n".join(f"Translation {i + 1}:\n{c.value.rstrip()}" for i, c in enumerate(group))
    task = KernelTask.chat(
        render("merge_rows_user", source=group[0].key.rstrip(), translations=listing),
        system=render("merge_rows_system", task_prompt=config.task_prompt),
        max_tokens=min(config.max_tokens, 32 + 2 * max(len(c.value) for c in group)),
        tag="merge",
    )
    return clean_answer(kernel.run([task])[0].text)


def resolve(
    pool: list[Candidate], policy: str, kernel: Kernel | None, config: RunConfig
) -> tuple[list[Candidate], int, int, int]:
    """(rows kept, identical folded, same-input groups, LLM fallbacks) under a policy."""
    kept: dict[tuple[str, str], Candidate] = {}
    for cand in pool:  # identical rows once: provenance and samples joined, the highest trust kept
        same = kept.get((_normal(cand.key), _normal(cand.value)))
        if same is None:
            kept[(_normal(cand.key), _normal(cand.value))] = replace(cand, origins=list(cand.origins))
            continue
        same.origins += cand.origins
        same.samples += [s for s in cand.samples if s not in same.samples]
        same.trust = max(same.trust, cand.trust)
    identical = len(pool) - len(kept)
    groups: dict[str, list[Candidate]] = {}
    for cand in kept.values():
        groups.setdefault(_normal(cand.key), []).append(cand)
    out, conflicts, fallbacks = [], 0, 0
    for group in groups.values():
        if len(group) == 1 or policy == "both":
            out += group
            continue
        conflicts += 1
        best = max(group, key=lambda c: (c.trust, c.step or 0))
        if policy == "llm" and kernel is not None:
            value = combine(kernel, config, group)
            if value.strip():
                best = replace(best, value=value + "\n", trust=1.0)
            else:
                fallbacks += 1
        best = replace(best, origins=[o for c in group for o in c.origins])
        best.samples = [s for c in group for s in c.samples]
        out.append(best)
    return out, identical, conflicts, fallbacks


def merge_runs(
    sources: Sequence[str | Path],
    out: str | Path,
    *,
    policy: str = "trust",
    rows: int | None = None,
    kernel: Kernel | None = None,
) -> MergeReport:
    """Write a new run at `out` holding the merged experience of `sources` (none of them is written)."""
    if policy not in POLICIES:
        raise RunError(f"unknown merge policy {policy!r}: choose one of {', '.join(POLICIES)}")
    if policy == "llm" and kernel is None:
        raise RunError("the llm merge policy needs a kernel (the LLM that combines rows)")
    if len(sources) < 2:
        raise RunError("merge needs at least two runs")
    if Path(out).exists():
        raise RunError(f"{out} already exists: merge into a new folder (nothing is overwritten)")
    runs = [RunDir.open(s, recover=False) for s in sources]
    config = check_same_task(runs)
    capacity = rows if rows is not None else max(r.config.rows for r in runs)
    if capacity < 1:
        raise RunError(f"--rows must be at least 1, got {capacity}")
    pool = [c for r in runs for c in candidates(r)]
    kept, identical, conflicts, fallbacks = resolve(pool, policy, kernel, config)
    kept.sort(key=lambda c: (-c.trust, -(c.step or 0)))
    dropped = max(0, len(kept) - capacity)
    kept = kept[:capacity]
    target = RunDir.create(out, replace(config, rows=capacity))
    with target.lock():
        target.commit(_change(target, kept, policy))
    return MergeReport(str(Path(out)), len(kept), capacity, identical, conflicts, dropped, policy, fallbacks)


def _change(run: RunDir, kept: list[Candidate], policy: str) -> Change:
    entries: list[tuple[int, str | None, str | None]] = []
    coeff: list[tuple[int, float, float]] = []
    records = []
    for row, cand in enumerate(kept):
        for col, text in enumerate((cand.query, cand.key, cand.value)):
            entries.append((3 * row + col, None, text or None))
            coeff.append((3 * row + col, 0.0, (cand.trust if col == 2 else 1.0) if text else 0.0))
            record: dict[str, Any] = {"id": f"0:{row}:{col}", "step": 0, "row": row, "column": EXPERIENCE_COLUMNS[col]}
            record |= {"diff": None, "state": "applied", "outcome": "merged", "action": "merge-runs", "policy": policy}
            record |= {"sample": cand.samples[0] if cand.samples else None, "samples": cand.samples}
            records.append(record | {"origins": cand.origins})
    info = {"origin": "merge", "policy": policy, "sources": sorted({o["run"] for c in kept for o in c.origins})}
    return Change("merge", asdict(run.state), entries=entries, coeff=coeff, patches=(0, records), info=info)
