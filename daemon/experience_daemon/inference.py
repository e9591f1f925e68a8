"""Answers from trained runs, shared by `experience infer`, the daemon's `experience/infer` and `experience serve`."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from experience.train.infer import Answer, RunModel
from experience_daemon.workspace import Workspace


class Inference:
    """One RunModel per run (opened on first use, with a kernel on the run's own backend); thread-safe."""

    def __init__(self, workspace: Workspace, *, cache: str | None = None, no_cache: bool = False) -> None:
        self.workspace = workspace
        self.cache = cache
        self.no_cache = no_cache
        self.models: dict[str, RunModel] = {}
        self._lock = threading.Lock()

    def model(self, run_dir: str | Path) -> RunModel:
        """The run's model (RunError when there is no run there)."""
        key = str(Path(run_dir).resolve())
        with self._lock:
            found = self.models.get(key)
            if found is None:
                from experience.train.run_dir import RunDir

                cfg = RunDir.open(key, recover=False).config  # RunError naming the fix when there is no run
                kernel = self.workspace.make_kernel(
                    cfg.backend, cfg.model, cfg.base_url, cache=self.cache, no_cache=self.no_cache
                )
                found = self.models[key] = RunModel(key, kernel)
            return found

    def answer(self, run_dir: str | Path, inputs: Sequence[str]) -> list[Answer]:
        """The run's answers to `inputs` (ValueError on an empty input)."""
        if not inputs:
            raise ValueError("no input: send at least one source text")
        return self.model(run_dir).answer_many(inputs)

    def close(self) -> None:
        """Free every model's kernel."""
        with self._lock:
            for model in self.models.values():
                model.kernel.close()
            self.models.clear()


def answers_json(run_dir: str | Path, answers: Sequence[Answer]) -> dict[str, Any]:
    """The `experience/infer` result: the run and one answer per input."""
    return {"runDir": str(Path(run_dir).resolve()), "answers": [a.as_dict() for a in answers]}
