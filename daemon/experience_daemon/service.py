"""The service API: the use cases that the CLI and the JSON-RPC server both call (and nothing else)."""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from experience.events import CancelToken, EventSink, Log, ignore
from experience.experience_tensor import Experience
from experience.kernel import Budget, Kernel, make_backend
from experience.tasks.dataset import Dataset, load_dataset
from experience.train.run_dir import RunConfig, RunDir, RunError
from experience.train.trainer import EvalResult, Trainer


def default_cache_path() -> Path:
    """Where LLM responses are cached: $EXPERIENCE_CACHE, else ~/.cache/experience/llm-cache.sqlite."""
    env = os.environ.get("EXPERIENCE_CACHE")
    if env:
        return Path(env)
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "experience" / "llm-cache.sqlite"


@dataclass
class TrainParams:
    """Everything `train` accepts; defaults are what `experience train` uses."""

    run_dir: str
    dataset: str | None = None
    epochs: int = 3
    backend: str = "local"
    model: str | None = None
    base_url: str | None = None
    seed: int = 0
    topk: int = 1
    rows: int = 32
    batch_size: int = 4
    lr: float = 1.0
    max_calls: int | None = None
    max_tokens: int | None = None
    max_cost: float | None = None
    resume: bool = False
    review: bool = False
    cache: str | None = None
    no_cache: bool = False
    concurrency: int = 1
    max_steps: int | None = None


class Service:
    """Opens runs, trains, evaluates and lists entries; reports through typed events."""

    def __init__(self, events: EventSink = ignore) -> None:
        self.events = events

    # -- kernel --------------------------------------------------------------------------
    def make_kernel(self, backend: str, model: str | None, base_url: str | None, *, cache: str | None = None,
                    no_cache: bool = False, budget: Budget | None = None, concurrency: int = 1) -> Kernel:
        """A kernel for a backend, with the shared response cache unless disabled."""
        cache_path = None if no_cache else Path(cache) if cache else default_cache_path()
        if cache_path is not None:
            cache_path.parent.mkdir(parents=True, exist_ok=True)
        chosen = make_backend(backend, model=model, base_url=base_url)
        if backend != "local":
            concurrency = max(concurrency, 4)
        return Kernel(chosen, cache_path=cache_path, concurrency=concurrency, budget=budget)

    # -- runs ----------------------------------------------------------------------------
    def _new_run(self, params: TrainParams, dataset: Dataset) -> RunDir:
        path = Path(params.run_dir)
        if (path / "run.json").exists():
            backup = path.with_name(f"{path.name}.bak-{time.strftime('%Y%m%d-%H%M%S')}")
            shutil.move(str(path), str(backup))
            self.events(Log(f"{path} held a run; moved it to {backup} (pass --resume to continue a run instead)"))
        config = RunConfig(
            dataset=str(Path(dataset.path or params.dataset or ".").resolve()), source_ext=dataset.source_ext,
            target_ext=dataset.target_ext, task_prompt=dataset.task_prompt, backend=params.backend,
            model=params.model, base_url=params.base_url, seed=params.seed, topk=params.topk, rows=params.rows,
            batch_size=params.batch_size, lr=params.lr, review=params.review,
        )
        return RunDir.create(path, config)

    def train(self, params: TrainParams, cancel: CancelToken | None = None) -> dict[str, Any]:
        """Train (or resume) a run; returns the final validation metrics."""
        if params.resume:
            run = RunDir.open(params.run_dir)
            dataset = load_dataset(params.dataset or run.config.dataset)
        else:
            if not params.dataset:
                raise RunError("train needs --dataset DIR for a new run (or --resume to continue one)")
            dataset = load_dataset(params.dataset)
            dataset.split("train")
            run = self._new_run(params, dataset)
        budget = Budget(max_calls=params.max_calls, max_tokens=params.max_tokens, max_cost=params.max_cost)
        cfg = run.config
        with run.lock():
            kernel = self.make_kernel(cfg.backend, cfg.model, cfg.base_url, cache=params.cache,
                                      no_cache=params.no_cache, budget=budget, concurrency=params.concurrency)
            try:
                trainer = Trainer(run, dataset, kernel, events=self.events, cancel=cancel)
                result = trainer.train(params.epochs, max_steps=params.max_steps)
            finally:
                kernel.close()
        return {"run_dir": str(run.path), "step": run.state.step, "epoch": run.state.epoch, **result}

    def evaluate(self, run_dir: str, dataset: str | None = None, *, split: str = "val", backend: str | None = None,
                 model: str | None = None, base_url: str | None = None, cache: str | None = None,
                 no_cache: bool = False, record: bool = True) -> EvalResult:
        """Loss and exact-match of a run's experience on a dataset split (a new empty run if none exists)."""
        path = Path(run_dir)
        if (path / "run.json").exists():
            run = RunDir.open(path)
        else:
            if not dataset:
                raise RunError(f"no run at {path}; pass --dataset to evaluate an empty (zero-shot) run there")
            data = load_dataset(dataset)
            run = self._new_run(TrainParams(run_dir=run_dir, dataset=dataset, backend=backend or "local",
                                            model=model, base_url=base_url), data)
        data = load_dataset(dataset or run.config.dataset)
        pairs = data.split(split if split in data.splits else "val")
        kernel = self.make_kernel(backend or run.config.backend, model or run.config.model,
                                  base_url or run.config.base_url, cache=cache, no_cache=no_cache)
        try:
            trainer = Trainer(run, data, kernel, events=self.events)
            return trainer.evaluate(pairs, split, record=record)
        finally:
            kernel.close()

    def open_run(self, run_dir: str) -> dict[str, Any]:
        """Summary of a run: shape, rows filled, step, backend, last metrics."""
        run = RunDir.open(run_dir)
        experience = run.load_experience()
        metrics = run.metrics()
        return {
            "runDir": str(run.path), "shape": list(experience.shape), "rows": int(experience.shape[0]),
            "filled": len(Experience.filled_rows(experience)), "step": run.state.step, "epoch": run.state.epoch,
            "backend": run.config.backend, "model": run.config.model, "review": run.config.review,
            "lastMetrics": metrics[-1] if metrics else None,
        }

    def list_entries(self, run_dir: str) -> list[dict[str, Any]]:
        """Every experience row: keywords, file paths, and the step and sample that last wrote it."""
        run = RunDir.open(run_dir)
        experience = run.load_experience()
        provenance: dict[int, tuple[int, str | None]] = {}
        for step in run.patch_steps():
            for rec in run.read_patches(step):
                if rec.get("state") == "applied":
                    provenance[int(rec["row"])] = (int(rec["step"]), rec.get("sample"))
        entries = []
        for row, (query, _key, _value) in enumerate(Experience.rows(experience)):
            step, sample = provenance.get(row, (None, None))
            entries.append({
                "row": row, "query": [w for w in (query or "").splitlines() if w.strip()],
                "keyPath": str(experience.path(row, 1)), "valuePath": str(experience.path(row, 2)),
                "queryPath": str(experience.path(row, 0)), "step": step, "source": sample,
                "filled": bool(_key or _value),
            })
        return entries
