"""Local backend throughput: thread defaults, the dispatcher's batched path, grammar and batched decoding."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from doubles import ScriptedBackend
from experience.kernel import (
    BatchBackend,
    Budget,
    BudgetExceeded,
    Completion,
    Kernel,
    KernelError,
    KernelTask,
    Message,
    TransientError,
)
from experience.kernel.backends.cpu import THREADS_ENV, default_threads, parse_threads, physical_cores
from experience.prompts import render
from experience.tasks.dataset import load_dataset

ROOT = Path(__file__).resolve().parents[2]
DIGITS = "root ::= [0-9]+"


def write_topology(root: Path, cores: dict[int, tuple[int, int]]) -> None:
    """A fake /sys/devices/system/cpu: logical cpu -> (package, core)."""
    for cpu, (package, core) in cores.items():
        topology = root / f"cpu{cpu}" / "topology"
        topology.mkdir(parents=True)
        (topology / "physical_package_id").write_text(f"{package}\n")
        (topology / "core_id").write_text(f"{core}\n")


def test_smt_siblings_count_as_one_core(tmp_path: Path) -> None:
    write_topology(tmp_path, {0: (0, 0), 1: (0, 1), 2: (0, 0), 3: (0, 1), 4: (1, 0)})
    assert physical_cores(range(5), tmp_path) == 3  # cores (0,0), (0,1) and (1,0)
    assert physical_cores([0, 2], tmp_path) == 1  # an affinity mask holding two siblings of one core
    assert physical_cores([1, 4], tmp_path) == 2


def test_unreadable_topology_falls_back_to_logical_cpus(tmp_path: Path) -> None:
    write_topology(tmp_path, {0: (0, 0)})
    assert physical_cores([0, 1, 2], tmp_path) == 3  # cpu1, cpu2 have no topology files


def test_threads_env_overrides_and_bad_values_name_the_fix() -> None:
    assert default_threads({THREADS_ENV: "3"}) == 3
    assert default_threads({}) == physical_cores()
    with pytest.raises(ValueError, match=THREADS_ENV):
        default_threads({THREADS_ENV: "many"})
    with pytest.raises(ValueError, match="n_threads=0"):
        parse_threads(0)


def test_local_backend_defaults_to_physical_cores(local_model_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from experience.kernel.backends.local import LocalBackend

    monkeypatch.delenv(THREADS_ENV, raising=False)
    assert LocalBackend(local_model_path).n_threads == physical_cores()
    monkeypatch.setenv(THREADS_ENV, "5")
    backend = LocalBackend(local_model_path)
    assert (backend.n_threads, backend.n_threads_batch) == (5, 5)
    assert LocalBackend(local_model_path, n_threads=1, n_threads_batch=2).n_threads_batch == 2
    with pytest.raises(ValueError, match="positive whole number"):
        LocalBackend(local_model_path, n_threads=-1)


class BatchScripted(ScriptedBackend):
    """The scripted backend that also answers whole batches, recording each batch's size."""

    def __init__(self, *args: Any, max_batch: int = 3, fail_batches: int = 0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.max_batch = max_batch
        self.fail_batches = fail_batches
        self.batches: list[int] = []

    async def complete_batch(self, tasks: Sequence[KernelTask]) -> list[Completion]:
        """Answer every task; the first `fail_batches` batches raise TransientError."""
        self.batches.append(len(tasks))
        if len(self.batches) <= self.fail_batches:
            raise TransientError("scripted batch failure")
        return [await self.complete(t) for t in tasks]


def task(text: str, tag: str = "t") -> KernelTask:
    return KernelTask((Message("user", text),), max_tokens=8, tag=tag)


def echo(t: KernelTask) -> str:
    return f"echo {t.messages[-1].content}"


async def test_dispatcher_batches_caches_and_counts(tmp_path: Path) -> None:
    backend = BatchScripted(echo, max_batch=3)
    assert isinstance(backend, BatchBackend)
    kernel = Kernel(backend, cache_path=tmp_path / "cache.sqlite")
    prompts = ["a", "b", "a", "c", "d", "e", "f b"]
    results = await kernel.complete_many([task(p) for p in prompts])
    assert [r.text for r in results] == [f"echo {p}" for p in prompts]
    assert backend.batches == [3, 3]  # 6 unique tasks in batches of max_batch
    assert (kernel.usage.calls, kernel.usage.cache_hits) == (6, 1)
    assert kernel.usage.prompt_tokens == 7 and kernel.usage.completion_tokens == 13
    assert [r.cached for r in results] == [False, False, True, False, False, False, False]
    again = await kernel.complete_many([task("a"), task("g"), task("c")])
    assert [r.text for r in again] == ["echo a", "echo g", "echo c"]
    assert backend.batches == [3, 3, 1]  # only the new task reaches the backend
    assert (kernel.usage.calls, kernel.usage.cache_hits) == (7, 3)
    kernel.close()


async def test_dispatcher_batches_without_a_cache() -> None:
    backend = BatchScripted(echo, max_batch=8)
    kernel = Kernel(backend)
    results = await kernel.complete_many([task("x"), task("x"), task("y")])
    assert [r.text for r in results] == ["echo x", "echo x", "echo y"]
    assert backend.batches == [3] and kernel.usage.calls == 3


async def test_budget_cuts_a_batch_after_paying_for_the_allowed_tasks(tmp_path: Path) -> None:
    backend = BatchScripted(echo, max_batch=8)
    kernel = Kernel(backend, cache_path=tmp_path / "cache.sqlite", budget=Budget(max_calls=3))
    with pytest.raises(BudgetExceeded, match="max_calls=3"):
        await kernel.complete_many([task(str(i)) for i in range(5)])
    assert backend.batches == [3] and kernel.usage.calls == 3
    free = Kernel(backend, cache_path=tmp_path / "cache.sqlite")
    got = await free.complete_many([task(str(i)) for i in range(3)])  # the three paid answers were cached
    assert [r.cached for r in got] == [True, True, True]
    kernel.close()
    free.close()


async def test_a_failed_batch_is_retried_whole() -> None:
    backend = BatchScripted(echo, max_batch=4, fail_batches=1)
    kernel = Kernel(backend, retries=2, backoff=0.0)
    results = await kernel.complete_many([task("p"), task("q")])
    assert [r.text for r in results] == ["echo p", "echo q"]
    assert backend.batches == [2, 2] and kernel.usage.calls == 2


async def test_a_batch_that_keeps_failing_names_its_tags() -> None:
    backend = BatchScripted(echo, max_batch=4, fail_batches=9)
    kernel = Kernel(backend, retries=1, backoff=0.0)
    with pytest.raises(KernelError, match=r"\(query,translate\) failed after 2 attempts"):
        await kernel.complete_many([task("p", "translate"), task("q", "query")])


# -- the real model ----------------------------------------------------------------------------


def translate_prompts(n: int) -> list[KernelTask]:
    """Real translate prompts: the st_moe system prompt, one training pair as a shot, a validation source."""
    data = load_dataset(ROOT / "datasets" / "viba")
    shot = data.split("train")[0]
    system = render("translate_system", task_prompt="Translate the Python function to Viba.")
    return [
        KernelTask.chat(p.source, system=system, shots=((shot.source, shot.target),), max_tokens=48, tag="translate")
        for p in data.split("val")[:n]
    ]


@pytest.mark.llm
def test_batched_answers_equal_sequential_answers(local_backend: Any) -> None:
    tasks = translate_prompts(4)
    sequential = [local_backend._complete_sync(t) for t in tasks]
    batched = local_backend.complete_batch_sync(tasks)
    assert [b.text for b in batched] == [s.text for s in sequential]
    assert [b.prompt_tokens for b in batched] == [s.prompt_tokens for s in sequential]
    assert all(b.completion_tokens > 0 for b in batched)
    copies = local_backend.complete_batch_sync([tasks[1]] * 3)  # identical prompts: every sequence shares it all
    assert [c.text for c in copies] == [sequential[1].text] * 3


@pytest.mark.llm
def test_grammar_constrains_single_and_batched_answers(local_backend: Any) -> None:
    questions = ["How many legs does a spider have?", "What is the capital of France?", "Name a colour."]
    tasks = [KernelTask.chat(q, max_tokens=6, grammar=DIGITS) for q in questions]
    single = local_backend._complete_sync(tasks[1])
    assert single.text.isdigit(), single.text
    free = local_backend._complete_sync(KernelTask.chat(questions[1], max_tokens=6))
    assert not free.text.isdigit()  # without the grammar the model answers in words
    batched = local_backend.complete_batch_sync(tasks)
    assert all(b.text.isdigit() for b in batched), [b.text for b in batched]
    assert batched[1].text == single.text


@pytest.mark.llm
def test_bad_grammar_is_a_kernel_error_naming_the_fix(local_backend: Any) -> None:
    bad = KernelTask.chat("Count.", max_tokens=4, grammar="root ::= [0-9")
    with pytest.raises(KernelError, match=r"could not parse the task's GBNF grammar.*root ::="):
        local_backend._complete_sync(bad)
    with pytest.raises(KernelError, match="GBNF"):
        local_backend.complete_batch_sync([bad, KernelTask.chat("Count.", max_tokens=4)])


@pytest.mark.llm
def test_kernel_runs_a_step_through_the_batched_path(local_backend: Any) -> None:
    kernel = Kernel(local_backend)
    tasks = translate_prompts(3)
    results = asyncio.run(kernel.complete_many(tasks))
    assert kernel.usage.calls == 3 and all(r.text for r in results)
    assert kernel.usage.completion_tokens == sum(r.completion_tokens for r in results)


@pytest.mark.llm
def test_token_rates_measure_and_leave_the_backend_answering_alike(local_backend: Any) -> None:
    task = translate_prompts(1)[0]
    before = local_backend._complete_sync(task).text
    rates = local_backend.token_rates(task, decode=8, trials=2)
    assert rates["prefill_tok_s"] > 0 and rates["decode_tok_s"] > 0 and len(rates["decode_tok_s_trials"]) == 2
    assert rates["prompt_tokens"] == local_backend._complete_sync(task).prompt_tokens
    assert rates["threads"] == local_backend.n_threads
    assert local_backend._complete_sync(task).text == before

# -- the bench figures ---------------------------------------------------------------------------


def test_floor_ratio_divides_step_seconds_by_the_tokens_at_raw_rates() -> None:
    from experience_bench.throughput import floor_figures

    cold = [{"n": 4, "seconds": 8.0, "prompt_tokens": 1200, "completion_tokens": 200, "loss": 0.5}] * 2
    legacy = [{"n": 4, "seconds": 16.0, "prompt_tokens": 1200, "completion_tokens": 200, "loss": 0.5}] * 2
    rates = {"prefill_tok_s": 300.0, "decode_tok_s": 50.0, "threads": 2, "prefill_tok_s_trials": [300.0]}
    rates |= {"decode_tok_s_trials": [50.0], "prompt_tokens": 300, "decode_tokens": 64}
    figures, details = floor_figures(cold, legacy, rates)
    by_name = {f["name"]: f for f in figures}
    ratio = by_name["step time / token floor (s per sample per step over its tokens at the raw rates)"]
    assert ratio["value"] == pytest.approx(2.0 / (300 / 300 + 50 / 50))  # 2 s per sample over a 2 s floor
    assert ratio["ok"] is True and ratio["target"] == "<= 1.3"
    assert by_name["seconds per sample per step before batching"]["value"] == 4.0
    assert details["before_floor_ratio"] == 2.0 and details["same_step_losses"] is True
    no_rates, _ = floor_figures(cold, None, None)
    assert no_rates[-1]["value"] is None and "not the in-process" in no_rates[-1]["note"]


def test_batch_figure_compares_one_batch_with_one_call_at_a_time() -> None:
    from experience_bench.throughput import batch_figures, translate_tasks

    tasks = translate_tasks(ROOT / "datasets" / "viba")
    assert len(tasks) == 8 and len({t.messages[-1].content for t in tasks}) == 8
    assert len({t.messages[:-1] for t in tasks}) == 1  # system prompt and shot shared: the prefix every call reuses
    backend = BatchScripted(echo, max_batch=8)
    figures, details = batch_figures(Kernel(backend), tasks)
    assert backend.batches == [2, 8]  # the warm-up, then the measured batch; the rest went one at a time
    assert details["identical_answers"] == 8 and figures[0]["name"] == "batch of 8 / 8 sequential calls"
