"""`Content-Length` framing of the byte stream: bounded, resynchronising, never buffering an oversized body.

`FrameReader.read()` returns one event at a time: a `Frame` (a body to decode), a `BadFrame` (a broken or
oversized header, to be answered with a JSON-RPC error with id null; the reader then skips input up to the
next `Content-Length:` header) or an `EndOfInput` (stop: the reason says whether it was a clean end).
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from experience_daemon.wire import INVALID_REQUEST, PARSE_ERROR

log = logging.getLogger(__name__)

MAX_MESSAGE_ENV = "EXPERIENCE_MAX_MESSAGE_BYTES"
DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024 * 1024
MAX_HEADER_LINE = 8192  # bytes in one header line, its line break included
MAX_HEADER_LINES = 32  # header lines in one message
CHUNK = 64 * 1024
_MARKER = re.compile(rb"content-length:", re.IGNORECASE)
_MARKER_LEN = len(b"content-length:")
_HEADER = re.compile(rb"([!#$%&'*+.^_`|~0-9A-Za-z-]+):[ \t]*(.*?)[ \t]*\r?\n")
_DIGITS = re.compile(rb"[0-9]+")
_BLANKS = re.compile(rb"[\r\n]+")


class ByteSource(Protocol):
    """What the reader reads from: `read1` returns the bytes available (at least one), b"" at the end."""

    def read1(self, size: int = ..., /) -> bytes: ...


class RawSource(Protocol):
    """A stream without `read1` whose `read(n)` returns what is available (a raw file, a socket file)."""

    def read(self, size: int = ..., /) -> bytes: ...


@dataclass(frozen=True)
class Frame:
    """One message body, exactly `Content-Length` bytes."""

    body: bytes


@dataclass(frozen=True)
class BadFrame:
    """A message that cannot be read: answer `code` with id null; the reader resynchronises."""

    code: int
    message: str


@dataclass(frozen=True)
class EndOfInput:
    """The stream ended (`clean`: between two messages; otherwise `reason` says where it was cut)."""

    reason: str
    clean: bool


Event = Frame | BadFrame | EndOfInput


def max_message_bytes(value: str | int | None = None) -> int:
    """The body size limit: `value` (an option), else $EXPERIENCE_MAX_MESSAGE_BYTES, else 64 MiB."""
    raw = value if value is not None else os.environ.get(MAX_MESSAGE_ENV, "").strip() or None
    if raw is None:
        return DEFAULT_MAX_MESSAGE_BYTES
    try:
        limit = int(raw)
    except ValueError:
        raise ValueError(f"the message size limit must be a number of bytes, got {raw!r}") from None
    if limit < 1:
        raise ValueError(f"the message size limit must be at least 1 byte, got {limit}")
    return limit


def _show(data: bytes | bytearray, limit: int = 60) -> str:
    text = repr(bytes(data[:limit]))
    return text + ("..." if len(data) > limit else "")


class FrameReader:
    """Split a byte stream into message bodies; memory stays within the size limit plus one read chunk."""

    def __init__(self, source: ByteSource | RawSource, max_bytes: int = DEFAULT_MAX_MESSAGE_BYTES) -> None:
        self.source = source
        self._read1: Callable[[int], bytes] = getattr(source, "read1", None) or getattr(source, "read")  # noqa: B009
        self.max_bytes = max_bytes
        self.buf = bytearray()
        self.eof = False
        self.skipping = False  # after a BadFrame: drop input up to the next `Content-Length:`

    def _fill(self) -> bool:
        """Read more input into the buffer; False at the end of the stream."""
        if self.eof:
            return False
        chunk = self._read1(CHUNK)
        if not chunk:
            self.eof = True
            return False
        self.buf += chunk
        return True

    def _skip_to_marker(self) -> bool:
        """Drop input up to the next `Content-Length:` (without keeping what is dropped); False at the end."""
        while True:
            found = _MARKER.search(self.buf)
            if found is not None:
                del self.buf[: found.start()]
                self.skipping = False
                return True
            del self.buf[: max(0, len(self.buf) - _MARKER_LEN + 1)]
            if not self._fill():
                return False

    def _line(self) -> bytes | None:
        """The next line (line break included, not consumed); b"" if over MAX_HEADER_LINE; None at the end."""
        start = 0
        while True:
            end = self.buf.find(b"\n", start, MAX_HEADER_LINE)
            if end >= 0:
                return bytes(self.buf[: end + 1])
            if len(self.buf) >= MAX_HEADER_LINE:
                return b""
            start = len(self.buf)
            if not self._fill():
                return None

    def _bad(self, message: str, code: int = PARSE_ERROR, *, drop: int = 1) -> BadFrame:
        """Give up on this message: drop `drop` bytes, skip to the next header and report why."""
        del self.buf[:drop]
        self.skipping = True
        log.debug("%s; skipping input up to the next Content-Length header", message)  # the answer is logged too
        return BadFrame(code, message + "; the daemon skipped input up to the next Content-Length header")

    def read(self) -> Event:
        """The next body, broken message or end of the stream."""
        if self.skipping and not self._skip_to_marker():
            return EndOfInput("input ended while skipping a broken message", clean=False)
        length: int | None = None
        lines = 0
        while True:
            if lines == 0 and (blanks := _BLANKS.match(self.buf)) is not None:
                del self.buf[: blanks.end()]  # blank lines between messages are tolerated
            line = self._line()
            if line is None:
                if not self.buf and lines == 0:
                    return EndOfInput("end of input", clean=True)
                return EndOfInput(f"input ended inside a message header ({len(self.buf)} bytes pending)", clean=False)
            if line == b"":
                return self._bad(f"a header line is longer than {MAX_HEADER_LINE} bytes: {_show(self.buf)}")
            if line.strip(b"\r\n") == b"":
                del self.buf[: len(line)]
                if lines == 0:
                    continue
                if length is None:
                    return self._bad("a message header has no Content-Length", drop=0)
                return self._body(length)
            lines += 1
            if lines > MAX_HEADER_LINES:
                return self._bad(f"a message has more than {MAX_HEADER_LINES} header lines")
            header = _HEADER.fullmatch(line)
            if header is None or _MARKER.search(line, 1) is not None:  # garbage glued to the next header
                return self._bad(f"not a 'Name: value' header line: {_show(line)}")
            name, value = header.group(1), header.group(2)
            if name.lower() == b"content-length":
                if _DIGITS.fullmatch(value) is None:
                    return self._bad(f"Content-Length must be a decimal number of bytes, got {_show(value)}")
                declared = int(value) if len(value) <= 30 else None  # int() of thousands of digits is refused
                if declared is None or declared > self.max_bytes:
                    size = str(declared) if declared is not None else f"{value[:20].decode()}... ({len(value)} digits)"
                    return self._bad(
                        f"a message of {size} bytes is over the limit of {self.max_bytes} bytes "
                        f"(raise it with --max-message-bytes or ${MAX_MESSAGE_ENV})",
                        INVALID_REQUEST,
                    )
                if length is not None and declared != length:
                    return self._bad(f"two different Content-Length headers ({length} and {declared})")
                length = declared
            del self.buf[: len(line)]

    def _body(self, length: int) -> Event:
        while len(self.buf) < length:
            if not self._fill():
                got = len(self.buf)
                self.buf.clear()
                return EndOfInput(f"input ended inside a message body ({got} of {length} bytes)", clean=False)
        body = bytes(self.buf[:length])
        del self.buf[:length]
        return Frame(body)


__all__ = [
    "DEFAULT_MAX_MESSAGE_BYTES",
    "MAX_MESSAGE_ENV",
    "BadFrame",
    "ByteSource",
    "EndOfInput",
    "Event",
    "Frame",
    "FrameReader",
    "RawSource",
    "max_message_bytes",
]
