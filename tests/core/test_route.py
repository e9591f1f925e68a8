"""Routing wrong samples to rows under bounded capacity: own, refine, new, evict, merge; nothing dropped."""

from __future__ import annotations

import numpy as np
import pytest

from experience.function.route import route_samples


def _route(keys: list[str | None], trust: list[float], sources: list[str], **kw: object) -> tuple[dict, list]:
    args: dict = {
        "keys": keys,
        "trust": np.array(trust),
        "sources": sources,
        "picks": [[] for _ in sources],
        "similarity": [0.0 for _ in sources],
        "live": [True for _ in sources],
        "refine": False,
        "capacity": "evict",
        "rng": None,
    }
    args.update(kw)
    return route_samples(**args)


def test_each_sample_gets_its_own_free_row_while_rows_are_free() -> None:
    routes, per_sample = _route([None, None, None], [0, 0, 0], ["a", "b"])
    assert per_sample[0] != per_sample[1]
    assert {r.action for r in routes.values()} == {"new"}


def test_a_row_holding_the_source_is_its_own_row() -> None:
    routes, per_sample = _route(["a\n", None], [0.7, 0], ["a"])
    assert per_sample == [0] and routes[0].action == "own"


def test_a_row_at_zero_is_free_even_with_text_but_empty_rows_come_first() -> None:
    routes, per_sample = _route(["old", None, "kept"], [0.0, 0.0, 0.9], ["x", "y"])
    assert per_sample == [1, 0]
    assert routes[0].action == "new"


def test_evict_takes_the_least_trusted_row_not_used_this_step() -> None:
    routes, per_sample = _route(["p", "q", "r"], [0.9, 0.2, 0.5], ["x", "y"])
    assert per_sample == [1, 2]
    assert routes[1].action == "evict" and routes[1].evicted_trust == pytest.approx(0.2)


def test_more_samples_than_rows_merge_instead_of_overwriting() -> None:
    picks = [[0], [0], [1]]
    routes, per_sample = _route(["p", "q"], [0.9, 0.8], ["x", "y", "z"], picks=picks)
    assert per_sample == [1, 0, 1]  # x evicts 1 (least trusted), y evicts 0, z has no unused row: merges
    assert routes[1].samples == [0, 2] and routes[1].action == "evict"
    assert sum(len(r.samples) for r in routes.values()) == 3  # no sample dropped


def test_merge_policy_merges_into_the_best_retrieved_row() -> None:
    routes, per_sample = _route(["p", "q"], [0.9, 0.8], ["x", "y"], picks=[[1], [1]], capacity="merge")
    assert per_sample == [1, 1]
    assert routes[1].action == "merge" and routes[1].samples == [0, 1]


def test_llm_mode_refines_a_similar_retrieved_row_and_groups_its_samples() -> None:
    routes, per_sample = _route(
        ["p", None, None], [1.0, 0, 0], ["x", "y", "z"],
        picks=[[0], [0], [0]], similarity=[0.5, 0.6, 0.1], refine=True,
    )  # fmt: skip
    assert per_sample[:2] == [0, 0] and routes[0].action == "refine" and routes[0].samples == [0, 1]
    assert per_sample[2] in (1, 2) and routes[per_sample[2]].action == "new"  # too dissimilar: a new row


def test_samples_without_a_diff_are_not_routed_and_bad_policy_is_refused() -> None:
    _, per_sample = _route([None], [0], ["a"], live=[False])
    assert per_sample == [None]
    with pytest.raises(ValueError, match="capacity policy"):
        _route([None], [0], ["a"], capacity="lru")
