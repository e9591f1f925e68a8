"""Request objects: every invalid one gets a JSON-RPC 2.0 error (never a traceback), LSP's lifecycle is enforced,
and the daemon still serves after thousands of fuzzed messages (in-process, then a real daemon over stdio)."""

from __future__ import annotations

import itertools
import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from raw_daemon import Harness, RawDaemon, flush, frame, stream_from

from experience_daemon.wire import is_message_id

NULL, NONE = "answer with id null", "no answer"


@pytest.fixture
def harness() -> Iterator[Harness]:
    h = Harness()
    yield h
    h.close()


def check_conforms(message: dict[str, Any]) -> None:
    """A JSON-RPC 2.0 response (or a notification) with no Python traceback anywhere in it."""
    assert message.get("jsonrpc") == "2.0", message
    text = json.dumps(message)
    assert "Traceback" not in text and 'File "' not in text and '"traceback"' not in text, message
    if "method" in message:
        assert "id" not in message and isinstance(message["method"], str)
        return
    assert "id" in message and (message["id"] is None or is_message_id(message["id"])), message
    assert ("result" in message) != ("error" in message), message
    if "error" in message:
        error = message["error"]
        assert isinstance(error["code"], int) and isinstance(error["message"], str) and error["message"], message


def expected_answer(value: Any) -> Any:
    """What JSON-RPC 2.0 and LSP require for a message: its id, NULL (an error with id null) or NONE."""
    if not isinstance(value, dict):
        return NULL
    if "method" not in value and ("result" in value or "error" in value):
        return NONE  # a response is never answered
    if "id" in value:
        return value["id"] if is_message_id(value["id"]) else NULL
    params = value.get("params")
    valid = value.get("jsonrpc") == "2.0" and isinstance(value.get("method"), str)
    return NONE if valid and (params is None or isinstance(params, dict | list)) else NULL


INVALID = [
    (b"[]", None, -32600, "batches (JSON arrays) are not supported"),
    (b'[{"jsonrpc": "2.0", "id": 1, "method": "experience/status"}]', None, -32600, "send each message"),
    (b"null", None, -32600, "must be a JSON object, got null"),
    (b'"hello"', None, -32600, 'got "hello"'),
    (b'{"id": 3, "method": "experience/status"}', 3, -32600, 'jsonrpc must be "2.0", got nothing'),
    (b'{"jsonrpc": "1.0", "id": "a", "method": "experience/status"}', "a", -32600, 'got "1.0"'),
    (b'{"jsonrpc": "2.0", "id": 4, "method": 12}', 4, -32600, "method must be a string, got 12"),
    (b'{"jsonrpc": "2.0", "method": ["x"]}', None, -32600, "method must be a string, got an array"),
    (b'{"jsonrpc": "2.0", "id": {"a": 1}, "method": "experience/status"}', None, -32600, "id must be an integer"),
    (b'{"jsonrpc": "2.0", "id": [1], "method": "experience/status"}', None, -32600, "got an array"),
    (b'{"jsonrpc": "2.0", "id": 1.5, "method": "experience/status"}', None, -32600, "got 1.5"),
    (b'{"jsonrpc": "2.0", "id": true, "method": "experience/status"}', None, -32600, "got true"),
    (b'{"jsonrpc": "2.0", "id": null, "method": "experience/status"}', None, -32600, "got null"),
    (b'{"jsonrpc": "2.0", "id": 5, "method": "experience/status", "params": 3}', 5, -32600, "params must be"),
    (b'{"jsonrpc": "2.0", "id": 6}', 6, -32600, "a message needs a method"),
    (b'{"jsonrpc": "2.0", "id": 7, "method": "experience/status", "params": {"runDir": 1}}', 7, -32602, "runDir"),
    (b'{"jsonrpc": "2.0", "id": 8, "method": "$/setTrace", "params": {"value": 5}}', 8, -32602, "$.params.value"),
    (b'{"jsonrpc": "2.0", "id": 9, "method": "initialize", "params": {}}', 9, -32600, "only be sent once"),
    (b'{"jsonrpc": "2.0", "id": 10, "method": "experience/nothing"}', 10, -32601, "experience/nothing"),
    (b'{"jsonrpc": "2.0", "id": 11, "method": "exit"}', 11, -32600, "exit is a notification"),
    (b'{"jsonrpc": "2.0", "id": 12, "method": "experience/status", "error": 3, "params": [1]}', 12, -32602, "params"),
    (b"{", None, -32700, "not JSON"),
    (b"", None, -32700, "not JSON"),
    (b'{"a": NaN}', None, -32700, "NaN is not a JSON value"),
    (b'{"id": 1' + b"0" * 5000 + b"}", None, -32700, "not JSON"),
    (b"[" * 100000 + b"]" * 100000, None, -32700, "too deeply"),
    (b'{"jsonrpc": "2.0", "id": 1, "method": "\xff"}', None, -32700, "not UTF-8"),
]


@pytest.mark.parametrize(("body", "answer_id", "code", "says"), INVALID, ids=[case[3] for case in INVALID])
def test_each_invalid_message_gets_a_conformant_error(
    harness: Harness, body: bytes, answer_id: Any, code: int, says: str
) -> None:
    (answer,) = harness.exchange([body], Counter([answer_id]))
    check_conforms(answer)
    assert answer["id"] == answer_id and answer["error"]["code"] == code, answer
    assert says in answer["error"]["message"], answer


def test_responses_and_valid_notifications_are_never_answered(harness: Harness) -> None:
    quiet = [
        {"jsonrpc": "2.0", "id": 99, "result": None},  # a response to nothing the daemon asked
        {"jsonrpc": "2.0", "id": 98, "error": {"code": 1, "message": "no"}},
        {"jsonrpc": "2.0", "id": {}, "result": 1},  # an invalid response: logged, not answered
        {"jsonrpc": "2.0", "method": "experience/unknownNotification", "params": {}},
        {"jsonrpc": "2.0", "method": "$/cancelRequest", "params": {"id": "nobody"}},
        {"jsonrpc": "2.0", "method": "$/cancelRequest", "params": {"wrong": 1}},
    ]
    ping = {"jsonrpc": "2.0", "id": "ping", "method": "experience/status", "params": {}}
    answers = harness.exchange([json.dumps(m).encode() for m in [*quiet, ping]], Counter(["ping"]))
    assert [a["id"] for a in answers] == ["ping"] and "result" in answers[0]


def test_a_failing_handler_answers_without_its_traceback(harness: Harness) -> None:
    harness.server.feature("experience/testBoom")(lambda params: 1 / 0)
    (answer,) = harness.call({"jsonrpc": "2.0", "id": 1, "method": "experience/testBoom"})
    check_conforms(answer)
    assert answer["error"]["code"] == -32603 and "ZeroDivisionError" in answer["error"]["message"]
    assert "see the daemon log" in answer["error"]["message"] and answer["error"].get("data") is None


def test_lsp_lifecycle_before_initialize_and_after_shutdown() -> None:
    h = Harness(initialize=False)
    try:
        (early,) = h.call({"jsonrpc": "2.0", "id": 1, "method": "experience/status", "params": {}})
        assert early["error"]["code"] == -32002 and early["error"]["data"] == {"kind": "serverNotInitialized"}
        assert "send the initialize request before experience/status" in early["error"]["message"]
        notes = [{"jsonrpc": "2.0", "method": "initialized", "params": {}}, {"jsonrpc": "2.0", "method": "x/y"}]
        assert h.exchange([json.dumps(n).encode() for n in notes], Counter()) == []  # dropped, not answered
        (bad,) = h.call({"jsonrpc": "2.0", "id": 2, "method": "initialize", "params": {"processId": "me"}})
        assert bad["error"]["code"] == -32602 and "$.params.process_id" in bad["error"]["message"]
        assert not h.protocol.initialized  # a refused initialize does not count
        (ok,) = h.call({"jsonrpc": "2.0", "id": 3, "method": "initialize", "params": {"capabilities": {}}})
        assert ok["result"]["serverInfo"]["name"] == "experience-daemon"
        assert "result" in h.call({"jsonrpc": "2.0", "id": 4, "method": "experience/status"})[0]
        assert h.call({"jsonrpc": "2.0", "id": 5, "method": "shutdown"}) == [
            {"jsonrpc": "2.0", "id": 5, "result": None}
        ]
        (late,) = h.call({"jsonrpc": "2.0", "id": 6, "method": "experience/status"})
        assert late["error"]["code"] == -32600 and "came after shutdown" in late["error"]["message"]
        with pytest.raises(SystemExit) as stop:
            h.protocol.receive(b'{"jsonrpc": "2.0", "method": "exit"}')
        assert stop.value.code == 0
    finally:
        h.close()


# -- fuzz ---------------------------------------------------------------------------------------------
# Methods that cannot start work or end the daemon (no train, openRun, writeEntry, shutdown, exit).
METHODS = [
    *("experience/status", "experience/listEntries", "experience/readEntry", "experience/patches"),
    *("experience/cancel", "experience/closeRun", "experience/nothing", "initialize", "initialized"),
    *("$/cancelRequest", "$/setTrace", "textDocument/hover", "workspace/didChangeConfiguration", ""),
]
PARAMS = [{}, [], None, {"runDir": "/nonexistent/run"}, {"runDir": 5}, {"row": "one"}, {"capabilities": {}}]
PARAMS += [{"id": 1}, {"value": "off"}, {"runDir": "/x", "row": 0, "column": "key"}, "text", 5, True, [1, {"a": None}]]
ODD = [None, True, 12, 1.5, [], {}, ["x"], "EXPERIENCE/STATUS", "experience/status\x00", "é/ü", "x/"]
BAD_IDS = [None, 1.5, True, {}, [], {"a": 1}, -0.0]
EXTRAS: dict[str, dict[str, Any]] = {
    "none": {},
    "result": {"result": None},
    "error": {"error": {"code": 1, "message": "m"}},
    "bad error": {"error": {"code": "x"}},
    "both": {"result": 1, "error": {"code": 2, "message": "m"}},
}


POOLS: dict[str, list[Any]] = {  # simplest first: shrinking the entropy bytes towards zero simplifies the message
    "jsonrpc": ["2.0", "2.0", "2.0", "2.0", "2.0", "1.0", 2, None, "absent"],
    "id": ["int", "str", "int", "str", "absent", "absent", *BAD_IDS],
    "method": [*METHODS, *METHODS, *ODD, "absent"],
    "params": [*PARAMS, "absent", "absent"],
    "extra": ["none", "none", "none", "none", *EXTRAS],
}


def object_from(entropy: bytes) -> dict[str, Any]:
    """A message object: one entropy byte picks each member from its pool ("absent" leaves it out)."""
    picks = {name: pool[byte % len(pool)] for (name, pool), byte in zip(POOLS.items(), entropy, strict=True)}
    value = {k: v for k, v in picks.items() if k != "extra" and not (isinstance(v, str) and v == "absent")}
    return {**value, **EXTRAS[picks["extra"]]}


# one draw per message keeps thousands of cases fast; raw bytes cover what the pools do not
objects = st.binary(min_size=len(POOLS), max_size=len(POOLS)).map(object_from)
messages = st.one_of(
    objects,
    objects,
    objects,
    objects,
    st.sampled_from([[], [{}], None, 1, "x", True]).map(json.dumps),
    st.binary(max_size=16),
)


def materialise(message: Any, ids: Iterator[int]) -> tuple[bytes, Any]:
    """The body to send and the answer it must get; "int"/"str" ids become unique valid ids."""
    if isinstance(message, bytes | str):
        body = message.encode() if isinstance(message, str) else message
        try:
            return body, expected_answer(json.loads(body))
        except ValueError:
            return body, NULL
    value = dict(message)
    if value.get("id") == "absent":
        del value["id"]
    elif value.get("id") in ("int", "str"):
        n = next(ids)
        value["id"] = n if value["id"] == "int" else f"s{n}"
    return json.dumps(value).encode(), expected_answer(value)


def test_fuzz_request_objects_in_process(harness: Harness) -> None:
    ids = itertools.count()

    @settings(max_examples=3500, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.lists(messages, min_size=1, max_size=3))
    def exchange(batch: list[Any]) -> None:
        bodies, answers = zip(*(materialise(m, ids) for m in batch), strict=True)
        expect_ids = Counter(a for a in answers if a not in (NULL, NONE))
        got = harness.exchange(list(bodies), expect_ids)
        for message in got:
            check_conforms(message)
        responses = [m for m in got if "method" not in m]
        assert Counter(m["id"] for m in responses if m["id"] is not None) == expect_ids
        nulls = [m for m in responses if m["id"] is None]
        assert len(nulls) == answers.count(NULL), (batch, got)
        assert all(m["error"]["code"] in (-32700, -32600) for m in nulls)

    exchange()
    (status,) = harness.call({"jsonrpc": "2.0", "id": "after", "method": "experience/status", "params": {}})
    assert status["result"]["runs"] == []
    assert harness.call({"jsonrpc": "2.0", "id": "bye", "method": "shutdown"})[0]["result"] is None
    with pytest.raises(SystemExit) as stop:
        harness.protocol.receive(b'{"jsonrpc": "2.0", "method": "exit"}')
    assert stop.value.code == 0


def test_fuzz_a_real_daemon_over_stdio(tmp_path: Path) -> None:
    limit = 512
    daemon = RawDaemon(tmp_path, "--max-message-bytes", str(limit))
    ids = itertools.count()
    try:
        before = daemon.request("early", "experience/status", {})
        assert before["error"]["code"] == -32002
        daemon.initialize()

        @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
        @given(st.binary(max_size=80), st.lists(messages, max_size=3))
        def survive(entropy: bytes, batch: list[Any]) -> None:
            daemon.send_bytes(stream_from(entropy) + b"".join(frame(materialise(m, ids)[0]) for m in batch))
            daemon.send_bytes(flush(limit))
            ping = f"ping{next(ids)}"
            assert "result" in daemon.request(ping, "experience/status", {})
            for message in daemon.messages:
                check_conforms(message)
            daemon.messages.clear()

        survive()
        assert daemon.finish() == 0
        assert "Traceback" not in daemon.stderr
    finally:
        daemon.kill()


def test_exit_without_shutdown_exits_with_code_1(tmp_path: Path) -> None:
    daemon = RawDaemon(tmp_path)
    try:
        assert daemon.finish(shutdown=False) == 1  # LSP: exit before shutdown (or initialize) is an error exit
        assert "exit received (without shutdown)" in daemon.stderr
    finally:
        daemon.kill()
