"""Check JSON values against the protocol's types (TypedDicts, lists, literals, unions); describe
those types as JSON Schema."""

from __future__ import annotations

import types
from collections.abc import Collection
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints, is_typeddict

_SCALARS: dict[Any, tuple[str, str]] = {
    str: ("string", "a string"),
    int: ("integer", "an integer"),
    float: ("number", "a number"),
    bool: ("boolean", "true or false"),
    type(None): ("null", "null"),
}


class ParamsError(ValueError):
    """A value that does not match its protocol type; the message names the field and the type."""


def _is_union(tp: Any) -> bool:
    return get_origin(tp) in (Union, types.UnionType)


def describe(tp: Any) -> str:
    """Short human description of a type ("an integer", "one of 'key', 'value'", ...)."""
    if tp in _SCALARS:
        return _SCALARS[tp][1]
    if get_origin(tp) is Literal:
        return "one of " + ", ".join(repr(a) for a in get_args(tp))
    if _is_union(tp):
        return " or ".join(describe(a) for a in get_args(tp))
    if get_origin(tp) is list:
        return "a list"
    if is_typeddict(tp) or get_origin(tp) is dict:
        return "an object"
    return "any value"


def _matches_scalar(tp: Any, value: Any) -> bool:
    if tp is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if tp is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if tp is type(None):
        return value is None
    return isinstance(value, tp)


def check(tp: Any, value: Any, where: str, *, ignore: Collection[str] = ()) -> Any:
    """Return `value` if it matches `tp`, else raise ParamsError naming `where` ("params.row")."""
    if tp is Any:
        return value
    if tp in _SCALARS:
        if not _matches_scalar(tp, value):
            raise ParamsError(f"{where} must be {describe(tp)}, got {value!r}")
        return value
    origin = get_origin(tp)
    if origin is Literal:
        if value not in get_args(tp):
            raise ParamsError(f"{where} must be {describe(tp)}, got {value!r}")
        return value
    if _is_union(tp):
        for option in get_args(tp):
            try:
                return check(option, value, where)
            except ParamsError:
                continue
        raise ParamsError(f"{where} must be {describe(tp)}, got {value!r}")
    if origin is list:
        if not isinstance(value, list):
            raise ParamsError(f"{where} must be a list, got {value!r}")
        (item,) = get_args(tp)
        return [check(item, v, f"{where}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise ParamsError(f"{where} must be an object, got {value!r}")
        return value
    if is_typeddict(tp):
        return _check_object(tp, value, where, ignore)
    raise TypeError(f"the protocol uses a type that wire.check does not know: {tp!r}")


def _check_object(tp: Any, value: Any, where: str, ignore: Collection[str]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ParamsError(f"{where} must be an object, got {value!r}")
    hints = get_type_hints(tp)
    unknown = sorted(set(value) - set(hints) - set(ignore))
    if unknown:
        raise ParamsError(f"{where} has unknown field(s) {', '.join(unknown)}; the fields are {', '.join(hints)}")
    missing = [k for k in hints if k in tp.__required_keys__ and k not in value]
    if missing:
        raise ParamsError(f"{where} is missing the field(s) {', '.join(missing)}")
    return {k: check(hints[k], v, f"{where}.{k}") if k in hints else v for k, v in value.items()}


def schema_of(tp: Any) -> dict[str, Any]:
    """JSON Schema of a protocol type (TypedDicts become objects titled with their class name)."""
    if tp is Any:
        return {}
    if tp in _SCALARS:
        return {"type": _SCALARS[tp][0]}
    origin = get_origin(tp)
    if origin is Literal:
        return {"enum": list(get_args(tp))}
    if _is_union(tp):
        return {"anyOf": [schema_of(a) for a in get_args(tp)]}
    if origin is list:
        return {"type": "array", "items": schema_of(get_args(tp)[0])}
    if origin is dict:
        return {"type": "object"}
    if is_typeddict(tp):
        hints = get_type_hints(tp)
        return {
            "title": tp.__name__,
            "description": (tp.__doc__ or "").strip(),
            "type": "object",
            "properties": {k: schema_of(v) for k, v in hints.items()},
            "required": [k for k in hints if k in tp.__required_keys__],
        }
    raise TypeError(f"no JSON Schema for {tp!r}")


__all__ = ["ParamsError", "check", "describe", "schema_of"]
