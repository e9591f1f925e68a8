"""The service API: the use cases that the CLI and the JSON-RPC server both call (only these)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from experience.events import CancelToken, EventSink
from experience.train.options import RunOptions
from experience.train.run_dir import RunLocked
from experience.train.trainer import EvalResult
from experience_daemon import edits, jobs, review, validation, views
from experience_daemon.inference import Inference, answers_json
from experience_daemon.session import RunSession
from experience_daemon.workspace import BackendFactory, RunEventSink, Workspace

__all__ = ["BackendFactory", "RunEventSink", "Service"]


class Service(Workspace):
    """Opens runs, trains, evaluates, reads/writes entries, reviews patches; reports typed events (see Workspace)."""

    _inference: Inference | None = None  # opened on first use

    def close(self) -> None:
        """Cancel every job, close every run and the inference models."""
        super().close()
        if self._inference is not None:
            self._inference.close()

    # -- inference -----------------------------------------------------------------------
    @property
    def inference(self) -> Inference:
        """The run models that answer inputs (opened on first use, read-only)."""
        with self._lock:
            if self._inference is None:
                self._inference = Inference(self)
            return self._inference

    def merge_runs(
        self, run_dirs: list[str], out: str, *, policy: str = "trust", rows: int | None = None
    ) -> dict[str, Any]:
        """Merge runs of one task into a new run at `out` (the inputs are only read); what the merge did."""
        from experience.train.merge_runs import merge_runs
        from experience.train.run_dir import RunDir

        kernel = None
        if policy == "llm" and run_dirs:
            cfg = RunDir.open(run_dirs[0], recover=False).config
            kernel = self.make_kernel(cfg.backend, cfg.model, cfg.base_url)
        try:
            return merge_runs(run_dirs, out, policy=policy, rows=rows, kernel=kernel).as_dict()
        finally:
            if kernel is not None:
                kernel.close()

    def infer(self, run_dir: str, inputs: list[str]) -> dict[str, Any]:
        """The run's answers to `inputs`, each with the rows it used (the run dir is only read)."""
        if not inputs or any(not text.strip() for text in inputs):
            raise validation.InvalidParams("inputs must be one or more non-empty source texts")
        return answers_json(run_dir, self.inference.answer(run_dir, inputs))

    # -- runs ----------------------------------------------------------------------------
    def train(
        self,
        run_dir: str,
        options: RunOptions | None = None,
        settings: Mapping[str, Any] | None = None,
        cancel: CancelToken | None = None,
        *,
        events: EventSink | None = None,
    ) -> dict[str, Any]:
        """Train (or resume) a run; `settings` (RunConfig fields) shape a new run. The final validation metrics."""
        options, settings = options or RunOptions(), settings or {}
        validation.check_train(settings, options)  # before anything is created: a bad option leaves nothing behind
        return jobs.train(self, run_dir, settings, options, cancel, events)

    def step(
        self,
        run_dir: str,
        dataset: str | None = None,
        cancel: CancelToken | None = None,
        *,
        no_cache: bool = False,
        events: EventSink | None = None,
    ) -> dict[str, Any]:
        """One training step of an existing run; its metrics (validation if it ended an epoch)."""
        session = self.session(run_dir)
        session.refresh_run()
        state = session.run.state
        epochs = max(state.epochs, state.epoch + 1)
        options = RunOptions(dataset=dataset, resume=True, epochs=epochs, max_steps=1, no_cache=no_cache)
        return self.train(run_dir, options, cancel=cancel, events=events)

    def cancel(self, run_dir: str) -> bool:
        """Ask the job running on a run to stop at its next safe point; False when nothing runs."""
        session = self.sessions.get(str(Path(run_dir).resolve()))
        if session is None or session.job is None:
            return False
        session.job.cancel.cancel()
        return True

    def evaluate(
        self,
        run_dir: str,
        dataset: str | None = None,
        *,
        split: str = "val",
        backend: str | None = None,
        model: str | None = None,
        base_url: str | None = None,
        cache: str | None = None,
        no_cache: bool = False,
        record: bool = True,
        events: EventSink | None = None,
        cancel: CancelToken | None = None,
        executor: str | None = None,
        workers: int | None = None,
        grammar: str | None = None,
    ) -> EvalResult:
        """Loss and exact-match of a run on a dataset split (a new empty run if none exists); `cancel` stops it
        between batches with `Cancelled` (nothing recorded)."""
        options: dict[str, Any] = {"split": split, "backend": backend, "model": model}
        options["base_url"] = base_url
        options |= {"cache": cache, "no_cache": no_cache, "record": record}
        options |= {"executor": executor, "workers": workers, "grammar": grammar}
        return jobs.evaluate(self, run_dir, dataset, options, events, cancel)

    def open_run(self, run_dir: str) -> dict[str, Any]:
        """Summary of a run: shape, rows filled, step, backend, last metrics."""
        session = self.session(run_dir)
        session.refresh_run()
        return views.summary(session)

    def status(self, run_dir: str | None = None) -> list[dict[str, Any]]:
        """What each open run (or the given one) does: job, step, lock holder, staged patches."""
        sessions = [self.session(run_dir)] if run_dir else list(self.sessions.values())
        for session in sessions:
            session.refresh_run()
        return [views.status(session) for session in sessions]

    # -- entries -------------------------------------------------------------------------
    def list_entries(self, run_dir: str) -> list[dict[str, Any]]:
        """Every experience row: keywords, files, trust, and the samples that shaped it."""
        session = self.session(run_dir)
        session.refresh_run()
        return views.entries(session)

    def read_entry(self, run_dir: str, row: int, column: str | int) -> dict[str, Any]:
        """Text and version of one entry."""
        session = self.session(run_dir)
        slot = session.slot(row, column)
        edits.disk_changed(self, session, [session.file_of(slot)])  # the disk is the truth
        text, version = session.read(slot)
        return {"text": text, "version": version}

    def _not_trained_elsewhere(self, session: RunSession, what: str) -> None:
        holder = session.locked_elsewhere()
        if holder is not None:
            raise RunLocked(
                f"{session.key} is being trained by {holder}; {what} now would be overwritten. "
                "Wait for it to finish or stop it, then retry"
            )

    def write_entry(self, run_dir: str, row: int, column: str | int, text: str, version: int) -> int:
        """Replace one entry's text if `version` is still current; returns the new version."""
        session = self.session(run_dir)
        slot = session.slot(row, column)
        self._not_trained_elsewhere(session, "an edit")
        edits.disk_changed(self, session, [session.file_of(slot)])  # a hand edit makes `version` stale
        new_version = session.write(slot, text, version)
        self.emit_changes(session, "client", [slot])
        return new_version

    def disk_changed(self, run_dir: str, paths: list[Path]) -> list[tuple[int, str]]:
        """Reload entries edited on disk and refresh keywords of edited keys (see edits)."""
        session = self.sessions.get(str(Path(run_dir).resolve()))
        return edits.disk_changed(self, session, paths) if session is not None else []

    # -- review --------------------------------------------------------------------------
    def patches(self, run_dir: str, step: int | None = None, state: str | None = None) -> list[dict[str, Any]]:
        """Patch records of one step (or all steps), optionally only those in one state."""
        return review.list_patches(self.session(run_dir).run, step, state)

    def preview_patch(self, run_dir: str, patch_id: str, side: str = "after") -> dict[str, Any]:
        """The entry as a patch leaves it (a staged patch: what accept_patch writes)."""
        return review.preview(self.session(run_dir), patch_id, side)

    def accept_patch(self, run_dir: str, patch_id: str) -> dict[str, Any]:
        """Apply a staged patch to its entry and mark it accepted."""
        session = self.session(run_dir)
        self._not_trained_elsewhere(session, "accepting a patch")
        record, slot = review.accept(session, patch_id)
        self.emit_changes(session, "review", [slot])
        return {"patch": record, "version": session.read(slot)[1]}

    def rollback(self, run_dir: str, to_step: int) -> dict[str, Any]:
        """Restore the experience byte for byte as after step `to_step`; later steps stay on record."""
        self._not_trained_elsewhere(self.session(run_dir), "a rollback")
        return jobs.rollback(self, run_dir, to_step)

    def reject_patch(self, run_dir: str, patch_id: str) -> dict[str, Any]:
        """Mark a staged patch rejected."""
        return {"patch": review.reject(self.session(run_dir), patch_id), "version": None}
