"""Trainer: epochs of batches over the train split, validation, metrics, patch records, resume."""

from __future__ import annotations

import random
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import torch

from experience.events import Cancelled, CancelToken, EventSink, Log, Metrics, Progress, ignore
from experience.function.edit_distance_ratio import edit_distance_ratio
from experience.function.route import Route
from experience.kernel import BudgetExceeded, Kernel
from experience.nn.moe import StMoe
from experience.optim.stsgd import StSGD
from experience.storage.layout import EXPERIENCE_COLUMNS
from experience.tasks.dataset import Dataset, Pair
from experience.tensor import SymbolicTensor, from_texts
from experience.text.answer import clean_answer
from experience.train.journal import Change
from experience.train.patch_records import StepRecords, coeff_changes
from experience.train.run_dir import RunDir, RunState


@dataclass(frozen=True)
class EvalResult:
    """Mean loss, exact-match rate, valid share (None: the dataset has no checker) and sample count of a split."""

    loss: float
    exact: float
    n: int
    outputs: tuple[str | None, ...] = ()
    record: dict[str, Any] = field(default_factory=dict)
    valid: float | None = None

    def as_dict(self) -> dict[str, float | int]:
        """The JSON keys of `experience eval --json` (`valid` only when the dataset names a checker)."""
        found: dict[str, float | int] = {"loss": self.loss, "exact": self.exact, "n": self.n}
        return found | ({"valid": self.valid} if self.valid is not None else {})


class Trainer:
    """Trains one run's experience on a dataset with an LLM kernel."""

    def __init__(
        self,
        run: RunDir,
        dataset: Dataset,
        kernel: Kernel,
        *,
        events: EventSink = ignore,
        cancel: CancelToken | None = None,
        experience: SymbolicTensor | None = None,
        grammar: str | None = None,
    ) -> None:
        self.run = run
        self.dataset = dataset
        self.kernel = kernel
        self.events = events
        self.cancel = cancel or CancelToken()
        cfg = run.config
        grammar = grammar or cfg.grammar  # "on" | "off" | "auto"; an evaluation may override the run's
        self.experience = experience if experience is not None else run.load_experience()
        self.model = StMoe(
            self.experience,
            kernel,
            task_prompt=cfg.task_prompt,
            topk=cfg.topk,
            noise_std=cfg.noise_std,
            seed=cfg.seed,
            max_tokens=cfg.max_tokens,
            grad=cfg.grad,
            capacity=cfg.capacity,
            baseline=cfg.baseline,
            query=cfg.query,
            retriever=cfg.retriever,
            retriever_cache=run.path / ".cache",
            grammar=dataset.grammar if grammar != "off" else None,
        )
        if grammar == "on" and dataset.grammar is None:
            events(Log(f"--grammar on, but dataset {dataset.name!r} names no grammar; answers are free", "warning"))
        dataset.check()  # a checker that cannot be imported fails here, before any call
        self.optimizer = StSGD([self.experience], lr=cfg.lr)
        self.optimizer.steps = run.state.step
        self.verifier = dataset.verify()
        guarded = dataset.splits.get("val", [])
        self.val_targets = {clean_answer(p.target) for p in guarded if p.target.strip()}

    # -- the leak guard ------------------------------------------------------------------
    def accept(self, position: int, diff: str, new_text: str) -> bool:
        """Refuse a patch that would write a validation target verbatim into the experience."""
        leaked = clean_answer(new_text) in self.val_targets
        if leaked:
            row, column = divmod(position, 3)
            self.events(Log(f"leak guard blocked a patch to row {row} ({EXPERIENCE_COLUMNS[column]})", "warning"))
        return not leaked

    # -- one step --------------------------------------------------------------------------
    def step(self, batch: Sequence[Pair], epoch: int) -> dict[str, Any]:
        """Forward, loss, backward and optimizer step on one batch, committed as one transaction."""
        cfg, state = self.run.config, self.run.state
        before, started = self.kernel.usage.snapshot(), time.perf_counter()
        self.model.train()
        self.model.reseed(cfg.seed, state.step)
        inputs = from_texts([p.source for p in batch], (len(batch),))
        expected = from_texts([clean_answer(p.target) for p in batch], (len(batch),))
        self.optimizer.zero_grad()
        output = self.model(inputs, names=[p.name for p in batch])
        loss = edit_distance_ratio(output, expected)
        loss.mean().backward()  # type: ignore[no-untyped-call]
        spec = self.model.last
        routes = spec.row_routes if spec is not None else {}
        storage, coeff_before = self.experience.storage, self.experience.coeff.detach().clone()
        patches = StepRecords(state.step + 1, batch, routes, cfg.grad, cfg.capacity)
        storage.begin_deferred()
        try:
            if cfg.review:
                stats, records = patches.staged(self.experience)
            else:
                stats = self.optimizer.step(accept=self.accept).total
                self._trust_fresh_rows(routes)
                records = patches.applied(stats)
        finally:
            changes = storage.end_deferred()
        outputs = output.texts()
        targets = [clean_answer(p.target) for p in batch]
        cut = spec.cut if spec is not None else []
        record = self._record("train", epoch, loss, self._exact(batch, outputs, targets), before, started)
        record |= self._valid(outputs, cut)
        record["patches"] = stats.as_dict()
        if spec is not None and spec.rewrites:
            fallbacks = sum(len(r.fallback) for r in spec.rewrites.values())
            record["rewrites"] = {"rows": len(spec.rewrites), "fallbacks": fallbacks}
        after = RunState(**{**asdict(state), "step": state.step + 1, "batch": state.batch + 1})
        change = Change(
            "step",
            asdict(after),
            entries=[(slot, old, new) for slot, (old, new) in changes.items() if old != new],
            coeff=coeff_changes(coeff_before, self.experience.coeff.detach()),
            metrics=[record],
            patches=(after.step, records),
        )
        try:
            self.run.commit(change)
        except BaseException:  # not committed: memory goes back to the last complete step
            storage.set_memory({slot: old for slot, (old, _new) in changes.items()})
            with torch.no_grad():
                self.experience.coeff.copy_(coeff_before)
            raise
        return record

    def _trust_fresh_rows(self, routes: dict[int, Route]) -> None:
        """A row written afresh (a free or evicted row) starts trusted at 1, whatever its old coefficient."""
        with torch.no_grad():
            for row, route in routes.items():
                if route.action in ("new", "evict") and self.experience.text(row, 2):
                    self.experience.coeff.data[row, 1:] = 1.0

    def _exact(self, pairs: Sequence[Pair], outputs: Sequence[str | None], targets: Sequence[str]) -> list[bool]:
        """Per sample: the task's verifier if the dataset names one, else equal text."""
        if self.verifier is None:
            return [(o or "") == t for o, t in zip(outputs, targets, strict=True)]
        verify = self.verifier
        return [verify(p.source, o or "", t) for p, o, t in zip(pairs, outputs, targets, strict=True)]

    def _valid(self, outputs: Sequence[str | None], cut: Sequence[bool]) -> dict[str, float]:
        """{"valid": share of outputs the dataset's checker accepts (cut at the token limit: invalid)}, or {}."""
        valid = self.dataset.valid_share(outputs, cut)
        return {} if valid is None else {"valid": valid}

    def _record(
        self, split: str, epoch: int, loss: torch.Tensor, exact_flags: Sequence[bool], before: Any, started: float
    ) -> dict[str, Any]:
        used = self.kernel.usage - before
        exact = sum(exact_flags) / max(len(exact_flags), 1)
        return {
            "step": self.run.state.step + (1 if split == "train" else 0),
            "epoch": epoch,
            "split": split,
            "loss": float(loss.detach().mean()),
            "exact": exact,
            "n": len(exact_flags),
            "calls": used.calls,
            "prompt_tokens": used.prompt_tokens,
            "completion_tokens": used.completion_tokens,
            "cache_hits": used.cache_hits,
            "requests_per_sample": round((used.calls + used.cache_hits) / max(len(exact_flags), 1), 3),
            "cost": used.cost,
            "seconds": round(time.perf_counter() - started, 4),
            "backend": self.kernel.backend.name,
            "model": self.kernel.backend.model,
            "seed": self.run.config.seed,
        }

    # -- evaluation ------------------------------------------------------------------------
    def evaluate(self, pairs: Sequence[Pair], split: str = "val", *, record: bool = True) -> EvalResult:
        """Deterministic (no exploration) loss and exact-match rate over `pairs`."""
        before, started = self.kernel.usage.snapshot(), time.perf_counter()
        self.model.eval()
        targets = [clean_answer(p.target) for p in pairs]
        outputs: list[str | None] = []
        cut: list[bool] = []
        losses = []
        with torch.no_grad():
            for start in range(0, len(pairs), self.run.config.batch_size):
                if self.cancel.cancelled:
                    raise Cancelled(f"evaluation cancelled after {start} of {len(pairs)} samples; nothing recorded")
                chunk = pairs[start : start + self.run.config.batch_size]
                out = self.model(from_texts([p.source for p in chunk], (len(chunk),)))
                losses.append(edit_distance_ratio(out, from_texts(targets[start : start + len(chunk)], (len(chunk),))))
                outputs.extend(out.texts())
                cut.extend(self.model.last.cut if self.model.last is not None else [])
                self.events(Progress(len(outputs), len(pairs), f"evaluating {split}"))
        loss = torch.cat(losses) if losses else torch.zeros(0)
        rec = self._record(split, self.run.state.epoch, loss, self._exact(pairs, outputs, targets), before, started)
        rec |= self._valid(outputs, cut)
        if record:
            self.run.append_metrics(rec)
            self.events(Metrics(rec))
        return EvalResult(rec["loss"], rec["exact"], rec["n"], tuple(outputs), rec, rec.get("valid"))

    # -- the loop --------------------------------------------------------------------------
    def epoch_order(self, epoch: int) -> list[Pair]:
        """The train pairs in this epoch's seeded order."""
        pairs = list(self.dataset.split("train"))
        random.Random(self.run.config.seed * 100_003 + epoch).shuffle(pairs)
        return pairs

    def train(self, epochs: int, *, max_steps: int | None = None) -> dict[str, Any]:
        """Train until `epochs` are done (continuing from the run's state); returns the last val metrics."""
        state, size = self.run.state, self.run.config.batch_size
        state.epochs = max(state.epochs, epochs)
        self.run.save_state()
        last: dict[str, Any] = {}
        steps_done = 0
        train_pairs = self.dataset.split("train")
        total = (epochs - state.epoch) * len(train_pairs) - state.batch * size
        done = 0
        try:
            while state.epoch < epochs:
                order = self.epoch_order(state.epoch)
                while state.batch * size < len(order):
                    if self.cancel.cancelled or (max_steps is not None and steps_done >= max_steps):
                        self.events(Log("training stopped before the end; resume with --resume"))
                        return {"stopped": True, **last}
                    batch = order[state.batch * size : (state.batch + 1) * size]
                    record = self.step(batch, state.epoch)
                    state = self.run.state
                    steps_done += 1
                    done += len(batch)
                    self.events(Metrics(record))
                    self.events(
                        Progress(min(done, total), total, f"epoch {state.epoch + 1}/{epochs} step {state.step}")
                    )
                    last = record
                metrics: list[dict[str, Any]] = []
                if self.dataset.splits.get("val"):
                    try:
                        result = self.evaluate(self.dataset.split("val"), record=False)
                    except Cancelled:  # the epoch's batches are done; resuming runs its validation
                        self.events(Log("training stopped before the epoch's validation; resume with --resume"))
                        return {"stopped": True, **last}
                    metrics = [result.record]
                    last = result.as_dict() | {"split": "val", "epoch": state.epoch}
                after = RunState(**{**asdict(state), "epoch": state.epoch + 1, "batch": 0})
                self.run.commit(Change("epoch", asdict(after), metrics=metrics))
                state = self.run.state
                for rec in metrics:
                    self.events(Metrics(rec))
        except BudgetExceeded as error:
            self.events(Log(f"budget reached, run stopped cleanly: {error}", "warning"))
            return {"stopped": True, "reason": str(error), **last}
        return last
