"""`experience-daemon`: the JSON-RPC server on stdio (stdout carries the protocol only)."""

from __future__ import annotations

import argparse
import io
import logging
import os
import sys
from collections.abc import Sequence
from typing import BinaryIO

from experience_daemon.framing import DEFAULT_MAX_MESSAGE_BYTES, MAX_MESSAGE_ENV, max_message_bytes


def guard_stdout() -> BinaryIO:
    """Keep the real stdout for JSON-RPC; any other write to stdout (Python or C) goes to stderr."""
    sys.stdout.flush()
    protocol_fd = os.dup(sys.stdout.fileno())
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # stray writes to fd 1 (native libraries) land on stderr
    if isinstance(sys.stderr, io.TextIOWrapper):
        sys.stderr.reconfigure(errors="backslashreplace")  # a log line never fails on a path's characters
    sys.stdout = sys.stderr
    return os.fdopen(protocol_fd, "wb")


def setup_logging(level: str) -> None:
    """Log to stderr; keep pygls quiet (its per-message logs would drown ours)."""
    logging.basicConfig(
        stream=sys.stderr,
        level=level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("pygls").setLevel(logging.WARNING)
    logging.getLogger("pygls.protocol").setLevel(logging.CRITICAL)  # failures are logged by the server itself


def serve(argv: Sequence[str] | None = None) -> int:
    """Run the daemon on stdin/stdout until `exit` (or the end of stdin); returns the exit code."""
    parser = argparse.ArgumentParser(prog="experience-daemon", description=__doc__)
    parser.add_argument(
        "--stdio",
        action="store_true",
        help="talk over stdin/stdout (the default and only transport)",
    )
    parser.add_argument(
        "--log-level",
        default=os.environ.get("EXPERIENCE_LOG_LEVEL", "info"),
        choices=["debug", "info", "warning", "error"],
        help="stderr log level",
    )
    parser.add_argument(
        "--max-message-bytes",
        metavar="N",
        help=f"refuse messages longer than N bytes (default ${MAX_MESSAGE_ENV}, else {DEFAULT_MAX_MESSAGE_BYTES})",
    )
    args = parser.parse_args(argv)
    try:
        limit = max_message_bytes(args.max_message_bytes)
    except ValueError as error:
        parser.error(f"{error} (--max-message-bytes or ${MAX_MESSAGE_ENV})")
    protocol_out = guard_stdout()
    setup_logging(args.log_level)
    from experience_daemon.server import build_server
    from experience_daemon.testing import backend_factory_from_env

    server = build_server(backend_factory_from_env(), max_message_bytes=limit)
    logging.getLogger(__name__).info("experience-daemon %s ready on stdio (pid %d)", server.version, os.getpid())
    try:
        server.start_io(sys.stdin.buffer, protocol_out)
    finally:
        logging.getLogger(__name__).info("stopping: waiting for running jobs to reach a safe point")
        server.close()
        logging.getLogger(__name__).info("stopped")
    return server.exit_code


def main(argv: Sequence[str] | None = None) -> None:
    """`experience-daemon`: serve, then leave at once (everything is closed by then; skips a slow teardown)."""
    code = serve(argv)
    logging.shutdown()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    main()
