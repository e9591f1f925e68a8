"""Benchmark: how fast the daemon answers `initialize` (target < 1 s) and its first real request.

Usage: python bench/bench_daemon_startup.py [--out bench/results/daemon_startup.json] [--repeats 5]

Each repeat spawns `python -m experience_daemon --stdio` with a private cache, sends `initialize`
(timed from the spawn to the answer), `initialized`, then `experience/status` (timed from the
`initialize` answer: the service, torch included, loads in the background meanwhile), then
`shutdown` and `exit`. `eager_import_s` is what importing the service costs in a fresh interpreter:
what `initialize` used to wait for. `loadavg` says how busy the machine was (it is shared).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import IO, Any


def send(pipe: IO[bytes], message: dict[str, Any]) -> None:
    """Write one framed JSON-RPC message."""
    body = json.dumps({"jsonrpc": "2.0", **message}).encode("utf-8")
    pipe.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
    pipe.flush()


def receive(pipe: IO[bytes], msg_id: int) -> dict[str, Any]:
    """Read messages until the answer to `msg_id` (notifications are skipped)."""
    while True:
        length = 0
        while (line := pipe.readline().strip()) != b"":
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        message: dict[str, Any] = json.loads(pipe.read(length))
        if message.get("id") == msg_id:
            return message


def one_start(cache: Path) -> dict[str, float]:
    """Spawn a daemon; seconds to the `initialize` answer and from it to the first `status` answer."""
    env = {**os.environ, "EXPERIENCE_CACHE": str(cache), "PYTHONUTF8": "1"}
    env.pop("EXPERIENCE_TEST_BACKEND", None)
    started = time.monotonic()
    daemon = subprocess.Popen(
        [sys.executable, "-m", "experience_daemon", "--stdio"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    assert daemon.stdin is not None and daemon.stdout is not None
    send(daemon.stdin, {"id": 1, "method": "initialize", "params": {"processId": os.getpid(), "capabilities": {}}})
    receive(daemon.stdout, 1)
    initialize = time.monotonic() - started
    send(daemon.stdin, {"method": "initialized", "params": {}})
    send(daemon.stdin, {"id": 2, "method": "experience/status", "params": {}})
    answer = receive(daemon.stdout, 2)
    first_request = time.monotonic() - started - initialize
    if "error" in answer:
        raise SystemExit(f"experience/status failed: {answer['error']}")
    send(daemon.stdin, {"id": 3, "method": "shutdown"})
    receive(daemon.stdout, 3)
    send(daemon.stdin, {"method": "exit"})
    daemon.wait(30)
    return {"initialize_s": initialize, "first_request_s": first_request}


def eager_import() -> float:
    """Seconds a fresh interpreter takes to import the service (torch, the core)."""
    started = time.monotonic()
    subprocess.run([sys.executable, "-c", "import experience_daemon.service"], check=True)
    return time.monotonic() - started


def main() -> None:
    """Run the benchmark and write its JSON."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("bench/results/daemon_startup.json"))
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        runs = [one_start(Path(tmp) / "cache.sqlite") for _ in range(args.repeats)]
    initialize = [r["initialize_s"] for r in runs]
    result = {
        "benchmark": "daemon_startup",
        "repeats": args.repeats,
        "initialize_s": {"median": statistics.median(initialize), "max": max(initialize)},
        "first_request_after_initialize_s": {"median": statistics.median(r["first_request_s"] for r in runs)},
        "eager_import_s": eager_import(),
        "target_initialize_s": 1.0,
        "meets_target": statistics.median(initialize) < 1.0,
        "loadavg": list(os.getloadavg()),
        "runs": runs,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    sys.stdout.write(json.dumps({k: v for k, v in result.items() if k != "runs"}, indent=2) + "\n")


if __name__ == "__main__":
    main()
