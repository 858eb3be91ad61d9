"""Chroma as the vector index: one collection per user (a ``where`` filter is 15x slower)."""

from __future__ import annotations

import hashlib
import logging
import os
import re
import shutil
import sqlite3
import threading
from collections.abc import Sequence
from contextlib import closing
from pathlib import Path
from typing import TYPE_CHECKING, Any

from confidante.errors import StorageError
from confidante.memory.cache import UserCache

if TYPE_CHECKING:
    from chromadb.api import ClientAPI
    from chromadb.config import Settings as ChromaSettings

logger = logging.getLogger("confidante.memory")


# Stores this process has opened: Chroma keeps them open until the process ends.
_opened: set[Path] = set()
_opened_lock = threading.Lock()


def prepare_store(path: Path) -> None:
    """Ready the Chroma store at ``path`` before Chroma first opens it in this process.

    Only then: Chroma links its own SQLite, and closing a second library's handle on a file
    drops the process's POSIX locks on it, which broke Chroma's next write.
    """
    path = path.resolve()
    with _opened_lock:
        if path in _opened:
            return
        _opened.add(path)
    path.mkdir(parents=True, exist_ok=True)
    if (path / "chroma.sqlite3").exists():
        scrub_forgotten(path)
    use_write_ahead_log(path)


def use_write_ahead_log(path: Path) -> None:
    """Put Chroma's SQLite file in WAL mode (it persists in the file); see ``prepare_store``.

    Chroma keeps SQLite's default rollback journal: four fsyncs per write, during which its
    Rust code holds the GIL, so every Python thread of the process stops (an upsert took 24 ms
    on the bench machine's disk; 5.6 ms in WAL mode, one fsync per commit).
    """
    try:
        with closing(sqlite3.connect(path / "chroma.sqlite3")) as conn:
            if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                conn.execute("PRAGMA journal_mode=WAL")
    except sqlite3.Error as exc:  # it still works, only with slower writes
        logger.warning("Chroma's store at %s stays in rollback-journal mode: %s", path, exc)


FORGOTTEN = ".forgotten"  # ids of deleted collections whose traces are still to be scrubbed
_SEGMENT_FOLDER = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def scrub_forgotten(path: Path) -> None:
    """Leave no trace of deleted collections in the Chroma store at ``path``.

    Chroma's ``delete_collection`` leaves a collection's vectors and ids in its SQLite log and
    free pages, and its index folder (``data_level0.bin``...) on disk. Rewriting the file under
    a running Chroma broke its next write, so ``delete`` only records the collection, and this
    runs before Chroma opens the store (``prepare_store``): drop the log rows, rebuild the file
    without free pages, truncate the write-ahead log, remove the folders of no live index.
    """
    pending = path / FORGOTTEN
    if not pending.exists():
        return
    collection_ids = pending.read_text().split()
    try:
        with closing(sqlite3.connect(path / "chroma.sqlite3", isolation_level=None)) as conn:
            conn.execute("PRAGMA secure_delete=ON")
            for collection_id in collection_ids:
                conn.execute(
                    "DELETE FROM embeddings_queue WHERE topic LIKE ?", ("%/" + collection_id,)
                )
            conn.execute("VACUUM")
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            live = {row[0] for row in conn.execute("SELECT id FROM segments")}
    except sqlite3.Error as exc:
        raise StorageError(f"Could not scrub forgotten users from {path}: {exc}") from exc
    for folder in path.iterdir():
        if folder.is_dir() and _SEGMENT_FOLDER.match(folder.name) and folder.name not in live:
            shutil.rmtree(folder, ignore_errors=True)
    pending.unlink()


def start_bounded_system(settings: ChromaSettings, max_indexes: int) -> None:
    """Start Chroma's embedded system for ``settings`` holding at most ``max_indexes`` indexes.

    Chroma keeps each used collection's HNSW index in memory up to a fifth of the process's
    open-file limit, with no setting to lower it: with one collection per user, memory grew
    with every user served. Its system is started here, as ``PersistentClient`` would, with
    that cache bounded; the client then finds it started and uses it. These are Chroma
    internals: if they change, Chroma starts as it would have, unbounded, with a warning.
    """
    from chromadb.api import ServerAPI
    from chromadb.api.shared_system_client import SharedSystemClient
    from chromadb.config import System
    from chromadb.telemetry.product import ProductTelemetryClient

    systems = getattr(SharedSystemClient, "_identifier_to_system", None)
    identifier = settings.persist_directory
    if not isinstance(systems, dict) or identifier in systems:
        return
    system = System(settings)
    system.instance(ProductTelemetryClient)
    api = system.instance(ServerAPI)
    held = getattr(api, "hnsw_cache_size", None)
    if not isinstance(held, int):
        logger.warning("This Chroma keeps every collection's index in memory; not bounded.")
        return
    setattr(api, "hnsw_cache_size", min(held, max_indexes))  # noqa: B010 (not in ServerAPI)
    systems[identifier] = system
    system.start()


def collection_name(user_id: str) -> str:
    """A Chroma-legal collection name for a user id of any characters."""
    return "user-" + hashlib.sha256(user_id.encode()).hexdigest()[:40]


class ChromaVectorIndex:
    """Vectors in a Chroma ``PersistentClient`` under ``path``; no text is stored in Chroma.

    The client opens on first use: importing chromadb takes seconds, and much that opens an
    assistant (the profile, the export, a key check) never touches a vector.
    """

    def __init__(self, path: Path, *, cached_users: int = 256) -> None:
        self._path = path
        self._cached_users = cached_users
        self._client_api: ClientAPI | None = None
        # Collection handles, and names known to have none; both bounded (handles reopen).
        self._collections: UserCache[Any] = UserCache(cached_users)
        self._missing: UserCache[bool] = UserCache(cached_users)
        self._lock = threading.Lock()

    def _client(self) -> ClientAPI:
        """The client, opened now if this is the first use; call with ``_lock`` held."""
        if self._client_api is None:
            import chromadb  # slow import: only when a vector is first needed
            from chromadb.config import Settings as ChromaSettings

            try:
                prepare_store(self._path)
                settings = ChromaSettings(
                    anonymized_telemetry=False,
                    allow_reset=False,
                    is_persistent=True,
                    persist_directory=str(self._path),
                )
                start_bounded_system(settings, self._cached_users)
                self._client_api = chromadb.PersistentClient(
                    path=str(self._path), settings=settings
                )
            except Exception as exc:  # chroma raises several unrelated types here (and OSError)
                raise StorageError(f"Cannot open the Chroma store at {self._path}: {exc}") from exc
        return self._client_api

    def _collection(self, user_id: str, *, create: bool) -> Any | None:
        name = collection_name(user_id)
        with self._lock:
            if (held := self._collections.get(name)) is not None:
                return held
            if create:
                col = self._client().get_or_create_collection(
                    name, embedding_function=None, metadata={"hnsw:space": "cosine"}
                )
            elif name in self._missing:
                return None
            else:
                try:
                    col = self._client().get_collection(name, embedding_function=None)
                except Exception:  # NotFoundError in 1.x, ValueError in older releases
                    # Remembered: a failed lookup costs a millisecond, and this index is the
                    # only writer of its store (Chroma's persistent client is one process's).
                    self._missing.put(name, True)
                    return None
            self._missing.pop(name)
            return self._collections.put(name, col)

    def add(self, user_id: str, ids: Sequence[str], vectors: Sequence[Sequence[float]]) -> None:
        """Store (or replace) vectors under ``ids``."""
        if not ids:
            return
        col = self._collection(user_id, create=True)
        assert col is not None
        col.upsert(ids=list(ids), embeddings=[list(v) for v in vectors])

    def search(self, user_id: str, vector: Sequence[float], k: int) -> list[tuple[str, float]]:
        """Up to ``k`` (id, cosine similarity) pairs, most similar first."""
        col = self._collection(user_id, create=False)
        if col is None:
            return []
        # No count() first: it cost as much as the query, which returns fewer when there are.
        result = col.query(query_embeddings=[list(vector)], n_results=k, include=["distances"])
        ids = result["ids"][0]
        distances = (result["distances"] or [[]])[0]
        return [(i, 1.0 - float(d)) for i, d in zip(ids, distances, strict=True)]

    def vectors(self, user_id: str, ids: Sequence[str]) -> dict[str, Sequence[float]]:
        """The stored vectors of ``ids``, by id; ids without one are left out."""
        col = self._collection(user_id, create=False)
        if col is None or not ids:
            return {}
        result = col.get(ids=list(ids), include=["embeddings"])
        embeddings = result["embeddings"]
        if embeddings is None:
            return {}
        return dict(zip(result["ids"], embeddings, strict=True))

    def delete(self, user_id: str, ids: Sequence[str] | None = None) -> None:
        """Remove vectors by id, or drop the user's whole collection when ``ids`` is None."""
        if ids is not None:
            col = self._collection(user_id, create=False)
            if col is not None and ids:
                col.delete(ids=list(ids))
            return
        name = collection_name(user_id)
        with self._lock:
            self._collections.pop(name)
            client = self._client()  # a store that cannot open is an error, not "nothing here"
            try:
                collection_id = str(client.get_collection(name, embedding_function=None).id)
                client.delete_collection(name)
            except Exception:  # nothing stored for this user: nothing to delete
                return
            self._missing.put(name, True)
            with (self._path / FORGOTTEN).open("a") as pending:  # scrubbed at the next open
                pending.write(collection_id + "\n")
                pending.flush()
                os.fsync(pending.fileno())

    def count(self, user_id: str) -> int:
        """How many vectors the user has."""
        col = self._collection(user_id, create=False)
        return 0 if col is None else col.count()
