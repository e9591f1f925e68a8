"""Strict JSON for records (metrics, reports): NaN and infinities become null, named under "nonfinite"."""

from __future__ import annotations

import json
import math
from typing import Any

NONFINITE = "nonfinite"


def _clean(value: Any, name: str, replaced: list[str]) -> Any:
    """`value` with every non-finite float (at any depth) replaced by None; their names appended to `replaced`."""
    if isinstance(value, float) and not math.isfinite(value):
        replaced.append(name)
        return None
    if isinstance(value, dict):
        return {k: _clean(v, f"{name}.{k}" if name else str(k), replaced) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v, f"{name}[{i}]", replaced) for i, v in enumerate(value)]
    return value


def finite_record(record: dict[str, Any]) -> dict[str, Any]:
    """A copy of `record` with NaN/inf floats as None; "nonfinite" lists the replaced keys (dotted when nested)."""
    replaced: list[str] = []
    out: dict[str, Any] = _clean(record, "", replaced)
    if replaced:
        earlier = out.get(NONFINITE)
        previous = [str(k) for k in earlier] if isinstance(earlier, list) else []
        out[NONFINITE] = previous + [k for k in replaced if k not in previous]
    return out


def dumps_strict(obj: Any, **kwargs: Any) -> str:
    """json.dumps that never writes NaN or Infinity (a dict goes through finite_record first)."""
    clean = finite_record(obj) if isinstance(obj, dict) else _clean(obj, "", [])
    return json.dumps(clean, allow_nan=False, **kwargs)
