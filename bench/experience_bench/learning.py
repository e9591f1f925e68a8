"""Learning figures: loss and exact-match before (empty experience = zero-shot) and after training, per seed."""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from experience.events import Event, EventSink, Metrics, ignore
from experience.kernel import Kernel
from experience.tasks.dataset import load_dataset
from experience.train.run_dir import RunConfig, RunDir
from experience.train.trainer import Trainer
from experience_bench.common import spread_dict
from experience_bench.ledger import CountingKernel, Tally, answer_cost, mean_of, per_sample, step_cost

Log = Callable[[str], None]


@dataclass(frozen=True)
class LearnPlan:
    """One dataset's learning runs: the subset sizes, the splits scored, and the trainer's settings."""

    name: str
    path: str
    eval_splits: tuple[str, ...]
    sizes: dict[str, int | None] = field(default_factory=dict)
    epochs: int = 1
    topk: int = 3
    rows: int = 32
    batch_size: int = 4
    grad: str = "example"
    capacity: str = "evict"
    query: str = "llm"
    retriever: str = "jaccard"
    grammar: str = "auto"  # answers under the dataset's GBNF: on | off | auto (on when the dataset has one)

    def as_dict(self) -> dict[str, Any]:
        """JSON form."""
        data = asdict(self)
        data["eval_splits"] = list(self.eval_splits)
        return data


@dataclass(frozen=True)
class Variant:
    """A trainer setting the bench compares: grad mode, rows (None: a third of the train pairs), query, retriever,
    grammar."""

    grad: str
    rows: int | None = None
    query: str = "llm"
    retriever: str = "jaccard"
    grammar: str = "auto"

    def rows_for(self, train: int) -> int:
        """The experience's rows for `train` training pairs."""
        return self.rows if self.rows is not None else max(1, math.ceil(train / 3))

    def plan(self, base: LearnPlan, train: int) -> LearnPlan:
        """`base` with this variant's settings, named `<task>/<grad>/rows<N>[/<query>-query][/<retriever>]`."""
        rows = self.rows_for(train)
        name = f"{base.name}/{self.grad}/rows{rows}"
        name += f"/{self.query}-query" if self.query != "llm" else ""
        name += f"/{self.retriever}" if self.retriever != "jaccard" else ""
        name += f"/grammar-{self.grammar}" if self.grammar != "auto" else ""
        plan = replace(base, name=name, grad=self.grad, rows=rows, query=self.query, retriever=self.retriever)
        return replace(plan, grammar=self.grammar)

    def as_dict(self, train: int) -> dict[str, Any]:
        """JSON form."""
        rule = f"{self.rows}" if self.rows is not None else "ceil(train pairs / 3)"
        return {
            "grad": self.grad,
            "rows": self.rows_for(train),
            "rows_rule": rule,
            "train_pairs": train,
            "query": self.query,
            "retriever": self.retriever,
            "grammar": self.grammar,
        }


VARIANTS = (Variant("example", 32), Variant("example"), Variant("llm", 32), Variant("llm"))
# issue 11's comparison: each retriever, with the keyword LLM call per input (llm) and without it (lexical);
# the embedding retriever reads sources and keys only, so its llm-query run would only add calls
RETRIEVAL_VARIANTS = (
    Variant("example", 32, "llm", "jaccard"),
    Variant("example", 32, "lexical", "jaccard"),
    Variant("example", 32, "lexical", "embedding"),
    Variant("example", 32, "llm", "hybrid"),
    Variant("example", 32, "lexical", "hybrid"),
)
# issue 12's comparison: a new run's defaults (lexical query, hybrid retriever) with answers decoded under the
# dataset's grammar, and without
GRAMMAR_VARIANTS = (
    Variant("example", 32, "lexical", "hybrid", grammar="on"),
    Variant("example", 32, "lexical", "hybrid", grammar="off"),
)
VARIANT_SETS = {"learning": VARIANTS, "retrieval": RETRIEVAL_VARIANTS, "grammar": GRAMMAR_VARIANTS}


@dataclass(frozen=True)
class SplitScore:
    """Loss, exact-match and valid share (None: the dataset has no checker) of one split."""

    loss: float
    exact: float
    n: int
    cost: dict[str, Any] = field(default_factory=dict)  # requests/tokens per answered sample, when counted
    valid: float | None = None


class Lab:
    """Creates, trains and scores runs with one kernel (the core Trainer, as `experience train` uses it)."""

    def __init__(self, kernel: Kernel, events: EventSink = ignore) -> None:
        self.kernel = kernel
        self.events = events
        self.steps: list[dict[str, Any]] = []  # the last `train`'s per-step requests (with a CountingKernel)

    def create(self, run_dir: Path, dataset: Path, plan: LearnPlan, seed: int) -> None:
        """A new run with an empty experience (no steps)."""
        data = load_dataset(dataset)
        config = RunConfig(
            dataset=str(dataset.resolve()),
            source_ext=data.source_ext,
            target_ext=data.target_ext,
            task_prompt=data.task_prompt,
            backend=self.kernel.backend.name,
            seed=seed,
            topk=plan.topk,
            rows=plan.rows,
            batch_size=plan.batch_size,
            grad=plan.grad,
            capacity=plan.capacity,
            query=plan.query,
            retriever=plan.retriever,
            grammar=plan.grammar,
        )
        RunDir.create(run_dir, config)

    def train(self, run_dir: Path, epochs: int, max_steps: int | None = None) -> dict[str, Any]:
        """Train the run (under its lock) to `epochs` epochs or `max_steps` steps; the trainer's last metrics."""
        run = RunDir.open(run_dir)
        self.steps = []
        with run.lock():
            trainer = Trainer(run, load_dataset(run.config.dataset), self.kernel, events=self._counting(self.events))
            return trainer.train(epochs, max_steps=max_steps)

    def _counting(self, events: EventSink) -> EventSink:
        """`events`, also cutting the kernel's tally at each metrics record (a train record closes a step)."""
        if not isinstance(self.kernel, CountingKernel):
            return events
        tally = self.kernel.tally
        mark = tally.copy()

        def sink(event: Event) -> None:
            nonlocal mark
            if isinstance(event, Metrics):
                if event.record.get("split") == "train":
                    self.steps.append(step_cost(event.record, tally.since(mark)))
                mark = tally.copy()
            events(event)

        return sink

    def evaluate(self, run_dir: Path, split: str) -> SplitScore:
        """Deterministic scores of the run on a split of its dataset (not recorded in its metrics)."""
        run = RunDir.open(run_dir)
        data = load_dataset(run.config.dataset)
        before = self.kernel.tally.copy() if isinstance(self.kernel, CountingKernel) else None
        result = Trainer(run, data, self.kernel, events=self.events).evaluate(data.split(split), split, record=False)
        cost = self._answered(before, result.n)
        return SplitScore(result.loss, result.exact, result.n, cost, result.valid)

    def _answered(self, before: Tally | None, n: int) -> dict[str, Any]:
        if before is None or not isinstance(self.kernel, CountingKernel):
            return {}
        return answer_cost(self.kernel.tally.since(before), n)


def cost_per_epoch(records: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per epoch of training steps: calls, cache hits, tokens and seconds per training sample."""
    epochs: dict[int, list[dict[str, Any]]] = {}
    for rec in records:
        if rec.get("split") == "train":
            epochs.setdefault(int(rec["epoch"]), []).append(rec)
    out = []
    for epoch, recs in sorted(epochs.items()):
        n = max(sum(int(r["n"]) for r in recs), 1)
        out.append(
            {
                "epoch": epoch,
                "samples": n,
                "steps": len(recs),
                "calls_per_sample": round(sum(r["calls"] for r in recs) / n, 3),
                "cache_hits_per_sample": round(sum(r["cache_hits"] for r in recs) / n, 3),
                "prompt_tokens_per_sample": round(sum(r["prompt_tokens"] for r in recs) / n, 1),
                "completion_tokens_per_sample": round(sum(r["completion_tokens"] for r in recs) / n, 1),
                "seconds_per_sample": round(sum(r["seconds"] for r in recs) / n, 3),
            }
        )
    return out


def learn(lab: Lab, plan: LearnPlan, dataset: Path, seeds: Sequence[int], work: Path, log: Log) -> dict[str, Any]:
    """For each seed: a fresh run scored before training, trained `plan.epochs` epochs, scored again."""
    before: dict[str, list[SplitScore]] = {s: [] for s in plan.eval_splits}
    after: dict[str, list[SplitScore]] = {s: [] for s in plan.eval_splits}
    per_seed: dict[str, Any] = {}
    for seed in seeds:
        run_dir = work / f"{plan.name}-seed{seed}"
        lab.create(run_dir, dataset, plan, seed)
        started = time.perf_counter()
        for split in plan.eval_splits:
            before[split].append(lab.evaluate(run_dir, split))
        before_s = time.perf_counter() - started
        log(f"{plan.name} seed {seed}: before {_brief(before, -1)} ({before_s:.0f} s); training {plan.epochs} epoch(s)")
        started = time.perf_counter()
        lab.train(run_dir, plan.epochs)
        train_s = time.perf_counter() - started
        steps = list(lab.steps)
        for split in plan.eval_splits:
            after[split].append(lab.evaluate(run_dir, split))
        log(f"{plan.name} seed {seed}: after {_brief(after, -1)} (training {train_s:.0f} s)")
        run = RunDir.open(run_dir)
        per_seed[str(seed)] = {
            "rows": run.config.rows,
            "before": {s: _score(before[s][-1]) for s in plan.eval_splits},
            "after": {s: _score(after[s][-1]) for s in plan.eval_splits},
            "cost_per_epoch": cost_per_epoch(run.metrics()),
            "train_cost_per_sample_per_step": per_sample(steps),
            "answer_cost": {s: after[s][-1].cost for s in plan.eval_splits},
            "steps": steps,
            "train_wall_seconds": round(train_s, 2),
            "before_eval_wall_seconds": round(before_s, 2),
            "filled_rows": _filled_rows(run_dir),
            "row_actions": row_actions(run),
        }
    runs = [per_seed[str(s)] for s in seeds]
    return {
        "plan": plan.as_dict(),
        "seeds": list(seeds),
        "splits": {s: {"before": _spreads(before[s]), "after": _spreads(after[s])} for s in plan.eval_splits},
        "per_seed": per_seed,
        "cost_per_sample_per_epoch": _mean_cost([r["cost_per_epoch"] for r in runs]),
        "train_cost_per_sample_per_step": mean_of([r["train_cost_per_sample_per_step"] for r in runs]),
        "answer_cost": {s: mean_of([r["answer_cost"][s] for r in runs]) for s in plan.eval_splits},
        "train_wall_seconds": spread_dict([r["train_wall_seconds"] for r in runs]) if runs else None,
        "filled_rows": spread_dict([r["filled_rows"] for r in runs]) if runs else None,
    }


def row_actions(run: RunDir) -> dict[str, int]:
    """How many (step, row) writes each routing action made ("new", "evict", "merge", ...), from the patch records."""
    seen: dict[tuple[int, int], str] = {}
    for step in run.patch_steps():
        for rec in run.read_patches(step):
            seen.setdefault((int(rec["step"]), int(rec["row"])), str(rec.get("action")))
    return dict(sorted(Counter(seen.values()).items()))


def _score(score: SplitScore) -> dict[str, Any]:
    data = asdict(score)
    if not data["cost"]:
        del data["cost"]
    return data


def _spreads(scores: Sequence[SplitScore]) -> dict[str, Any]:
    return {
        "loss": spread_dict([x.loss for x in scores]),
        "exact": spread_dict([x.exact for x in scores]),
        "valid": spread_dict([x.valid or 0.0 for x in scores]) if _all_valid(scores) else None,
        "n": scores[0].n if scores else 0,
    }


def _all_valid(scores: Sequence[SplitScore]) -> bool:
    return bool(scores) and all(x.valid is not None for x in scores)


def _brief(scores: dict[str, list[SplitScore]], index: int) -> str:
    valid = {s: f" valid {v[index].valid:.2f}" if v[index].valid is not None else "" for s, v in scores.items()}
    return ", ".join(f"{s} loss {v[index].loss:.3f} exact {v[index].exact:.2f}{valid[s]}" for s, v in scores.items())


def _filled_rows(run_dir: Path) -> int:
    texts = RunDir.open(run_dir).load_experience().texts()
    return sum(1 for r in range(0, len(texts), 3) if texts[r + 1] or texts[r + 2])


def _mean_cost(per_seed: Sequence[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Per epoch, the mean over seeds of each per-sample cost (seed 0 pays the calls later seeds find cached)."""
    if not per_seed or not per_seed[0]:
        return []
    out = []
    for index, first in enumerate(per_seed[0]):
        rows = [costs[index] for costs in per_seed if len(costs) > index]
        keys = [k for k in first if k.endswith("_per_sample")]
        out.append({"epoch": first["epoch"], **{k: round(sum(r[k] for r in rows) / len(rows), 3) for k in keys}})
    return out
