"""The pygls server: decode each request, call the service in a worker thread, encode the answer.

Start-up is light: this module imports pygls and the protocol only, so `initialize` answers at once; the
service (the `experience` package, torch) is imported by the first request, or in the background after
`initialized`, whichever comes first.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, cast

import cattrs
from lsprotocol import types
from pygls.exceptions import (
    FeatureRequestError,
    JsonRpcException,
    JsonRpcInternalError,
    JsonRpcInvalidParams,
)
from pygls.io_ import StdoutWriter
from pygls.lsp.server import LanguageServer
from pygls.protocol import JsonRPCNotification, JsonRPCRequestMessage, JsonRPCResponseMessage, default_converter

from experience_daemon import protocol
from experience_daemon.framing import FrameReader
from experience_daemon.framing import max_message_bytes as max_message_bytes_limit
from experience_daemon.transport import ExperienceProtocol, serve_stream
from experience_daemon.wire import ParamsError

if TYPE_CHECKING:
    from pygls.server import ServerErrors

    from experience.events import Event
    from experience_daemon.handlers.host import Host
    from experience_daemon.service import Service
    from experience_daemon.watcher import RunWatcher
    from experience_daemon.workspace import BackendFactory

log = logging.getLogger(__name__)
Handler = Callable[..., Awaitable[Any]]
LOG_LEVELS = {"error": types.MessageType.Error, "warning": types.MessageType.Warning}


def raw_converter() -> cattrs.Converter:
    """pygls's converter, except that custom messages keep params and results as plain JSON."""
    converter: cattrs.Converter = default_converter()  # type: ignore[no-untyped-call]

    def request(obj: dict[str, Any], cls: type[JsonRPCRequestMessage]) -> JsonRPCRequestMessage:
        return cls(
            id=obj["id"],
            method=obj.get("method", ""),
            jsonrpc=obj.get("jsonrpc", ""),
            params=obj.get("params"),
        )

    def notification(obj: dict[str, Any], cls: type[JsonRPCNotification]) -> JsonRPCNotification:
        return cls(method=obj.get("method", ""), jsonrpc=obj.get("jsonrpc", ""), params=obj.get("params"))

    def response(obj: dict[str, Any], cls: type[JsonRPCResponseMessage]) -> JsonRPCResponseMessage:
        return cls(id=obj["id"], jsonrpc=obj.get("jsonrpc", ""), result=obj.get("result"))

    converter.register_structure_hook(JsonRPCRequestMessage, request)
    converter.register_structure_hook(JsonRPCNotification, notification)
    converter.register_structure_hook(JsonRPCResponseMessage, response)
    return converter


def rpc_error(method: str, error: Exception) -> JsonRpcException:
    """The JSON-RPC error a failed request answers with (the message is the one the user sees)."""
    if isinstance(error, JsonRpcException):
        return error
    if isinstance(error, ParamsError):
        return JsonRpcInvalidParams(f"{method}: {error}")
    if isinstance(error, ServiceUnavailable):
        return JsonRpcException(str(error), protocol.ERROR_CODES["requestFailed"], {"kind": "unavailable"})
    from experience.events import Cancelled  # loaded by now: a request ran the service
    from experience.kernel import KernelError
    from experience.storage.serialize import TensorDirectoryError
    from experience.tasks.dataset import DatasetError
    from experience.train.run_dir import RunError, RunLocked
    from experience_daemon.errors import ServiceError

    if isinstance(error, ServiceError):
        return JsonRpcException(str(error), protocol.ERROR_CODES[error.kind], {"kind": error.kind, **error.data})
    if isinstance(error, RunLocked):
        return JsonRpcException(str(error), protocol.ERROR_CODES["runLocked"], {"kind": "runLocked"})
    if isinstance(error, Cancelled):
        return JsonRpcException(str(error), -32800, {"kind": "cancelled"})  # LSP's RequestCancelled
    if isinstance(error, (RunError, DatasetError, KernelError, TensorDirectoryError, OSError)):
        kind = type(error).__name__
        return JsonRpcException(str(error), protocol.ERROR_CODES["requestFailed"], {"kind": kind})
    log.error("%s failed unexpectedly", method, exc_info=error)
    return JsonRpcInternalError(f"internal error in {method}: {type(error).__name__}: {error} (see the daemon log)")


class ServiceUnavailable(Exception):
    """The service (the `experience` package) could not be imported in this interpreter."""


class ExperienceServer(LanguageServer):
    """One daemon: a Service (the runs), a file watcher and worker threads for blocking work."""

    def __init__(
        self,
        backend_factory: BackendFactory | None = None,
        *,
        workers: int = 16,
        max_message_bytes: int | None = None,
    ) -> None:
        try:
            version = metadata.version("experience")
        except metadata.PackageNotFoundError:
            version = "0+unknown"
        super().__init__(
            "experience-daemon",
            version,
            text_document_sync_kind=types.TextDocumentSyncKind.None_,
            converter_factory=raw_converter,
            protocol_cls=ExperienceProtocol,
        )
        self.max_message_bytes = max_message_bytes_limit(max_message_bytes)
        self.exit_code = 0  # LSP: 0 after shutdown then exit, 1 for an exit without shutdown
        self.backend_factory = backend_factory
        self._service: Service | None = None
        self._handlers: dict[str, Handler] | None = None
        self._load_lock = threading.Lock()
        self.jobs = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="experience-job")
        self.loop: asyncio.AbstractEventLoop | None = None
        self.watcher: RunWatcher | None = None

    # -- loading the service (deferred: importing torch takes seconds) ---------------------
    def load(self) -> dict[str, Handler]:
        """Import the service and the handlers once (thread-safe); ServiceUnavailable says why not."""
        with self._load_lock:
            if self._handlers is None:
                try:
                    from experience_daemon.handlers import HANDLERS
                    from experience_daemon.service import Service

                    missing = {m.name for m in protocol.METHODS.values() if m.kind == "request"} - set(HANDLERS)
                    if missing:
                        raise RuntimeError(f"protocol requests without a handler: {sorted(missing)}")
                    self._service = Service(run_events=self.on_run_event, backend_factory=self.backend_factory)
                    self._handlers = HANDLERS
                except Exception as error:
                    log.error("loading the experience package failed", exc_info=error)
                    raise ServiceUnavailable(
                        f"the daemon could not load the experience package ({type(error).__name__}: {error}); "
                        "reinstall it in this interpreter (pip install -e .) or pick another one "
                        "(setting experience.pythonPath), then restart the daemon"
                    ) from error
            return self._handlers

    def warm_up(self) -> None:
        """Load the service in a worker thread (after `initialized`: the first request need not wait)."""
        started = time.monotonic()

        def load() -> None:
            with contextlib.suppress(ServiceUnavailable):  # logged; each request reports it
                self.load()
                log.info("service loaded in %.1f s", time.monotonic() - started)

        self.jobs.submit(load)

    @property
    def loaded(self) -> bool:
        """Whether the service has been imported."""
        return self._service is not None

    @property
    def service(self) -> Service:
        """The service (imported on first use)."""
        self.load()
        assert self._service is not None
        return self._service

    # -- plumbing --------------------------------------------------------------------------
    async def call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run blocking service work in a worker thread."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.jobs, functools.partial(fn, *args, **kwargs))

    def send(self, method: str, params: Any) -> None:
        """Send a notification from any thread (it is written by the event loop's thread)."""
        if self.loop is not None and not self.loop.is_closed():
            self.loop.call_soon_threadsafe(self.protocol.notify, method, params)

    def on_run_event(self, run_key: str, event: Event) -> None:
        """Turn core events into notifications: metrics, entryChanged, window/logMessage."""
        from experience.events import EntryChanged, Log, Metrics  # loaded: events come from the service
        from experience_daemon.session import COLUMNS, text_version

        if isinstance(event, Metrics):
            self.send(protocol.METRICS, {"runDir": run_key, "record": event.record})
        elif isinstance(event, EntryChanged):
            session = self._service.sessions.get(run_key) if self._service else None
            text = session.experience.storage.read(event.row * 3 + event.column) if session else None
            self.send(
                protocol.ENTRY_CHANGED,
                {
                    "runDir": run_key,
                    "row": event.row,
                    "column": COLUMNS[event.column],
                    "origin": event.origin,
                    "version": text_version(text),
                },
            )
        elif isinstance(event, Log):
            log.log(
                logging.WARNING if event.level == "warning" else logging.INFO,
                "%s: %s",
                run_key,
                event.message,
            )
            level = LOG_LEVELS.get(event.level, types.MessageType.Info)
            self.send(types.WINDOW_LOG_MESSAGE, types.LogMessageParams(type=level, message=event.message))

    def sync_watches(self) -> None:
        """Watch the experience folder of every open run, and only those."""
        if self.loop is None or self._service is None:
            return
        from experience_daemon.watcher import RunWatcher

        if self.watcher is None:
            self.watcher = RunWatcher(self.loop, self.files_changed)
        open_runs = dict(self._service.sessions)
        for key, session in open_runs.items():
            try:
                self.watcher.watch(key, session.run.experience_dir)
            except OSError as error:  # a folder deleted under us: serve on, unwatched
                log.warning("cannot watch %s: %s", session.run.experience_dir, error)
        for key in list(self.watcher.watched):
            if key not in open_runs:
                self.watcher.unwatch(key)

    async def files_changed(self, run_key: str, paths: list[Path]) -> None:
        """Files of a run changed on disk: reload, refresh keywords, notify (in a worker thread)."""
        changed = await self.call(self.service.disk_changed, run_key, paths)
        if changed:
            log.info("%s: changed on disk: %s", run_key, ", ".join(f"{r}/{c}" for r, c in changed))

    def register(self, method: str) -> None:
        """Serve a request: check params, load the service, run its handler, map failures to JSON-RPC errors."""

        async def endpoint(params: Any) -> Any:
            self.loop = asyncio.get_running_loop()
            try:
                decoded = protocol.decode_params(method, params)
                handlers = self._handlers if self._handlers is not None else await self.call(self.load)
                host: Host = self  # what the handlers see of the server (checked by mypy)
                return await handlers[method](host, decoded)
            except (asyncio.CancelledError, JsonRpcException):
                raise
            except Exception as error:
                failure = rpc_error(method, error)
                log.info("%s -> error %s: %s", method, failure.code, failure.message)
                raise failure from error
            finally:
                self.sync_watches()

        self.feature(method)(endpoint)

    def shutdown_jobs(self) -> None:
        """Cancel running jobs and stop watching (the `shutdown` request, or the end of stdin)."""
        for session in list(self._service.sessions.values() if self._service else ()):
            if session.job is not None:
                session.job.cancel.cancel()
        if self.watcher is not None:
            self.watcher.stop()

    def close(self) -> None:
        """Wait for the worker threads (jobs stop at their next safe point) and close every run."""
        self.shutdown_jobs()
        # A service still loading (importing torch) is not waited for: the process exits right after this.
        self.jobs.shutdown(wait=self._service is not None, cancel_futures=True)
        if self._service is not None:
            self._service.close()

    def start_io(self, stdin: BinaryIO | None = None, stdout: BinaryIO | None = None) -> None:
        """Serve on stdin/stdout (bounded, checked messages: transport.py) until `exit` or the end of stdin."""
        self._stop_event = threading.Event()
        self.protocol.set_writer(StdoutWriter(stdout or sys.stdout.buffer))
        reader = FrameReader(stdin or sys.stdin.buffer, self.max_message_bytes)
        try:
            asyncio.run(serve_stream(cast(ExperienceProtocol, self.protocol), reader, self._stop_event))
        except BrokenPipeError:
            log.error("the client closed the daemon's stdout; stopping")
        except KeyboardInterrupt:
            log.info("interrupted; stopping")
        except SystemExit as stop:  # the `exit` notification
            self.exit_code = stop.code if isinstance(stop.code, int) else 1
            log.info("exit received (%s shutdown)", "after" if self.exit_code == 0 else "without")
        finally:
            self.shutdown()  # type: ignore[no-untyped-call]

    def report_server_error(self, error: Exception, source: ServerErrors) -> None:
        """Out-of-band errors (a failed notification handler, say) are logged and shown as a log message."""
        if source is FeatureRequestError:
            return
        log.error("server error (%s): %s", getattr(source, "__name__", source), error)
        self.window_log_message(types.LogMessageParams(type=types.MessageType.Error, message=f"{error}"))


def build_server(
    backend_factory: BackendFactory | None = None, *, max_message_bytes: int | None = None
) -> ExperienceServer:
    """A server with every protocol request registered (`max_message_bytes` None: $EXPERIENCE_MAX_MESSAGE_BYTES)."""
    server = ExperienceServer(backend_factory, max_message_bytes=max_message_bytes)
    for method in (m.name for m in protocol.METHODS.values() if m.kind == "request"):
        server.register(method)

    @server.feature(types.INITIALIZED)
    def on_initialized(_params: Any) -> None:
        server.warm_up()

    @server.feature(types.SHUTDOWN)
    def on_shutdown(_params: Any) -> None:
        server.shutdown_jobs()

    return server
