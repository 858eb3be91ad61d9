"""Distill on an interval in the background of a running event loop (the server's)."""

from __future__ import annotations

import asyncio
import logging

from confidante.training.distill import Distiller

logger = logging.getLogger("confidante.training")


class DistillScheduler:
    """Calls ``distiller.run()`` in a worker thread every ``interval_s`` until stopped.

    A failed run is logged and the next one goes ahead; ``Distiller`` itself makes a run
    that overlaps another (say, `confidante distill` from a shell) return at once.
    """

    def __init__(self, distiller: Distiller, interval_s: float) -> None:
        if interval_s <= 0:
            raise ValueError("interval_s must be positive")
        self.distiller = distiller
        self.interval_s = interval_s
        self.runs = 0
        self._task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        """Whether the background task is alive."""
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        """Start the background task on the running loop (no-op if started)."""
        if not self.running:
            self._task = asyncio.get_running_loop().create_task(self._loop(), name="distill")

    async def stop(self) -> None:
        """Cancel the task and wait for it; a run in progress finishes in its thread."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.interval_s)
            try:
                outcome = await asyncio.to_thread(self.distiller.run)
            except Exception:
                logger.exception("Distillation failed; trying again in %.0f s", self.interval_s)
            else:
                logger.info("Distillation: %s", outcome.message)
            self.runs += 1
