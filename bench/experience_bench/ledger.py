"""Every LLM request the bench makes, answered by the backend or by the cache: counts and tokens per task tag.

The kernel's usage ledger counts only real calls, so a later seed (or variant) that finds its prompts cached
looks free. A request's cost here is its own completion's token counts (a cached answer keeps them), so the
figures do not depend on what ran before.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from experience.kernel import Completion, Kernel, KernelTask


@dataclass
class Tally:
    """Requests per task tag and the prompt/completion tokens of all of them (cached answers included)."""

    requests: Counter[str] = field(default_factory=Counter)
    prompt_tokens: int = 0
    completion_tokens: int = 0

    def add(self, task: KernelTask, completion: Completion) -> None:
        """Count one answered request."""
        self.requests[task.tag or "untagged"] += 1
        self.prompt_tokens += completion.prompt_tokens
        self.completion_tokens += completion.completion_tokens

    def copy(self) -> Tally:
        """An independent snapshot."""
        return Tally(Counter(self.requests), self.prompt_tokens, self.completion_tokens)

    def since(self, before: Tally) -> Tally:
        """What was requested between the `before` snapshot and now."""
        requests = Counter({k: v - before.requests.get(k, 0) for k, v in self.requests.items()})
        prompt = self.prompt_tokens - before.prompt_tokens
        return Tally(+requests, prompt, self.completion_tokens - before.completion_tokens)

    @property
    def total(self) -> int:
        """All requests, every tag."""
        return sum(self.requests.values())


class CountingKernel(Kernel):
    """A Kernel that also tallies every completion it returns (cache hits too), by task tag."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.tally = Tally()
        self._tally_lock = threading.Lock()

    def run(self, tasks: Sequence[KernelTask]) -> list[Completion]:
        """`Kernel.run`, then count each task with its completion."""
        batch = list(tasks)
        completions = super().run(batch)
        with self._tally_lock:
            for task, completion in zip(batch, completions, strict=True):
                self.tally.add(task, completion)
        return completions


def per_sample(steps: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Mean over steps of each step's requests and tokens divided by its samples (see `step_cost`)."""
    if not steps:
        return {}
    count = len(steps)
    tags = sorted({tag for s in steps for tag in s["requests"]})

    def mean(key: str, tag: str | None = None) -> float:
        """Mean over steps of the step's figure / its samples (`requests` of one tag, or of all, for key requests)."""
        total = 0.0
        for s in steps:
            value = s[key] if key != "requests" else (s[key].get(tag, 0) if tag else sum(s[key].values()))
            total += float(value) / max(int(s["n"]), 1)
        return total / count

    return {
        "steps": count,
        "requests_per_sample_per_step": round(mean("requests"), 3),
        "requests_by_tag_per_sample_per_step": {t: round(mean("requests", t), 3) for t in tags},
        "prompt_tokens_per_sample_per_step": round(mean("prompt_tokens"), 1),
        "completion_tokens_per_sample_per_step": round(mean("completion_tokens"), 1),
        "real_calls_per_sample_per_step": round(mean("real_calls"), 3),
        "real_prompt_tokens_per_sample_per_step": round(mean("real_prompt_tokens"), 1),
    }


def step_cost(record: dict[str, Any], used: Tally) -> dict[str, Any]:
    """One training step: its samples, every request by tag with tokens, and the real calls of its metrics."""
    return {
        "step": record.get("step"),
        "n": int(record.get("n", 0)),
        "requests": dict(sorted(used.requests.items())),
        "prompt_tokens": used.prompt_tokens,
        "completion_tokens": used.completion_tokens,
        "real_calls": int(record.get("calls", 0)),
        "real_prompt_tokens": int(record.get("prompt_tokens", 0)),
    }


def answer_cost(used: Tally, samples: int) -> dict[str, Any]:
    """Requests and tokens per answered sample (inference), counted for every request, cached or not."""
    n = max(samples, 1)
    return {
        "requests_per_sample": round(used.total / n, 3),
        "prompt_tokens_per_sample": round(used.prompt_tokens / n, 1),
        "completion_tokens_per_sample": round(used.completion_tokens / n, 1),
    }


def mean_of(costs: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Key-wise mean of numeric figures (nested dicts too) over seeds; keys missing in one count as 0."""
    if not costs:
        return {}
    out: dict[str, Any] = {}
    for key in dict.fromkeys(k for c in costs for k in c):
        values = [c.get(key) for c in costs]
        if any(isinstance(v, dict) for v in values):
            out[key] = mean_of([v if isinstance(v, dict) else {} for v in values])
        else:
            nums = [float(v or 0) for v in values]
            out[key] = round(sum(nums) / len(nums), 3)
    return out
