"""The usage ledger (calls, tokens, cost, time) and the budget caps checked against it."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace


@dataclass
class Usage:
    """Running totals of what the kernel spent; cache hits are counted apart from real calls."""

    calls: int = 0
    cache_hits: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float = 0.0
    seconds: float = 0.0

    @property
    def tokens(self) -> int:
        """Prompt plus completion tokens of the real calls."""
        return self.prompt_tokens + self.completion_tokens

    def snapshot(self) -> Usage:
        """Return an independent copy (take one before a step, subtract after)."""
        return replace(self)

    def __sub__(self, other: Usage) -> Usage:
        """Return what was spent between the ``other`` snapshot and this one."""
        return Usage(
            calls=self.calls - other.calls,
            cache_hits=self.cache_hits - other.cache_hits,
            prompt_tokens=self.prompt_tokens - other.prompt_tokens,
            completion_tokens=self.completion_tokens - other.completion_tokens,
            cost=self.cost - other.cost,
            seconds=self.seconds - other.seconds,
        )

    def as_dict(self) -> dict[str, float | int]:
        """Return the fields as a flat dict (for metrics.jsonl)."""
        return asdict(self)

    def describe(self) -> str:
        """Return a one-line human summary."""
        return (
            f"{self.calls} calls, {self.cache_hits} cache hits, "
            f"{self.prompt_tokens}+{self.completion_tokens} tokens, "
            f"${self.cost:.4f}, {self.seconds:.1f} s"
        )


@dataclass(frozen=True)
class Budget:
    """Caps on real calls, prompt+completion tokens and USD; ``None`` means no cap."""

    max_calls: int | None = None
    max_tokens: int | None = None
    max_cost: float | None = None

    def breach(self, usage: Usage, in_flight: int = 0) -> str | None:
        """Return which cap another call would cross, or ``None`` when the call may go ahead.

        ``in_flight`` real calls already reserved count against ``max_calls``; tokens and
        cost are known only after a call, so those caps stop the next call once reached.
        """
        if self.max_calls is not None and usage.calls + in_flight >= self.max_calls:
            return f"max_calls={self.max_calls}"
        if self.max_tokens is not None and usage.tokens >= self.max_tokens:
            return f"max_tokens={self.max_tokens}"
        if self.max_cost is not None and usage.cost >= self.max_cost:
            return f"max_cost={self.max_cost}"
        return None
