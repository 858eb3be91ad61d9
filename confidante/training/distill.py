"""The distillation job: ratings since the last batch become one new versioned batch.

``Distiller.run`` is safe to call from anywhere at any time: a lock file lets one run at
a time (others return at once), a run with nothing new writes nothing, and the cursor
(the last rating distilled) lives in SQLite and moves only once the batch is in place. A
run that crashes leaves a ``.partial`` directory, removed by the next run.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Self

from confidante.config import Settings
from confidante.database import Database
from confidante.encryption import open_database
from confidante.errors import StorageError
from confidante.memory.journal import Journal
from confidante.records import new_id, utc_now
from confidante.training.batch import (
    Batch,
    list_batches,
    remove_partials,
    remove_user,
    write_batch,
)
from confidante.training.formats import build_examples
from confidante.training.rated import RatedTurn, last_rating_seq, rated_turns

SCHEMA = """
CREATE TABLE IF NOT EXISTS distilled_batches (
    batch_id TEXT PRIMARY KEY,
    created_at TEXT NOT NULL,
    after_seq INTEGER NOT NULL,
    through_seq INTEGER NOT NULL
);
"""


@dataclass(frozen=True, kw_only=True)
class DistillOutcome:
    """What a run did: the new batch, or ``None`` and why not."""

    batch: Batch | None
    message: str


class Distiller:
    """Turns the journal's ratings into batches under ``<data_dir>/batches``."""

    def __init__(self, *, database: Database, settings: Settings) -> None:
        self.settings = settings
        self.root = settings.resolved_data_dir() / "batches"
        self._db = database
        self._owns_database = False
        database.script(SCHEMA)

    @classmethod
    def open(cls, settings: Settings) -> Self:
        """A distiller on the database under ``settings.data_dir``, without loading any model."""
        path = settings.resolved_data_dir() / "confidante.db"
        if not path.exists():
            raise StorageError(
                f"No Confidante data in {path.parent}; pass the --data-dir the assistant uses."
            )
        database = open_database(settings)
        Journal(database)  # brings an older data dir's tables to the schema read here
        distiller = cls(database=database, settings=settings)
        distiller._owns_database = True
        return distiller

    def close(self) -> None:
        """Close the database if ``open`` opened it."""
        if self._owns_database:
            self._db.close()

    @contextmanager
    def _locked(self, *, wait: bool) -> Iterator[bool]:
        """Hold the batches' lock file; yields False at once if busy and not ``wait``."""
        self.root.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.root / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
            except BlockingIOError:
                yield False
                return
            yield True
        finally:
            os.close(fd)  # closing releases the lock

    def cursor(self) -> int:
        """The last rating (by sequence number) already in a batch; 0 before the first."""
        rows = self._db.query("SELECT COALESCE(MAX(through_seq), 0) AS seq FROM distilled_batches")
        return rows[0]["seq"]

    def batches(self) -> list[Batch]:
        """Every complete batch, oldest first; ``CorruptBatchError`` if one is damaged."""
        return list_batches(self.root)

    def run(self) -> DistillOutcome:
        """Distill the ratings given since the last batch into a new batch, if there are enough."""
        with self._locked(wait=False) as held:
            if not held:
                return DistillOutcome(batch=None, message="Another distillation is running.")
            self._recover()
            after, through = self.cursor(), last_rating_seq(self._db)
            turns = rated_turns(self._db, after, through) if through > after else []
            if not turns:
                return DistillOutcome(batch=None, message="Nothing rated since the last batch.")
            return self._distill(turns, after, through)

    def _distill(self, turns: list[RatedTurn], after: int, through: int) -> DistillOutcome:
        s = self.settings
        examples = build_examples(turns, min_score=s.distill_min_score)
        if len(examples) < s.distill_min_examples:
            return DistillOutcome(
                batch=None,
                message=f"Only {len(examples)} training examples since the last batch, fewer "
                f"than {s.distill_min_examples}; the ratings wait for the next run (or lower "
                "CONFIDANTE_DISTILL_MIN_EXAMPLES).",
            )
        owners = {t.rating.interaction_id: t.rating.user_id for t in turns}
        used = sorted({i for e in examples for i in e.interaction_ids})
        by_user: dict[str, list[str]] = {}
        for interaction_id in used:
            by_user.setdefault(owners[interaction_id], []).append(interaction_id)
        now = utc_now()
        batch_id = f"{now:%Y%m%dT%H%M%S%fZ}-{new_id('b')[-6:]}"
        manifest = {
            "created_at": now.isoformat(),
            "ratings": {"after_seq": after, "through_seq": through},
            "users": sorted(by_user),
            "interactions": by_user,
            "settings": {
                "min_score": s.distill_min_score,
                "min_examples": s.distill_min_examples,
                "validation_fraction": s.distill_validation_fraction,
                "scrubbed": ["email", "phone", "card", "address"],
            },
        }
        batch = write_batch(
            self.root,
            batch_id,
            examples,
            validation_fraction=s.distill_validation_fraction,
            manifest=manifest,
            owners=owners,
            sealer=self._db.sealer,
        )
        self._advance(batch)
        total = sum(batch.counts.values())
        return DistillOutcome(batch=batch, message=f"Wrote {total} rows to {batch.path}.")

    def _advance(self, batch: Batch) -> None:
        """Record a batch that is in place, moving the cursor past its ratings."""
        seqs = batch.manifest["ratings"]
        with self._db.transaction() as conn:
            conn.execute(
                "INSERT OR IGNORE INTO distilled_batches VALUES (?, ?, ?, ?)",
                (
                    batch.batch_id,
                    batch.manifest["created_at"],
                    seqs["after_seq"],
                    seqs["through_seq"],
                ),
            )

    def _recover(self) -> None:
        """After a crash: drop ``.partial`` dirs; record batches renamed but not recorded."""
        remove_partials(self.root)
        for batch in list_batches(self.root, verify=False):
            self._advance(batch)

    def forget(self, user_id: str) -> int:
        """Remove the user's rows from every batch on disk; returns how many batches changed."""
        with self._locked(wait=True):
            remove_partials(self.root)
            return sum(remove_user(b, user_id) for b in list_batches(self.root, verify=False))
