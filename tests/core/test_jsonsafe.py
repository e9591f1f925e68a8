"""Strict JSON records: NaN and infinities never reach a file or the wire; the kernel warns of an idle cost cap."""

from __future__ import annotations

import json
import logging
import math

import pytest

from doubles import ScriptedBackend
from experience.kernel import Budget, Kernel
from experience.train.jsonsafe import dumps_strict, finite_record


def test_finite_record_replaces_nonfinite_floats_and_names_them() -> None:
    record = {"loss": math.nan, "exact": 0.5, "step": 3, "parts": {"a": math.inf, "b": 1.0}, "xs": [1.0, -math.inf]}
    clean = finite_record(record)
    assert clean == {
        "loss": None,
        "exact": 0.5,
        "step": 3,
        "parts": {"a": None, "b": 1.0},
        "xs": [1.0, None],
        "nonfinite": ["loss", "parts.a", "xs[1]"],
    }
    assert math.isnan(record["loss"]), "the input is not changed"


def test_a_finite_record_comes_back_equal_without_a_nonfinite_key() -> None:
    record = {"loss": 0.25, "split": "val", "n": 4, "flag": True, "none": None}
    assert finite_record(record) == record


def test_finite_record_keeps_earlier_names() -> None:
    again = finite_record({"loss": None, "exact": math.nan, "nonfinite": ["loss"]})
    assert again["nonfinite"] == ["loss", "exact"]


def test_dumps_strict_never_writes_nan() -> None:
    text = dumps_strict({"loss": math.nan, "seconds": 1.5}, sort_keys=True)
    assert "NaN" not in text and json.loads(text) == {"loss": None, "nonfinite": ["loss"], "seconds": 1.5}
    assert json.loads(dumps_strict([1.0, math.inf])) == [1.0, None]
    with pytest.raises(ValueError):
        json.dumps({"x": math.nan}, allow_nan=False)  # what dumps_strict guards against


def test_a_cost_cap_on_a_backend_without_prices_warns_once(caplog: pytest.LogCaptureFixture) -> None:
    backend = ScriptedBackend("x")
    assert backend.cost(1000, 1000) == 0
    with caplog.at_level(logging.WARNING, logger="experience.kernel.dispatcher"):
        kernel = Kernel(backend, budget=Budget(max_cost=0.5))
    assert len(kernel.warnings) == 1 and "max_cost=0.5" in kernel.warnings[0]
    assert "max_calls" in kernel.warnings[0]
    assert [r.getMessage() for r in caplog.records] == kernel.warnings
    assert Kernel(backend, budget=Budget(max_calls=3)).warnings == []
    assert Kernel(backend).warnings == []


def test_no_warning_when_the_backend_prices_tokens_or_reports_cost() -> None:
    assert Kernel(ScriptedBackend("x", price=1e-6), budget=Budget(max_cost=1.0)).warnings == []
    reporting = ScriptedBackend("x")
    reporting.reports_cost = True  # type: ignore[attr-defined]
    assert Kernel(reporting, budget=Budget(max_cost=1.0)).warnings == []
