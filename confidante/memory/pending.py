"""Write-behind for a vector index: new vectors are searchable at once and stored in batches.

A Chroma upsert costs 2.5-3.5 ms of CPU whether it carries one vector or forty, and Chroma's
Rust code holds the GIL while it writes (and fsyncs), so every thread of the process waits: one
upsert per turn was the largest part of a chat turn (10.6 ms of server CPU per HTTP chat
before, 4.4 ms after, on the 2-core bench machine; ``bench/serving.py``). Here ``add`` only
buffers; ``search`` ranks the buffered vectors exactly, next to the index's own results, so a
search never misses what was added; a background thread writes each user's buffer in one
upsert ``delay`` seconds after the first vector waits, or at once when ``max_pending`` wait.

Durability is the caller's: ``HybridMemory`` marks each document whose vector is not written yet
in SQLite, in the transaction that stores it; ``on_flushed`` clears the marks after a write, and
marked documents are embedded and buffered again when the memory is opened after a crash.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence

import numpy as np

from confidante.memory.vector import VectorIndex

logger = logging.getLogger("confidante.memory")

Flushed = Callable[[str, list[str]], None]
# Seconds between two users' writes in the background (see ``VectorBuffer.flush``).
WRITE_PAUSE = 0.005


def _unit(vector: Sequence[float]) -> np.ndarray:
    array = np.asarray(vector, dtype=np.float32)
    norm = float(np.linalg.norm(array))
    return array / norm if norm else array


class VectorBuffer:
    """Buffers ``add`` for ``index``; one background thread writes the buffer in batches."""

    def __init__(
        self,
        index: VectorIndex,
        *,
        on_flushed: Flushed,
        delay: float = 1.0,
        max_pending: int = 256,
    ) -> None:
        self.index = index
        self.delay = delay
        self.max_pending = max_pending
        self._on_flushed = on_flushed
        # user -> doc id -> (vector as given, unit vector for exact cosine similarity)
        self._pending: dict[str, dict[str, tuple[Sequence[float], np.ndarray]]] = {}
        self._size = 0
        self._lock = threading.Lock()  # guards the buffer; held for microseconds
        self._changed = threading.Condition(self._lock)
        # One writer at a time, so a flush cannot write back vectors that delete() just removed.
        self._writing = threading.Lock()
        self._closed = False
        self._thread: threading.Thread | None = None

    def add(self, user_id: str, ids: Sequence[str], vectors: Sequence[Sequence[float]]) -> None:
        """Buffer vectors under ``ids`` (replacing buffered ones); searchable at once."""
        if not ids:
            return
        entries = [
            (doc_id, (vector, _unit(vector))) for doc_id, vector in zip(ids, vectors, strict=True)
        ]
        with self._lock:
            was_empty = self._size == 0
            pending = self._pending.setdefault(user_id, {})
            for doc_id, entry in entries:
                self._size += doc_id not in pending
                pending[doc_id] = entry
            backlog = self._size
            self._start()
            # The writer waits for a first vector, then for a full batch or its delay.
            if was_empty or backlog >= self.max_pending:
                self._changed.notify()
        # Bounded: when writes fall far behind (or keep failing), the caller writes, and sees
        # the error, instead of the buffer growing without end.
        if backlog >= 4 * self.max_pending:
            self.flush()

    def _start(self) -> None:
        if self._thread is None and not self._closed:
            self._thread = threading.Thread(
                target=self._run, name="confidante-vector-writer", daemon=True
            )
            self._thread.start()

    def search(self, user_id: str, vector: Sequence[float], k: int) -> list[tuple[str, float]]:
        """Up to ``k`` (id, cosine similarity) pairs over written and buffered vectors."""
        with self._lock:
            pending = list(self._pending.get(user_id, {}).items())
        found = dict(self.index.search(user_id, vector, k))
        if pending:
            similarities = np.stack([unit for _, (_, unit) in pending]) @ _unit(vector)
            # Buffered vectors are newer than what the index holds under the same id.
            found |= {
                doc_id: float(s) for (doc_id, _), s in zip(pending, similarities, strict=True)
            }
        return sorted(found.items(), key=lambda item: item[1], reverse=True)[:k]

    def vectors(self, user_id: str, ids: Sequence[str]) -> dict[str, Sequence[float]]:
        """The vectors of ``ids``: buffered ones as given, the rest from the index."""
        with self._lock:
            pending = self._pending.get(user_id, {})
            found = {doc_id: pending[doc_id][0] for doc_id in ids if doc_id in pending}
        rest = [doc_id for doc_id in ids if doc_id not in found]
        return found | (self.index.vectors(user_id, rest) if rest else {})

    def delete(self, user_id: str, ids: Sequence[str] | None = None) -> None:
        """Remove vectors by id, or all of the user's when ``ids`` is None, buffered or written."""
        with self._writing:
            with self._lock:
                pending = self._pending.get(user_id, {})
                for doc_id in list(pending) if ids is None else ids:
                    self._size -= pending.pop(doc_id, None) is not None
                if not pending:
                    self._pending.pop(user_id, None)
            self.index.delete(user_id, ids)

    def flush(self, *, pause: float = 0.0) -> None:
        """Write every buffered vector now, one batch per user; raises the first failure.

        ``pause`` seconds between users let other threads run: Chroma holds the GIL while it
        writes (and fsyncs), so back-to-back writes for many users would stall the server.
        """
        with self._lock:
            users = list(self._pending)
        failure: Exception | None = None
        for n, user_id in enumerate(users):
            if pause and n:
                time.sleep(pause)
            try:
                with self._writing:
                    with self._lock:
                        batch = dict(self._pending.get(user_id, {}))
                    if batch:
                        self._write(user_id, batch)
            except Exception as exc:  # the others are still written; this one stays
                failure = failure or exc
        if failure is not None:
            raise failure

    def _write(self, user_id: str, batch: dict[str, tuple[Sequence[float], np.ndarray]]) -> None:
        ids = list(batch)
        self.index.add(user_id, ids, [vector for vector, _ in batch.values()])
        self._on_flushed(user_id, ids)
        with self._lock:  # drop what was written, unless it was replaced meanwhile
            pending = self._pending.get(user_id, {})
            for doc_id, entry in batch.items():
                if pending.get(doc_id) is entry:
                    del pending[doc_id]
                    self._size -= 1
            if not pending:
                self._pending.pop(user_id, None)

    def _run(self) -> None:
        while True:
            with self._changed:
                self._changed.wait_for(lambda: self._closed or self._size > 0)
                if self._closed:
                    return
                # Gather for ``delay`` so that one upsert carries many turns.
                self._changed.wait_for(
                    lambda: self._closed or self._size >= self.max_pending, timeout=self.delay
                )
                if self._closed:
                    return
            try:
                self.flush(pause=WRITE_PAUSE)
            except Exception:  # kept buffered (and marked in SQLite): retried after a pause
                logger.exception("Writing buffered vectors failed; retrying in %.1f s", self.delay)
                with self._changed:
                    self._changed.wait_for(lambda: self._closed, timeout=self.delay)

    @property
    def pending(self) -> int:
        """How many vectors wait to be written."""
        with self._lock:
            return self._size

    def close(self) -> None:
        """Stop the writer thread and write what is buffered; safe to call twice."""
        with self._changed:
            self._closed = True
            self._changed.notify_all()
        if self._thread is not None:
            self._thread.join()
        self.flush()
