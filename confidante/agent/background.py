"""CPU-heavy work that needs nothing but its inputs, in processes of lower priority.

A server's small requests (a search, a profile read) must not wait behind a large one. Threads
do not separate them: extraction rules and JSON encoding are pure Python, so a thread doing
them holds the interpreter, and two cores are shared by whoever is runnable. In a process of
lower CPU priority (``nice``), the same work runs on the cores the serving process leaves idle,
and the kernel hands a core back to the server the moment a small request arrives.

Two kinds of work go there: the deterministic fact extractor (text in, fact candidates out)
and exports (read from the database alone, as ``MemoryReader`` does, encoded as JSON). The
rest of learning (reconciling, indexing) stays in the serving process: it writes the stores
that process holds. A process that dies is replaced, and the call that found it dead runs in
the serving process instead, so no turn goes unlearned and no export fails for it. Workers are
spawned, so a script that asks for them starts from an ``if __name__ == "__main__":`` guard, as
with any use of ``multiprocessing``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import Executor, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from datetime import datetime
from multiprocessing import get_context
from typing import TYPE_CHECKING, Any, TypeVar

from confidante.config import Settings
from confidante.extraction.base import FactExtractor
from confidante.graph.schema import FactCandidate

if TYPE_CHECKING:
    from confidante.agent.reader import MemoryReader

logger = logging.getLogger(__name__)
T = TypeVar("T")
PARENT_CHECK_S = 1.0
GIVE_UP_AFTER = 3  # pools broken in a row before the work stays in this process

# What the worker process holds, set once by ``_start_worker``.
_settings: Settings | None = None
_extractor: FactExtractor | None = None
_reader: MemoryReader | None = None


def _start_worker(settings: Settings, extractor: FactExtractor, niceness: int) -> None:
    global _settings, _extractor
    os.nice(niceness)
    _settings, _extractor = settings, extractor
    parent = os.getppid()
    threading.Thread(target=_exit_with, args=(parent,), daemon=True).start()


def _exit_with(parent: int) -> None:
    """End this worker once ``parent`` is gone (killed, so it could not stop its workers)."""
    while os.getppid() == parent:
        time.sleep(PARENT_CHECK_S)
    os._exit(0)


def _ready() -> int:
    return os.getpid()


def _extract(text: str, speaker: str, when: datetime | None) -> list[FactCandidate]:
    assert _extractor is not None
    return _extractor.extract(text, speaker=speaker, when=when)


def _export_json(user_id: str) -> bytes:
    global _reader
    if _reader is None:
        from confidante.agent.reader import MemoryReader

        assert _settings is not None
        _reader = MemoryReader.open(_settings)
    return json.dumps(_reader.export(user_id), ensure_ascii=False).encode()


class BackgroundWork:
    """A pool of ``processes`` lower-priority worker processes (started when first used).

    ``extractor`` must be picklable: each worker gets a copy, and keeps it for good.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        extractor: FactExtractor,
        processes: int,
        niceness: int,
    ) -> None:
        self._settings = settings
        self._extractor = extractor
        self._processes = processes
        self._niceness = niceness
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()
        self._closed = False
        self._failures = 0  # pools broken in a row

    def _executor(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = ProcessPoolExecutor(
                    max_workers=self._processes,
                    # Spawned, not forked: the server holds threads, a model and open stores.
                    mp_context=get_context("spawn"),
                    initializer=_start_worker,
                    initargs=(self._settings, self._extractor, self._niceness),
                )
            return self._pool

    def _replace(self, broken: Executor) -> None:
        with self._lock:
            if self._pool is broken:
                self._pool = None
        broken.shutdown(wait=False, cancel_futures=True)

    def _call(self, work: Callable[..., T], *args: Any) -> T | None:
        """``work(*args)`` in a worker, or None when the pool broke (it is then replaced)."""
        if self._closed:
            return None
        pool = self._executor()
        try:
            result = pool.submit(work, *args).result()
        except BrokenProcessPool:
            self._replace(pool)
            self._failures += 1
            if self._failures >= GIVE_UP_AFTER:
                # Workers that die as they start (a script without an ``if __name__ ==
                # "__main__":`` guard, say) would die again: this process does the work.
                self._closed = True
                logger.error(
                    "Background worker processes died %d times in a row; extracting and "
                    "exporting in this process from now on",
                    self._failures,
                )
            else:
                logger.warning("A background worker process died; starting another")
            return None
        self._failures = 0
        return result

    def start(self) -> None:
        """Start the workers now, so the first request that needs one does not wait."""
        for _ in range(self._processes):
            self._call(_ready)

    def extract(
        self, text: str, *, speaker: str, when: datetime | None = None
    ) -> list[FactCandidate]:
        """The extractor's facts in ``text``, found in a worker (here if none can)."""
        found = self._call(_extract, text, speaker, when)
        if found is None:
            return self._extractor.extract(text, speaker=speaker, when=when)
        return found

    async def export_json(self, user_id: str, here: Callable[[], bytes]) -> bytes:
        """The export of ``user_id`` as JSON, made in a worker; ``here`` makes it if none can."""
        made = await asyncio.to_thread(self._call, _export_json, user_id)
        return made if made is not None else await asyncio.to_thread(here)

    def close(self) -> None:
        """Stop the workers (work under way finishes first)."""
        self._closed = True
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
