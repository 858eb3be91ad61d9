"""The SQLite file that holds interactions, ratings and graph facts.

One connection per open assistant, guarded by a lock: SQLite calls take microseconds,
and callers may reach it from worker threads (``asyncio.to_thread``).
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from confidante.errors import StorageError

PRIVATE_DIR = 0o700  # what Confidante creates is for its owner only
PRIVATE_FILE = 0o600


class Database:
    """A thread-safe SQLite connection with the pragmas Confidante relies on."""

    def __init__(self, path: Path | str) -> None:
        self.path = str(path)
        try:
            if self.path != ":memory:" and not Path(self.path).exists():
                # Owner only (0600); SQLite gives its -wal and -shm files the same mode.
                os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT, PRIVATE_FILE))
            self._conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            self._conn.row_factory = sqlite3.Row
            for pragma in (
                "PRAGMA journal_mode=WAL",
                "PRAGMA synchronous=NORMAL",
                "PRAGMA foreign_keys=ON",
                # Deleted rows are overwritten, so forget() leaves no readable trace on disk.
                "PRAGMA secure_delete=ON",
                "PRAGMA busy_timeout=5000",
            ):
                self._conn.execute(pragma)
        except (sqlite3.Error, OSError) as exc:
            raise StorageError(f"Cannot open the database at {self.path}: {exc}") from exc
        self._lock = threading.RLock()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """Run statements atomically: all of them are stored, or none."""
        with self._lock:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
                yield self._conn
                self._conn.execute("COMMIT")
            except BaseException:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                raise

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        """Rows of one read-only statement."""
        with self._lock:
            try:
                return self._conn.execute(sql, params).fetchall()
            except sqlite3.Error as exc:
                raise StorageError(f"Database read failed: {exc}") from exc

    def script(self, sql: str) -> None:
        """Run a schema script (idempotent ``CREATE ... IF NOT EXISTS``)."""
        with self._lock:
            try:
                self._conn.executescript(sql)
            except sqlite3.Error as exc:
                raise StorageError(f"Database schema setup failed: {exc}") from exc

    def checkpoint(self) -> None:
        """Fold the write-ahead log into the main file and truncate it."""
        with self._lock:
            self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def close(self) -> None:
        """Close the connection; safe to call twice."""
        with self._lock:
            self._conn.close()
