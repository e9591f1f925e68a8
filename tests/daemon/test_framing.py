"""Content-Length framing: bounded, resynchronising, never a crash or a hang (unit, fuzz, and a real daemon)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from raw_daemon import BODIES, RawDaemon, flush, frame, stream_from

from experience_daemon.framing import (
    CHUNK,
    DEFAULT_MAX_MESSAGE_BYTES,
    MAX_HEADER_LINE,
    MAX_MESSAGE_ENV,
    BadFrame,
    EndOfInput,
    Event,
    Frame,
    FrameReader,
    max_message_bytes,
)

SENTINEL = b'{"jsonrpc":"2.0","id":"sentinel","method":"experience/status"}'


def events(data: bytes, max_bytes: int = 1024) -> list[Event]:
    """Every event of a stream, up to and including its end (fails on a reader that stops making progress)."""
    reader = FrameReader(io.BytesIO(data), max_bytes)
    out: list[Event] = []
    while not out or not isinstance(out[-1], EndOfInput):
        out.append(reader.read())
        assert len(out) <= len(data) + 2, "the reader returned more events than there are bytes"
    return out


def bodies(data: bytes, max_bytes: int = 1024) -> list[bytes]:
    """The bodies of the stream's good frames."""
    return [e.body for e in events(data, max_bytes) if isinstance(e, Frame)]


def test_back_to_back_frames_with_tolerated_variations() -> None:
    stream = (
        frame(b"{}")
        + b"\r\n\r\n"  # blank lines between messages
        + b"content-length: 2\nContent-Type: application/vscode-jsonrpc; charset=utf-8\n\n[]"  # bare \n, any case
        + b"Content-Length:   4  \r\nX-Other: y\r\n\r\nnull"
        + frame("é".encode())
    )
    got = events(stream)
    assert got[:-1] == [Frame(b"{}"), Frame(b"[]"), Frame(b"null"), Frame("é".encode())]
    assert got[-1] == EndOfInput("end of input", clean=True)


@pytest.mark.parametrize(
    ("header", "says"),
    [
        (b"Content-Length: abc\r\n\r\n", "decimal number"),
        (b"Content-Length: -5\r\n\r\n", "decimal number"),
        (b"Content-Length: \r\n\r\n", "decimal number"),
        (b"Content-Length: 1e3\r\n\r\n", "decimal number"),
        (b"Content-Length: 3\r\nContent-Length: 4\r\n\r\n", "two different Content-Length"),
        (b"Content-Type: text/plain\r\n\r\n", "no Content-Length"),
        (b'{"jsonrpc": "2.0"}\r\n', "not a 'Name: value' header"),
        (b"X" * (MAX_HEADER_LINE + 10), "longer than"),
        (b"X-A: 1\r\n" * 40, "more than 32 header lines"),
    ],
)
def test_a_broken_header_is_answered_then_the_stream_resynchronises(header: bytes, says: str) -> None:
    got = events(header + b'{"half": "a body"}' + frame(SENTINEL))
    bad = [e for e in got if isinstance(e, BadFrame)]
    assert bad and bad[0].code == -32700 and says in bad[0].message, got
    assert "skipped input up to the next Content-Length header" in bad[0].message
    assert [e for e in got if isinstance(e, Frame)] == [Frame(SENTINEL)]
    assert got[-1].clean if isinstance(got[-1], EndOfInput) else False


def test_garbage_glued_to_the_next_header_still_finds_it() -> None:
    assert bodies(b"Content-Len" + frame(SENTINEL)) == [SENTINEL]
    assert bodies(b"\x00\xff garbage" + frame(SENTINEL)) == [SENTINEL]


class LazySource:
    """`total` bytes of filler after `head`, produced chunk by chunk; records the reader's largest buffer."""

    def __init__(self, head: bytes, total: int, tail: bytes) -> None:
        self.parts: Iterator[bytes] = iter([head, *self._filler(total), tail])
        self.reader: FrameReader | None = None
        self.largest = 0

    @staticmethod
    def _filler(total: int) -> Iterator[bytes]:
        for start in range(0, total, CHUNK):
            yield b"x" * min(CHUNK, total - start)

    def read1(self, size: int = -1) -> bytes:
        """The next part (recording how much the reader holds right now)."""
        if self.reader is not None:
            self.largest = max(self.largest, len(self.reader.buf))
        return next(self.parts, b"")


def test_an_oversized_message_is_refused_and_skipped_without_buffering_it() -> None:
    source = LazySource(b"Content-Length: 1000000000000\r\n\r\n", 50 * 1024 * 1024, frame(SENTINEL))
    reader = FrameReader(source, max_bytes=1024 * 1024)
    source.reader = reader
    first = reader.read()
    assert isinstance(first, BadFrame) and first.code == -32600
    assert "1000000000000 bytes is over the limit of 1048576 bytes" in first.message
    assert "--max-message-bytes" in first.message and MAX_MESSAGE_ENV in first.message
    assert reader.read() == Frame(SENTINEL)
    assert reader.read() == EndOfInput("end of input", clean=True)
    assert source.largest <= 2 * CHUNK, "the skipped body was buffered"


def test_a_message_at_the_limit_is_read_and_one_byte_more_is_refused() -> None:
    assert bodies(frame(b"x" * 100), max_bytes=100) == [b"x" * 100]
    first, *rest = events(frame(b"x" * 101) + frame(b"{}"), max_bytes=100)
    assert isinstance(first, BadFrame) and first.code == -32600
    assert "101 bytes is over the limit of 100" in first.message
    assert rest == [Frame(b"{}"), EndOfInput("end of input", clean=True)]
    first, *rest = events(b"Content-Length: " + b"9" * 5000 + b"\r\n\r\n" + frame(b"{}"))
    assert isinstance(first, BadFrame)
    assert "99999999999999999999... (5000 digits) bytes is over the limit" in first.message
    assert rest == [Frame(b"{}"), EndOfInput("end of input", clean=True)]


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "end of input"),
        (frame(b"{}") + b"\r\n", "end of input"),
        (b"Content-Length: 100\r\n\r\n0123456789", "input ended inside a message body (10 of 100 bytes)"),
        (b"Content-Length: 100\r\n", "input ended inside a message header"),
        (b"Content-Le", "input ended inside a message header"),
        (b"Content-Length: x\r\n\r\nnever a header again", "input ended while skipping a broken message"),
    ],
)
def test_the_end_of_input_is_reported_with_its_reason(data: bytes, reason: str) -> None:
    end = events(data)[-1]
    assert isinstance(end, EndOfInput) and reason in end.reason
    assert end.clean == (reason == "end of input")


def test_the_limit_comes_from_the_option_then_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(MAX_MESSAGE_ENV, raising=False)
    assert max_message_bytes() == DEFAULT_MAX_MESSAGE_BYTES == 64 * 1024 * 1024
    monkeypatch.setenv(MAX_MESSAGE_ENV, "5000")
    assert max_message_bytes() == 5000
    assert max_message_bytes("1000") == 1000
    for bad in ("lots", "0", "-1"):
        with pytest.raises(ValueError, match="message size limit"):
            max_message_bytes(bad)


# -- fuzz: any bytes, then a flush, then a good frame: the good frame is always found -----------------
# (one hypothesis draw per case, decoded by stream_from, keeps 6,500 cases fast; shrinking the bytes shrinks the case)
FUZZ_LIMIT = 512


@settings(max_examples=6500, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.binary(max_size=120))
def test_fuzz_any_bytes_then_a_flush_then_a_good_frame_is_read(entropy: bytes) -> None:
    got = events(stream_from(entropy) + flush(FUZZ_LIMIT) + frame(SENTINEL), max_bytes=FUZZ_LIMIT)
    assert got[-1] == EndOfInput("end of input", clean=True)
    assert got[-2] == Frame(SENTINEL)
    for event in got:
        if isinstance(event, Frame):
            assert len(event.body) <= FUZZ_LIMIT
        if isinstance(event, BadFrame):
            assert event.code in (-32700, -32600) and "skipped input" in event.message


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(BODIES) | st.binary(max_size=FUZZ_LIMIT), max_size=6))
def test_fuzz_good_frames_come_back_exactly(messages: list[bytes]) -> None:
    assert bodies(b"".join(map(frame, messages)), max_bytes=FUZZ_LIMIT) == messages


# -- the real daemon: the reproduced problems ----------------------------------------------------------
@pytest.fixture
def raw(tmp_path: Path) -> Iterator[RawDaemon]:
    daemon = RawDaemon(tmp_path, "--max-message-bytes", "100000", env={MAX_MESSAGE_ENV: "5"})
    yield daemon
    daemon.kill()


def test_the_daemon_answers_broken_headers_keeps_serving_and_exits_cleanly_on_a_short_body(raw: RawDaemon) -> None:
    raw.initialize()
    cases = [b"Content-Length: 1000000000000", b"Content-Length: abc", b"Content-Length: -5", b"garbage"]
    for n, header in enumerate(cases):
        raw.send_bytes(header + b"\r\n\r\n" + b'{"jsonrpc": "2.0", "id": "lost"')
        status = raw.request(n, "experience/status", {})
        assert status["result"]["runs"] == [], status
    errors = raw.errors_with_null_id()
    assert [e["error"]["code"] for e in errors] == [-32600, -32700, -32700, -32700]
    assert "over the limit of 100000 bytes" in errors[0]["error"]["message"]  # the option beat the environment
    assert "Content-Length must be a decimal number of bytes, got b'abc'" in errors[1]["error"]["message"]
    raw.send(b"x" * 100001)  # one byte over the limit: refused; the next request is still answered
    assert raw.request("after", "experience/status", {})["result"]["protocolVersion"] >= 1
    assert raw.errors_with_null_id()[0]["error"]["data"] == {"kind": "invalidRequest"}
    raw.send_bytes(b"Content-Length: 100\r\n\r\n" + b'{"jsonrpc": "2.0"')  # then the input ends
    assert raw.wait() == 0
    assert "input ended inside a message body (17 of 100 bytes)" in raw.stderr
    assert "stopped" in raw.stderr
    assert "Traceback" not in raw.stderr and "MemoryError" not in raw.stderr


def test_a_bad_limit_is_refused_at_start(tmp_path: Path) -> None:
    daemon = RawDaemon(tmp_path, "--max-message-bytes", "lots")
    assert daemon.wait() == 2
    assert "must be a number of bytes, got 'lots'" in daemon.stderr
