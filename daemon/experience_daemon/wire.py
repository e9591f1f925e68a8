"""Check JSON values against the protocol's types (TypedDicts, lists, literals, unions); describe
those types as JSON Schema; check that a message is a JSON-RPC 2.0 request, notification or response."""

from __future__ import annotations

import json
import types
from collections.abc import Collection
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints, is_typeddict

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
MessageKind = Literal["request", "notification", "response"]

_SCALARS: dict[Any, tuple[str, str]] = {
    str: ("string", "a string"),
    int: ("integer", "an integer"),
    float: ("number", "a number"),
    bool: ("boolean", "true or false"),
    type(None): ("null", "null"),
}


class ParamsError(ValueError):
    """A value that does not match its protocol type; the message names the field and the type."""


class MessageError(ValueError):
    """A message that is not JSON-RPC 2.0: answer `code` with `msg_id` (None: id null) unless not `answer`."""

    def __init__(self, code: int, message: str, msg_id: int | str | None = None, *, answer: bool = True) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.msg_id = msg_id
        self.answer = answer


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


def brief(value: Any, limit: int = 60) -> str:
    """A short JSON-ish rendering of a value for an error message (containers by kind only)."""
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "an array"
    try:
        text = json.dumps(value)
    except (TypeError, ValueError):
        text = type(value).__name__
    return text if len(text) <= limit else text[:limit] + "..."


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


def decode_message(body: bytes) -> Any:
    """The JSON value of a message body; MessageError (parse error) if it is not UTF-8 JSON."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        reason = f"{error.reason} at byte {error.start}"
        raise MessageError(PARSE_ERROR, f"parse error: the message is not UTF-8 ({reason}); send UTF-8 JSON") from None
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except RecursionError:
        raise MessageError(PARSE_ERROR, "parse error: the message nests arrays or objects too deeply") from None
    except ValueError as error:  # JSONDecodeError, NaN/Infinity, integers with too many digits
        raise MessageError(PARSE_ERROR, f"parse error: the message is not JSON ({error}); it was dropped") from None


def is_message_id(value: Any) -> bool:
    """Whether `value` can be a request id (LSP: an integer or a string)."""
    return isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool))


def _check_response(value: dict[str, Any]) -> MessageKind:
    msg_id = value.get("id")
    problem = None
    if value.get("jsonrpc") != "2.0":
        problem = f'jsonrpc must be "2.0", got {brief(value.get("jsonrpc"))}'
    elif "result" in value and "error" in value:
        problem = "a response has both result and error"
    elif not is_message_id(msg_id) and not ("error" in value and msg_id is None):
        problem = f"a response id must be an integer or a string, got {brief(msg_id)}"
    elif "error" in value:
        error = value["error"]
        code = error.get("code") if isinstance(error, dict) else None
        if isinstance(code, bool) or not isinstance(code, int) or not isinstance(error.get("message"), str):
            problem = "a response error must be an object with an integer code and a string message"
    if problem is not None:  # a response is never answered (that could loop between two peers)
        raise MessageError(INVALID_REQUEST, f"invalid response dropped: {problem}", answer=False)
    return "response"


def check_message(value: Any) -> MessageKind:
    """What a decoded message is; MessageError (invalid request) says what is wrong and how to fix it."""
    if isinstance(value, list):
        raise MessageError(
            INVALID_REQUEST,
            "invalid request: batches (JSON arrays) are not supported; send each message as one JSON object "
            "with its own Content-Length header",
        )
    if not isinstance(value, dict):
        raise MessageError(INVALID_REQUEST, f"invalid request: a message must be a JSON object, got {brief(value)}")
    if "method" not in value and ("result" in value or "error" in value):
        return _check_response(value)
    has_id = "id" in value
    usable_id = value["id"] if has_id and is_message_id(value["id"]) else None
    if has_id and usable_id is None:
        raise MessageError(
            INVALID_REQUEST, f"invalid request: id must be an integer or a string, got {brief(value['id'])}"
        )
    if value.get("jsonrpc") != "2.0":
        got = brief(value["jsonrpc"]) if "jsonrpc" in value else "nothing"
        raise MessageError(INVALID_REQUEST, f'invalid request: jsonrpc must be "2.0", got {got}', usable_id)
    if "method" not in value:
        needs = "a message needs a method (or, for a response, a result or an error)"
        raise MessageError(INVALID_REQUEST, f"invalid request: {needs}", usable_id)
    if not isinstance(value["method"], str):
        raise MessageError(
            INVALID_REQUEST, f"invalid request: method must be a string, got {brief(value['method'])}", usable_id
        )
    params = value.get("params")
    if params is not None and not isinstance(params, dict | list):
        raise MessageError(
            INVALID_REQUEST, f"invalid request: params must be an object or an array, got {brief(params)}", usable_id
        )
    return "request" if has_id else "notification"


__all__ = [
    "INVALID_REQUEST",
    "PARSE_ERROR",
    "MessageError",
    "MessageKind",
    "ParamsError",
    "brief",
    "check",
    "check_message",
    "decode_message",
    "describe",
    "is_message_id",
    "schema_of",
]
