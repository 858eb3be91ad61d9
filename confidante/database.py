"""The SQLite file that holds interactions, ratings and graph facts.

One connection per open assistant, guarded by a lock: SQLite calls take microseconds,
and callers may reach it from worker threads (``asyncio.to_thread``).
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

from confidante.errors import DataDirInUseError, StorageError

PRIVATE_DIR = 0o700  # what Confidante creates is for its owner only
PRIVATE_FILE = 0o600


def make_private_dir(path: Path) -> Path:
    """Create ``path`` (and its parents) for its owner only, narrowing an existing one to 0700."""
    path.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR)
    if path.stat().st_mode & 0o077:
        path.chmod(PRIVATE_DIR)
    return path


LOCK_FILE = "confidante.lock"


class WriterLock:
    """One writer per data dir: the assistant that opened it, until it closes.

    Each assistant keeps per-user caches (indexes, graphs, buffered vectors) that another
    writer's changes would silently contradict, so a second one is refused instead. The lock is
    the kernel's (``flock``): a crashed holder releases it at once, and the file only names who
    held it last. Readers (``MemoryReader``, read-only commands) take no lock.
    """

    def __init__(self, fd: int, path: Path) -> None:
        self._fd: int | None = fd
        self.path = path

    @classmethod
    def acquire(cls, data_dir: Path) -> WriterLock:
        """Take the data dir's writer lock, or raise ``DataDirInUseError`` naming its holder."""
        path = data_dir / LOCK_FILE
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, PRIVATE_FILE)
        except OSError as exc:
            raise StorageError(f"Cannot open {path}: {exc.strerror or exc}.") from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.pread(fd, 512, 0).decode(errors="replace").strip()
            os.close(fd)
            raise DataDirInUseError(_in_use_message(data_dir, holder)) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()} {' '.join(sys.argv)[:400]}\n".encode(), 0)
        return cls(fd, path)

    def release(self) -> None:
        """Let the next writer in (idempotent)."""
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


def _in_use_message(data_dir: Path, holder: str) -> str:
    pid, _, command = holder.partition(" ")
    if pid == str(os.getpid()):
        who = "another assistant in this process; close it first (or share it)"
    elif pid:
        who = f"process {pid} ({command or 'unknown command'}); stop it first"
    else:
        who = "another process; stop it first"
    return (
        f"The data directory {data_dir} is already open for writing by {who}. While a "
        "`confidante serve` holds it, make changes through its HTTP API (for example "
        "DELETE /v1/users/me with that user's key to forget them), or use another data dir."
    )


class Sealer(Protocol):
    """Turns a user's text into what is stored, and back (see ``confidante.encryption``)."""

    @property
    def encrypted(self) -> bool:
        """Whether stored text is ciphertext."""
        ...

    def seal(self, user_id: str, text: str) -> str:
        """What to store for ``text``, one of ``user_id``'s."""
        ...

    def unseal(self, user_id: str | None, stored: str) -> str:
        """The text ``seal`` was given; ``user_id`` None trusts the key named in ``stored``."""
        ...

    def erase(self, user_id: str) -> None:
        """Make everything sealed for ``user_id`` unreadable for good (crypto-erasure)."""
        ...

    def close(self) -> None:
        """Release what the sealer holds open (its key ring)."""
        ...


class PlainText:
    """Stores text as it is: the default, when no master key is configured."""

    encrypted = False

    def seal(self, user_id: str, text: str) -> str:
        """The text itself."""
        return text

    def unseal(self, user_id: str | None, stored: str) -> str:
        """The stored text itself."""
        return stored

    def erase(self, user_id: str) -> None:
        """Nothing to erase: no keys."""
        return None

    def close(self) -> None:
        """Nothing held open."""
        return None


PLAIN_TEXT = PlainText()


def seal_optional(sealer: Sealer, user_id: str, text: str | None) -> str | None:
    """``sealer.seal`` for a column that may be NULL."""
    return None if text is None else sealer.seal(user_id, text)


def unseal_optional(sealer: Sealer, user_id: str | None, stored: str | None) -> str | None:
    """``sealer.unseal`` for a column that may be NULL."""
    return None if stored is None else sealer.unseal(user_id, stored)


class Database:
    """A thread-safe SQLite connection with the pragmas Confidante relies on.

    ``sealer`` is what the stores on this database pass a user's text through (plain text
    unless the data dir is encrypted).
    """

    def __init__(self, path: Path | str, *, sealer: Sealer = PLAIN_TEXT) -> None:
        self.path = str(path)
        self.sealer = sealer
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
        """Close the connection (and the sealer's key ring); safe to call twice."""
        with self._lock:
            self._conn.close()
            self.sealer.close()
