"""A content-addressed response cache on disk (SQLite, WAL) shared by kernels and processes."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from pathlib import Path

from .types import Completion

_SCHEMA = """
CREATE TABLE IF NOT EXISTS completions (
    key     TEXT PRIMARY KEY,
    value   TEXT NOT NULL,
    created REAL NOT NULL
)
"""


class ResponseCache:
    """Map a task's cache key to the completion it got; safe across threads and processes."""

    def __init__(self, path: Path, *, busy_timeout: float = 30.0) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = sqlite3.connect(
            self.path, timeout=busy_timeout, check_same_thread=False, isolation_level=None
        )
        self._conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
        self._conn.execute("PRAGMA journal_mode = WAL")
        self._conn.execute("PRAGMA synchronous = NORMAL")
        self._conn.execute(_SCHEMA)

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            raise ValueError(f"response cache {self.path} is closed")
        return self._conn

    def get(self, key: str) -> Completion | None:
        """Return the stored completion for ``key`` (marked ``cached=True``), or ``None``."""
        with self._lock:
            row = (
                self._connection()
                .execute("SELECT value FROM completions WHERE key = ?", (key,))
                .fetchone()
            )
        if row is None:
            return None
        data = json.loads(row[0])
        return Completion(
            text=str(data["text"]),
            prompt_tokens=int(data["prompt_tokens"]),
            completion_tokens=int(data["completion_tokens"]),
            seconds=float(data["seconds"]),
            model=str(data["model"]),
            cached=True,
            cost=None if data.get("cost") is None else float(data["cost"]),
        )

    def put(self, key: str, completion: Completion) -> None:
        """Store ``completion`` under ``key`` (the last writer wins; answers are equivalent)."""
        value = json.dumps(
            {
                "text": completion.text,
                "prompt_tokens": completion.prompt_tokens,
                "completion_tokens": completion.completion_tokens,
                "seconds": completion.seconds,
                "model": completion.model,
                "cost": completion.cost,
            },
            ensure_ascii=False,
        )
        with self._lock:
            self._connection().execute(
                "INSERT OR REPLACE INTO completions (key, value, created) VALUES (?, ?, ?)",
                (key, value, time.time()),
            )

    def __len__(self) -> int:
        """Return the number of stored completions."""
        with self._lock:
            (count,) = self._connection().execute("SELECT COUNT(*) FROM completions").fetchone()
        return int(count)

    def close(self) -> None:
        """Close the connection; later calls raise ValueError."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
