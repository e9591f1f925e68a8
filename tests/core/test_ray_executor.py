"""--executor ray: a step's calls fan out to Ray workers; the run equals the in-process run given the same answers."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from doubles import ScriptedBackend
from experience.kernel import BackendUnavailable, Completion, Kernel, KernelError, KernelTask, TransientError
from experience.kernel.remote import RAY_INSTALL, BackendSpec, RayBackend, require_ray
from experience.tasks.dataset import load_dataset
from experience.train.executor import executor_backend, executor_choice, executor_problems
from experience.train.run_dir import RunConfig, RunDir, RunError
from experience.train.trainer import Trainer
from learning_fixtures import PAIRS, copying_translator, files, write_dataset

TESTS = Path(__file__).resolve().parents[1]
RENAMED = {f"{k}2": (s.replace(k, f"{k}2"), t.replace(k, f"{k}2")) for k, (s, t) in PAIRS["train"].items()}
PAIRS_8 = {"train": {**PAIRS["train"], **RENAMED}, "val": PAIRS["val"]}  # two batches of 4 per epoch


def copying() -> ScriptedBackend:
    """The workers' backend: the scripted copying translator (imported by name in each worker)."""
    return ScriptedBackend(copying_translator)


class BatchingBackend(ScriptedBackend):
    """The copying translator as a batching backend (like llama.cpp's multi-sequence batch), 4 tasks a call."""

    max_batch = 4

    async def complete_batch(self, tasks: Sequence[KernelTask]) -> list[Completion]:
        """Answer every task of the batch, in order."""
        return [await self.complete(task) for task in tasks]


def batching() -> BatchingBackend:
    """The workers' batching backend."""
    return BatchingBackend(copying_translator)


def flaky() -> ScriptedBackend:
    """Fails its first call with a retryable error, then translates."""
    return ScriptedBackend(copying_translator, fail_first=1, error=TransientError("rate limited"))


def slow() -> ScriptedBackend:
    """Answers after 30 s."""
    return ScriptedBackend(copying_translator, delay=30.0)


def broken() -> ScriptedBackend:
    """Every call fails with an error that is not retried."""
    return ScriptedBackend("x", fail_first=10**6, error=BackendUnavailable("endpoint gone: set LLM_BASE_URL"))


@pytest.fixture(scope="module")
def ray_local() -> Iterator[Any]:
    """A local Ray instance with this machine's 2 CPUs; its workers import the test doubles from tests/."""
    ray = pytest.importorskip("ray")
    path = os.pathsep.join([str(TESTS), str(TESTS / "core"), os.environ.get("PYTHONPATH", "")])
    old = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = path  # workers inherit it: they import this module by name
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        yield ray
    finally:
        ray.shutdown()
        if old is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = old


def _train(root: Path, backend: Any, **config: Any) -> tuple[RunDir, Kernel]:
    dataset = load_dataset(write_dataset(root, PAIRS_8))
    cfg = RunConfig(
        dataset=str(dataset.path), source_ext="py", target_ext="viba", task_prompt=dataset.task_prompt,
        rows=6, batch_size=4, seed=3, **config,
    )
    run = RunDir.create(root / "run", cfg)
    kernel = Kernel(backend, concurrency=4)
    Trainer(run, dataset, kernel).train(2)
    return run, kernel


def _metrics(run: RunDir) -> list[dict[str, Any]]:
    return [{k: v for k, v in m.items() if k != "seconds"} for m in run.metrics()]


@pytest.mark.parametrize(("grad", "factory"), [("example", copying), ("llm", copying), ("example", batching)])
def test_two_ray_workers_write_the_same_run_as_in_process(
    tmp_path: Path, ray_local: Any, grad: str, factory: Callable[[], ScriptedBackend]
) -> None:
    here, _ = _train(tmp_path / "inprocess", factory(), grad=grad)
    remote = RayBackend(BackendSpec("scripted", factory=factory), 2)
    try:
        there, kernel = _train(tmp_path / "ray", remote, grad=grad, executor="ray", workers=2)
        served = remote.served()
    finally:
        remote.close()
    assert files(there.experience_dir) == files(here.experience_dir)  # texts and tensor.json, byte for byte
    assert files(there.patches_dir) == files(here.patches_dir) and here.patch_steps()
    assert _metrics(there) == _metrics(here)
    assert all(n > 0 for n in served) and sum(served) == kernel.usage.calls  # both workers answered
    config = json.loads((there.path / "run.json").read_text())["config"]
    assert (config["executor"], config["workers"]) == ("ray", 2)


def test_evaluation_fans_out_and_scores_like_in_process(tmp_path: Path, ray_local: Any) -> None:
    run, _ = _train(tmp_path, copying())
    dataset = load_dataset(run.config.dataset)
    pairs = dataset.split("train")
    here = Trainer(run, dataset, Kernel(copying())).evaluate(pairs, "train", record=False)
    remote = RayBackend(BackendSpec("scripted", factory=copying), 2)
    try:
        there = Trainer(run, dataset, Kernel(remote, concurrency=2)).evaluate(pairs, "train", record=False)
        served = remote.served()
    finally:
        remote.close()
    assert (there.loss, there.exact, there.outputs) == (here.loss, here.exact, here.outputs)
    assert min(served) > 0


def test_a_batch_splits_into_one_shard_per_worker(ray_local: Any) -> None:
    tasks = [KernelTask.chat(f"def f{i}(a):\n    return a\n", tag="translate") for i in range(6)]
    remote = RayBackend(BackendSpec("scripted", factory=batching), 2)
    try:
        assert remote.max_batch == 8  # 2 workers x 4
        answers = Kernel(remote).run(tasks)
        assert [a.text for a in answers] == [a.text for a in Kernel(batching()).run(tasks)]
        assert remote.served() == [3, 3]  # one shard of 3 each, in one call each
    finally:
        remote.close()
    plain = RayBackend(BackendSpec("scripted", factory=copying), 2)
    try:
        assert plain.max_batch == 1  # a backend that does not batch: the kernel sends calls one by one
    finally:
        plain.close()


def test_worker_errors_come_back_as_the_kernels_own(ray_local: Any) -> None:
    task = KernelTask.chat("def f(a):\n    return a\n", tag="translate")
    remote = RayBackend(BackendSpec("scripted", factory=flaky), 1)
    try:
        kernel = Kernel(remote, backoff=0.0)
        assert kernel.run([task])[0].text.startswith("func f")  # retried on the driver after a TransientError
        assert remote.served() == [2]
    finally:
        remote.close()
    remote = RayBackend(BackendSpec("scripted", factory=broken), 1)
    try:
        with pytest.raises(BackendUnavailable, match="endpoint gone"):
            Kernel(remote).run([task])
    finally:
        remote.close()
    remote = RayBackend(BackendSpec("scripted", factory=slow), 1)
    try:
        with pytest.raises(KernelError, match=r"timed out after 0\.5 s"):
            Kernel(remote, timeout=0.5, retries=0).run([task])  # the worker's call is cancelled too
    finally:
        remote.close()


def test_a_worker_that_cannot_build_its_backend_or_too_many_workers_say_why(tmp_path: Path, ray_local: Any) -> None:
    with pytest.raises(BackendUnavailable, match=r"could not start its local backend.*not found"):
        RayBackend(BackendSpec("local", model=str(tmp_path / "missing.gguf")), 1)
    with pytest.raises(BackendUnavailable, match=r"--workers 3 needs 3 CPUs but the Ray instance has 2"):
        RayBackend(BackendSpec("scripted", factory=copying), 3)


def test_without_ray_the_error_names_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` raises ImportError
    with pytest.raises(BackendUnavailable, match=r"pip install -e '\.\[ray\]'"):
        require_ray()
    assert executor_problems("ray", 2) == [f"--executor ray needs Ray, which is not installed: {RAY_INSTALL}"]
    with pytest.raises(RunError, match=r"pip install -e '\.\[ray\]'"):
        executor_backend("ray", 2, "local", None, None)


def test_executor_options_are_checked_and_default_to_the_runs() -> None:
    assert executor_problems("inprocess", 1) == [] and executor_problems(None, None) == []
    assert "--executor must be one of inprocess, ray" in executor_problems("dask", 1)[0]
    assert "--workers must be a whole number >= 1, got 0" in executor_problems("ray", 0)[0]
    assert "--workers 2 needs --executor ray" in executor_problems("inprocess", 2)[0]
    assert executor_choice("ray", 2, None, None) == ("ray", 2)
    assert executor_choice("ray", 2, "inprocess", None) == ("inprocess", 1)
    assert executor_choice("inprocess", 1, "ray", 2) == ("ray", 2)
    with pytest.raises(RunError, match="--workers 2 needs --executor ray"):
        executor_choice("inprocess", 1, None, 2)
    backend, fan_out = executor_backend("inprocess", 1, "local", None, None, copying)
    assert isinstance(backend, ScriptedBackend) and fan_out == 1
