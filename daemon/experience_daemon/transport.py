"""The daemon's JSON-RPC endpoint: every message is checked before pygls sees it, every invalid one answered.

`serve_stream` reads frames (framing.py) in a background thread and hands each body to
`ExperienceProtocol.receive`, which decodes and checks it (wire.py), applies LSP's lifecycle rules
(nothing before `initialize`, nothing but `exit` after `shutdown`) and only then dispatches it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from typing import TYPE_CHECKING, Any

import cattrs
from lsprotocol import types
from pygls.protocol import LanguageServerProtocol
from pygls.protocol.json_rpc import RPCRequest

from experience_daemon.framing import BadFrame, EndOfInput, Event, FrameReader
from experience_daemon.wire import INVALID_REQUEST, MessageError, check_message, decode_message

if TYPE_CHECKING:
    from cattrs import Converter
    from pygls.lsp.server import LanguageServer

log = logging.getLogger(__name__)
SERVER_NOT_INITIALIZED = -32002  # LSP's ServerNotInitialized
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603
KINDS = {-32700: "parseError", INVALID_REQUEST: "invalidRequest", SERVER_NOT_INITIALIZED: "serverNotInitialized"}
KINDS |= {INVALID_PARAMS: "invalidParams", INTERNAL_ERROR: "internalError"}
REQUEST_MEMBERS = ("jsonrpc", "id", "method", "params")


def _structure_problem(error: Exception) -> str:
    """What cattrs found wrong with a message's params, in one line."""
    cause = error.__cause__ or error
    try:
        problems = cattrs.transform_error(cause, path="$") if isinstance(cause, Exception) else []
    except Exception:  # transform_error only knows cattrs's own errors
        problems = []
    text = "; ".join(problems) or f"{type(cause).__name__}: {cause}"
    return text if len(text) <= 500 else text[:500] + "..."


class ExperienceProtocol(LanguageServerProtocol):
    """pygls's LSP protocol behind a gate: invalid messages get JSON-RPC errors, never tracebacks."""

    def __init__(self, server: LanguageServer, converter: Converter) -> None:
        super().__init__(server, converter)
        self.initialized = False  # an `initialize` request was accepted

    def refuse(self, code: int, message: str, msg_id: int | str | None = None) -> None:
        """Answer a message that cannot be served with a JSON-RPC error (`msg_id` None: id null)."""
        log.warning("refused a message (error %d): %s", code, message)
        error = {"code": code, "message": message, "data": {"kind": KINDS.get(code, "invalidRequest")}}
        self._send_data({"jsonrpc": "2.0", "id": msg_id, "error": error})

    def receive(self, body: bytes) -> None:
        """Decode, check and dispatch one message body; anything invalid is answered or logged."""
        try:
            value = decode_message(body)
            kind = check_message(value)
        except MessageError as error:
            if error.answer:
                self.refuse(error.code, error.message, error.msg_id)
            else:
                log.warning("%s", error.message)
            return
        method: str = value.get("method", "")
        msg_id = value.get("id") if kind == "request" else None
        if kind == "request" and not self._request_allowed(method, msg_id):
            return
        if kind == "notification" and not self.initialized and method != types.EXIT:
            log.warning("dropped the notification %r: it came before initialize", method)
            return
        if kind != "response":  # pygls reads any message with an `error` member as a response: keep the request's own
            value = {k: v for k, v in value.items() if k in REQUEST_MEMBERS}
        try:
            message = self.structure_message(value)
        except Exception as error:
            problem = _structure_problem(error)
            if msg_id is None:
                log.warning("dropped a %s %r whose params do not match LSP: %s", kind, method, problem)
            else:
                self.refuse(INVALID_PARAMS, f"invalid params for {method}: {problem}", msg_id)
            return
        if msg_id is not None and not isinstance(message, RPCRequest):  # e.g. `exit` or `$/cancelRequest` with an id
            self.refuse(INVALID_REQUEST, f"invalid request: {method} is a notification; send it without an id", msg_id)
            return
        if method == types.INITIALIZE:
            self.initialized = True
        try:
            self.handle_message(message)
        except BrokenPipeError:  # the client is gone: the serving loop stops
            raise
        except Exception as error:  # pygls answers handler failures itself; this is the last resort
            log.error("failed to handle %s %r", kind, method, exc_info=error)
            if msg_id is not None:
                text = f"internal error in {method}: {type(error).__name__} (see the daemon log)"
                self.refuse(INTERNAL_ERROR, text, msg_id)

    def _request_allowed(self, method: str, msg_id: int | str | None) -> bool:
        if self._shutdown:
            reason = f"{method} came after shutdown; the only message the daemon accepts now is the exit notification"
            self.refuse(INVALID_REQUEST, f"invalid request: {reason}", msg_id)
            return False
        if method == types.INITIALIZE and self.initialized:
            self.refuse(INVALID_REQUEST, "invalid request: initialize may only be sent once per daemon", msg_id)
            return False
        if not self.initialized and method != types.INITIALIZE:
            message = f"server not initialized: send the initialize request before {method}"
            self.refuse(SERVER_NOT_INITIALIZED, message, msg_id)
            return False
        return True

    def _send_response(self, msg_id: Any, result: Any | None = None, error: Any | None = None) -> None:
        """pygls's response, except that a traceback goes to the log, never to the client."""
        if error is not None and isinstance(error.data, dict) and "traceback" in error.data:
            log.error("request %r failed: %s\n%s", msg_id, error.message, "".join(map(str, error.data["traceback"])))
            error = types.ResponseError(
                code=error.code, message=f"internal error: {error.message} (see the daemon log)", data=None
            )
        super()._send_response(msg_id, result, error)


def _settle(future: asyncio.Future[Event], event: Event) -> None:
    if not future.done():
        future.set_result(event)


async def next_event(reader: FrameReader) -> Event:
    """The reader's next event, read in a daemon thread (a blocked read never holds up the exit)."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[Event] = loop.create_future()

    def work() -> None:
        event: Event
        try:
            event = reader.read()
        except Exception as error:  # OSError, or a bug in the reader: stop rather than wait forever
            if not isinstance(error, OSError):
                log.error("the message reader failed", exc_info=error)
            event = EndOfInput(f"cannot read the input: {type(error).__name__}: {error}", clean=False)
        with contextlib.suppress(RuntimeError):  # a closed loop: the daemon is exiting anyway
            loop.call_soon_threadsafe(_settle, future, event)

    threading.Thread(target=work, name="experience-stdin", daemon=True).start()
    return await future


async def serve_stream(protocol: ExperienceProtocol, reader: FrameReader, stop: threading.Event) -> EndOfInput:
    """Feed the stream's messages to `protocol` until it ends (returns why) or `stop` is set."""
    while not stop.is_set():
        event = await next_event(reader)
        if isinstance(event, EndOfInput):
            if event.clean:
                log.info("the input ended (%s)", event.reason)
            else:
                log.warning("stopping: %s", event.reason)
            return event
        if isinstance(event, BadFrame):
            protocol.refuse(event.code, event.message)
        else:
            protocol.receive(event.body)
    return EndOfInput("stopped", clean=True)


__all__ = ["SERVER_NOT_INITIALIZED", "ExperienceProtocol", "next_event", "serve_stream"]
