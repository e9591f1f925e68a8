"""The dispatcher: concurrency, timeouts, retries, cache, budgets, usage, sync entry point."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest

from doubles import ScriptedBackend
from experience.kernel import (
    BackendUnavailable,
    Budget,
    BudgetExceeded,
    Completion,
    Kernel,
    KernelError,
    KernelTask,
    Message,
    ResponseCache,
    TransientError,
    Usage,
)


def task(text: str, *, tag: str = "", max_tokens: int = 32) -> KernelTask:
    return KernelTask((Message("user", text),), max_tokens=max_tokens, tag=tag)


def echo(t: KernelTask) -> str:
    return f"echo {t.messages[-1].content}"


async def test_results_keep_order_and_fill_the_ledger() -> None:
    backend = ScriptedBackend(echo, delay=0.01, price=0.5)
    kernel = Kernel(backend, concurrency=4)
    prompts = ["one", "two words", "three more words", "four"]
    results = await kernel.complete_many([task(p) for p in prompts])
    assert [r.text for r in results] == [f"echo {p}" for p in prompts]
    assert not any(r.cached for r in results)
    assert kernel.usage.calls == 4
    assert kernel.usage.cache_hits == 0
    assert kernel.usage.prompt_tokens == 1 + 2 + 3 + 1
    assert kernel.usage.completion_tokens == 2 + 3 + 4 + 2
    assert kernel.usage.cost == pytest.approx((7 + 11) * 0.5)
    assert kernel.usage.seconds == pytest.approx(4 * 0.01)


@pytest.mark.parametrize("limit", [1, 3])
async def test_concurrency_limit_is_respected(limit: int) -> None:
    backend = ScriptedBackend(echo, delay=0.03)
    kernel = Kernel(backend, concurrency=limit)
    await kernel.complete_many([task(str(i)) for i in range(9)])
    assert backend.max_in_flight == limit
    assert len(backend.calls) == 9


def test_concurrency_limit_holds_across_threads_and_loops() -> None:
    backend = ScriptedBackend(echo, delay=0.02)
    kernel = Kernel(backend, concurrency=1)
    threads = [
        threading.Thread(target=kernel.run, args=([task(f"{n}-{i}") for i in range(4)],))
        for n in range(3)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(backend.calls) == 12
    assert backend.max_in_flight == 1


async def test_timeout_is_retried_then_raises_naming_the_attempts() -> None:
    backend = ScriptedBackend(echo, delay=1.0)
    kernel = Kernel(backend, timeout=0.05, retries=2, backoff=0.001)
    with pytest.raises(KernelError, match="after 3 attempts") as info:
        await kernel.complete(task("slow"))
    assert type(info.value) is KernelError
    assert "timed out after 0.05 s" in str(info.value)
    assert len(backend.calls) == 3
    assert kernel.usage.calls == 0


async def test_transient_failures_are_retried_until_success() -> None:
    backend = ScriptedBackend(echo, fail_first=2)
    kernel = Kernel(backend, retries=3, backoff=0.001)
    result = await kernel.complete(task("flaky"))
    assert result.text == "echo flaky"
    assert len(backend.calls) == 3
    assert kernel.usage.calls == 1


async def test_transient_failures_past_the_retries_raise_kernel_error() -> None:
    backend = ScriptedBackend(echo, fail_first=10)
    kernel = Kernel(backend, retries=1, backoff=0.001)
    with pytest.raises(KernelError, match="after 2 attempts") as info:
        await kernel.complete(task("down"))
    assert isinstance(info.value.__cause__, TransientError)
    assert len(backend.calls) == 2


async def test_backend_unavailable_is_not_retried() -> None:
    backend = ScriptedBackend(echo, fail_first=5, error=BackendUnavailable("no model"))
    kernel = Kernel(backend, retries=3, backoff=0.001)
    with pytest.raises(BackendUnavailable, match="no model"):
        await kernel.complete(task("x"))
    assert len(backend.calls) == 1


async def test_other_exceptions_propagate_unretried() -> None:
    backend = ScriptedBackend(echo, fail_first=5, error=ValueError)
    kernel = Kernel(backend, retries=3, backoff=0.001)
    with pytest.raises(ValueError, match="scripted failure 1"):
        await kernel.complete(task("x"))
    assert len(backend.calls) == 1


async def test_first_error_cancels_the_rest_of_the_batch() -> None:
    backend = ScriptedBackend(echo, delay=0.02, fail_first=1, error=BackendUnavailable("gone"))
    kernel = Kernel(backend, concurrency=1)
    with pytest.raises(BackendUnavailable):
        await kernel.complete_many([task(str(i)) for i in range(5)])
    started = len(backend.calls)  # the next task may have got the slot just before the error
    await asyncio.sleep(0.1)  # a task that was not cancelled would call the backend now
    assert started <= 2
    assert len(backend.calls) == started


def test_cache_hit_on_repeat_survives_a_new_kernel(tmp_path: Path) -> None:
    cache = tmp_path / "cache.sqlite"
    backend = ScriptedBackend(echo)
    with Kernel(backend, cache_path=cache) as kernel:
        first = kernel.run([task("hello")])[0]
        second = kernel.run([task("hello")])[0]
        assert (first.cached, second.cached) == (False, True)
        assert second.text == first.text == "echo hello"
        assert len(backend.calls) == 1
        assert (kernel.usage.calls, kernel.usage.cache_hits) == (1, 1)
        assert kernel.usage.prompt_tokens == 1  # hits cost no tokens
    fresh_backend = ScriptedBackend("a different answer")
    with Kernel(fresh_backend, cache_path=cache) as again:
        third = again.run([task("hello")])[0]
    assert third.text == "echo hello"
    assert third.cached
    assert fresh_backend.calls == []


def test_cache_key_ignores_tag_but_not_model_or_settings(tmp_path: Path) -> None:
    cache = tmp_path / "cache.sqlite"
    backend = ScriptedBackend(echo)
    with Kernel(backend, cache_path=cache) as kernel:
        kernel.run([task("same", tag="translate")])
        kernel.run([task("same", tag="query")])
        kernel.run([task("same", max_tokens=64)])
    assert len(backend.calls) == 2
    other_model = ScriptedBackend(echo, model="scripted-2")
    with Kernel(other_model, cache_path=cache) as kernel:
        kernel.run([task("same")])
    assert len(other_model.calls) == 1
    key = task("same").cache_key("scripted:scripted-1")
    assert key == task("same", tag="other").cache_key("scripted:scripted-1")
    assert key != KernelTask(task("same").messages, temperature=0.7, max_tokens=32).cache_key(
        "scripted:scripted-1"
    )


def test_cache_file_is_shared_by_concurrent_writers(tmp_path: Path) -> None:
    path = tmp_path / "shared.sqlite"
    caches = [ResponseCache(path), ResponseCache(path)]

    def write(n: int) -> None:
        for i in range(50):
            caches[n].put(f"{n}-{i}", Completion(f"text {n} {i}", 1, 2, 0.1, "m", cost=0.5))

    threads = [threading.Thread(target=write, args=(n,)) for n in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    reader = ResponseCache(path)
    assert len(reader) == 100
    assert reader.get("1-49") == Completion("text 1 49", 1, 2, 0.1, "m", cached=True, cost=0.5)
    assert reader.get("missing") is None
    for cache in [*caches, reader]:
        cache.close()
    with pytest.raises(ValueError, match="closed"):
        reader.get("1-49")


def test_identical_tasks_in_one_batch_cost_one_call(tmp_path: Path) -> None:
    backend = ScriptedBackend(echo, delay=0.01)
    with Kernel(backend, cache_path=tmp_path / "c.sqlite", concurrency=4) as kernel:
        results = kernel.run([task("a"), task("b"), task("a"), task("a")])
    assert [r.text for r in results] == ["echo a", "echo b", "echo a", "echo a"]
    assert [r.cached for r in results] == [False, False, True, True]
    assert len(backend.calls) == 2
    assert (kernel.usage.calls, kernel.usage.cache_hits) == (2, 2)


@pytest.mark.parametrize("concurrency", [1, 4])
async def test_call_cap_stops_before_the_next_real_call(concurrency: int) -> None:
    backend = ScriptedBackend(echo, delay=0.01)
    kernel = Kernel(backend, concurrency=concurrency, budget=Budget(max_calls=2))
    with pytest.raises(BudgetExceeded, match="max_calls=2") as info:
        await kernel.complete_many([task(str(i)) for i in range(5)])
    assert len(backend.calls) == 2
    assert kernel.usage.calls == 2  # calls in flight when the cap hit were finished, not lost
    assert "2 calls" in str(info.value) or "2 in flight" in str(info.value)


async def test_token_cap_stops_once_reached() -> None:
    backend = ScriptedBackend("four words of answer")  # 4 completion tokens per call
    kernel = Kernel(backend, budget=Budget(max_tokens=10))
    await kernel.complete(task("one"))  # 1 + 4 = 5 tokens
    await kernel.complete(task("two"))  # 10 tokens: the cap is reached
    with pytest.raises(BudgetExceeded, match="max_tokens=10"):
        await kernel.complete(task("three"))
    assert kernel.usage.prompt_tokens + kernel.usage.completion_tokens == 10
    assert len(backend.calls) == 2


async def test_cost_cap_stops_but_cache_hits_stay_free(tmp_path: Path) -> None:
    backend = ScriptedBackend("ok", price=0.01)  # 2 tokens = $0.02 per call
    kernel = Kernel(backend, cache_path=tmp_path / "c.sqlite", budget=Budget(max_cost=0.03))
    await kernel.complete(task("a"))
    await kernel.complete(task("b"))
    with pytest.raises(BudgetExceeded, match=r"max_cost=0\.03"):
        await kernel.complete(task("c"))
    again = await kernel.complete(task("a"))
    assert again.cached
    assert kernel.usage.cost == pytest.approx(0.04)
    kernel.close()


def test_usage_snapshot_difference_and_dict() -> None:
    backend = ScriptedBackend(echo, price=0.25)
    kernel = Kernel(backend)
    kernel.run([task("x y")])
    before = kernel.usage.snapshot()
    kernel.run([task("p q r")])
    step = kernel.usage - before
    assert before.calls == 1  # the snapshot did not move with the ledger
    assert step == Usage(calls=1, prompt_tokens=3, completion_tokens=4, cost=1.75, seconds=0.0)
    assert step.as_dict() == {
        "calls": 1,
        "cache_hits": 0,
        "prompt_tokens": 3,
        "completion_tokens": 4,
        "cost": 1.75,
        "seconds": 0.0,
    }


def test_run_from_plain_sync_code() -> None:
    kernel = Kernel(ScriptedBackend(echo), concurrency=2)
    results = kernel.run([task("a"), task("b")])
    assert [r.text for r in results] == ["echo a", "echo b"]


def test_run_from_inside_a_running_event_loop() -> None:
    kernel = Kernel(ScriptedBackend(echo, delay=0.01), concurrency=2)

    async def caller() -> list[str]:
        loop_thread = threading.get_ident()
        results = kernel.run([task("a"), task("b")])  # blocks this loop, runs on another
        assert threading.get_ident() == loop_thread
        return [r.text for r in results]

    assert asyncio.run(caller()) == ["echo a", "echo b"]
    assert kernel.usage.calls == 2


async def test_run_inside_an_async_test_and_then_await_again() -> None:
    kernel = Kernel(ScriptedBackend(echo))
    assert kernel.run([task("sync")])[0].text == "echo sync"
    assert (await kernel.complete(task("async"))).text == "echo async"
    assert kernel.usage.calls == 2


def test_chat_builder_puts_shots_as_turns() -> None:
    built = KernelTask.chat("q", system="s", shots=(("u1", "a1"),), tag="translate")
    assert [m.role for m in built.messages] == ["system", "user", "assistant", "user"]
    assert [m.content for m in built.messages] == ["s", "u1", "a1", "q"]
    assert built.tag == "translate"
