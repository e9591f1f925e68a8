"""Daemons for byte-level tests: a subprocess over raw stdio pipes (send any bytes, read every message back),
and a daemon in this process fed message bodies directly (fast enough for thousands of fuzz cases)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import queue
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import IO, Any, cast

from daemon_client import daemon_env

from experience_daemon.server import ExperienceServer, build_server
from experience_daemon.transport import ExperienceProtocol

TIMEOUT = 30.0


def frame(message: Any) -> bytes:
    """One message with its Content-Length header."""
    body = message if isinstance(message, bytes) else json.dumps(message).encode()
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


BODIES = [
    json.dumps(v).encode()
    for v in [{}, [], None, 7, "x", {"jsonrpc": "2.0", "id": 1, "method": "m"}, {"a": [1, {"b": "é"}]}, "é" * 40]
]
VALUES = [b"abc", b"-5", b"", b"1000000000000", b"0", b"12", b"513", b"512", b" 7", b"3\r", b"9" * 40]
PIECES = [
    *(b"\r\n", b"\n", b"\r", b"\r\n\r\n", b"\xff\xfe", b"X" * 300, b"X-Y: z\r\n" * 5, b"Content-Type: x\r\n"),
    *(b"Content-Length:", b"Content-Length: ", b"content-length: 2\n\n{}"),
    b"Content-Length: 2\r\nContent-Length: 3\r\n\r\n",
]


def flush(max_bytes: int) -> bytes:
    """Bytes that bring the daemon's reader back to a message boundary whatever state garbage left it in."""
    return b"\n" * (max_bytes + 2)  # ends a pending header line and its header block, then fills any body


def stream_from(entropy: bytes) -> bytes:
    """Fuzz entropy as a byte stream: good frames, broken and oversized headers, cut lines, raw garbage."""
    out: list[bytes] = []
    i = 0
    while i < len(entropy):
        op, arg = entropy[i] % 6, entropy[i + 1] if i + 1 < len(entropy) else 0
        i += 2
        if op == 0:
            out.append(frame(BODIES[arg % len(BODIES)]))
        elif op in (1, 2):  # raw garbage, or a header with a garbage value
            size = arg % (64 if op == 1 else 12)
            out.append(entropy[i : i + size] if op == 1 else b"Content-Length: " + entropy[i : i + size] + b"\r\n")
            i += size
        elif op == 3:
            out.append(b"Content-Length: " + VALUES[arg % len(VALUES)] + b"\r\n" * (1 + arg % 2))
        elif op == 4:
            out.append(PIECES[arg % len(PIECES)])
        else:  # a good frame cut short
            whole = frame(BODIES[arg % len(BODIES)])
            out.append(whole[: arg % len(whole)])
    return b"".join(out)


def read_messages(stream: IO[bytes], out: queue.Queue[dict[str, Any] | None]) -> None:
    """Parse the daemon's stdout strictly (it must always be well-framed JSON); None at the end."""
    try:
        while True:
            length = None
            while (line := stream.readline()) not in (b"\r\n", b""):
                name, _, value = line.partition(b":")
                if name.lower() == b"content-length":
                    length = int(value)
            if not line or length is None:
                return
            out.put(json.loads(stream.read(length)))
    finally:
        out.put(None)


class RawDaemon:
    """`python -m experience_daemon` with raw pipes; `messages` holds what came back, in order."""

    def __init__(self, tmp: Path, *args: str, env: dict[str, str] | None = None) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "experience_daemon", *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={**daemon_env(tmp, "copying"), **(env or {})},
        )
        assert self.proc.stdin is not None and self.proc.stdout is not None and self.proc.stderr is not None
        self.stdin = self.proc.stdin
        self.inbox: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self.messages: list[dict[str, Any]] = []
        self.ended = False
        self.stderr_chunks: list[bytes] = []
        stdout, stderr = self.proc.stdout, self.proc.stderr
        threading.Thread(target=read_messages, args=(stdout, self.inbox), daemon=True).start()
        self.stderr_thread = threading.Thread(target=self._collect_stderr, args=(stderr,), daemon=True)
        self.stderr_thread.start()

    def _collect_stderr(self, stream: IO[bytes]) -> None:
        for line in iter(stream.readline, b""):
            self.stderr_chunks.append(line)

    @property
    def stderr(self) -> str:
        """Everything the daemon logged so far."""
        return b"".join(self.stderr_chunks).decode(errors="replace")

    def send_bytes(self, data: bytes) -> None:
        """Write raw bytes to the daemon's stdin."""
        self.stdin.write(data)
        self.stdin.flush()

    def send(self, message: Any) -> None:
        """Write one framed message (a JSON value, or a body given as bytes)."""
        self.send_bytes(frame(message))

    def wait_for_id(self, msg_id: Any, timeout: float = TIMEOUT) -> dict[str, Any]:
        """The response with this id (earlier messages stay in `messages`)."""
        deadline = time.monotonic() + timeout
        while True:
            for message in self.messages:
                if message.get("id") == msg_id and "method" not in message:
                    self.messages.remove(message)
                    return message
            if self.ended:
                raise AssertionError(f"the daemon's stdout ended before a response to {msg_id!r}:\n{self.stderr}")
            try:
                item = self.inbox.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"no response to {msg_id!r} within {timeout} s:\n{self.stderr[-3000:]}") from None
            if item is None:
                self.ended = True
            else:
                self.messages.append(item)

    def errors_with_null_id(self) -> list[dict[str, Any]]:
        """Error responses with id null received so far (draining what has arrived)."""
        while True:
            try:
                item = self.inbox.get_nowait()
            except queue.Empty:
                break
            if item is None:
                self.ended = True
                break
            self.messages.append(item)
        found = [m for m in self.messages if m.get("id", "absent") is None and "error" in m]
        for message in found:
            self.messages.remove(message)
        return found

    def request(self, msg_id: Any, method: str, params: Any = None) -> dict[str, Any]:
        """Send a request and wait for its response (result or error)."""
        self.send({"jsonrpc": "2.0", "id": msg_id, "method": method, **({} if params is None else {"params": params})})
        return self.wait_for_id(msg_id)

    def initialize(self) -> None:
        """The LSP handshake."""
        assert "result" in self.request("init", "initialize", {"capabilities": {}})
        self.send({"jsonrpc": "2.0", "method": "initialized", "params": {}})

    def finish(self, *, shutdown: bool = True, timeout: float = TIMEOUT) -> int:
        """shutdown (optionally) and exit; the exit code."""
        if shutdown:
            assert self.request("bye", "shutdown") == {"jsonrpc": "2.0", "id": "bye", "result": None}
        self.send({"jsonrpc": "2.0", "method": "exit"})
        return self.wait(timeout)

    def wait(self, timeout: float = TIMEOUT) -> int:
        """Wait for the process to end; its exit code (stdin is closed first)."""
        with contextlib.suppress(BrokenPipeError):
            self.stdin.close()
        code = self.proc.wait(timeout)
        self.stderr_thread.join(timeout)
        return code

    def kill(self) -> None:
        """Stop the process if it still runs (test teardown)."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(TIMEOUT)


class Capture:
    """The daemon's writer: checks each frame's Content-Length, keeps the decoded messages, signals each one."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.messages: list[dict[str, Any]] = []
        self.loop = loop
        self.arrived = asyncio.Event()

    def write(self, data: bytes) -> None:
        """Take one framed message from the daemon."""
        head, _, body = data.partition(b"\r\n\r\n")
        assert head.startswith(b"Content-Length: %d\r\n" % len(body)), head
        self.messages.append(json.loads(body))
        self.loop.call_soon_threadsafe(self.arrived.set)

    def close(self) -> None:
        """What `exit` calls; nothing to close."""


class Harness:
    """A daemon in this process: bodies in, responses out, on a private event loop."""

    def __init__(self, *, initialize: bool = True) -> None:
        self.loop = asyncio.new_event_loop()
        self.server: ExperienceServer = build_server()
        self.out = Capture(self.loop)
        self.server.protocol.set_writer(self.out)
        self.protocol = cast(ExperienceProtocol, self.server.protocol)
        if initialize:
            init = {"jsonrpc": "2.0", "id": "init", "method": "initialize", "params": {"capabilities": {}}}
            assert "result" in self.call(init)[0]

    def exchange(self, bodies: list[bytes], ids: Counter[Any], timeout: float = 10.0) -> list[dict[str, Any]]:
        """Feed the bodies, wait until every id in `ids` is answered as often as counted; all messages out."""

        def answered() -> bool:
            return Counter(m.get("id") for m in self.out.messages if "method" not in m) & ids == ids

        async def run() -> None:
            for body in bodies:
                self.protocol.receive(body)
            await asyncio.sleep(0)  # let synchronous handlers answer
            while not answered():
                self.out.arrived.clear()
                try:
                    await asyncio.wait_for(self.out.arrived.wait(), timeout)
                except TimeoutError:
                    raise AssertionError(f"unanswered: {ids} in {self.out.messages}") from None

        self.loop.run_until_complete(run())
        messages, self.out.messages = self.out.messages, []
        return messages

    def call(self, message: dict[str, Any]) -> list[dict[str, Any]]:
        """One request; every message that came back."""
        return self.exchange([json.dumps(message).encode()], Counter([message["id"]]))

    def close(self) -> None:
        """Stop the worker threads and the loop."""
        self.server.close()
        self.loop.close()
