"""Graph facts persisted in SQLite: the durable form of every user's knowledge graph."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from confidante.database import Database, Sealer, seal_optional, unseal_optional
from confidante.records import Fact

SCHEMA = """
CREATE TABLE IF NOT EXISTS facts (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    user_id TEXT NOT NULL,
    subject TEXT NOT NULL,
    predicate TEXT NOT NULL,
    object TEXT NOT NULL,
    role TEXT,
    statement TEXT NOT NULL,
    source_ids TEXT NOT NULL,
    confidence REAL NOT NULL,
    valid_from TEXT,
    valid_to TEXT,
    created_at TEXT NOT NULL,
    expired_at TEXT,
    closed_by TEXT
);
CREATE INDEX IF NOT EXISTS facts_by_user ON facts (user_id, subject, predicate);
"""


def _time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


# The columns that hold what was learned about a person, sealed when the data dir is encrypted.
# The predicate stays plain: it is one of the schema's names, not the person's words.
SEALED_COLUMNS = {"facts": ("subject", "object", "role", "statement")}


def _fact_from_row(row: Any, sealer: Sealer) -> Fact:
    user_id = row["user_id"]
    return Fact(
        id=row["id"],
        user_id=user_id,
        subject=sealer.unseal(user_id, row["subject"]),
        predicate=row["predicate"],
        object=sealer.unseal(user_id, row["object"]),
        role=unseal_optional(sealer, user_id, row["role"]),
        statement=sealer.unseal(user_id, row["statement"]),
        source_ids=json.loads(row["source_ids"]),
        confidence=row["confidence"],
        valid_from=_time(row["valid_from"]),
        valid_to=_time(row["valid_to"]),
        created_at=datetime.fromisoformat(row["created_at"]),
        expired_at=_time(row["expired_at"]),
        closed_by=row["closed_by"],
    )


class FactStore:
    """Inserts and updates facts; never deletes one except when a user is forgotten."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._sealer = db.sealer
        db.script(SCHEMA)

    def facts(self, user_id: str) -> list[Fact]:
        """Every fact of the user, current and retired, in the order learned."""
        rows = self._db.query("SELECT * FROM facts WHERE user_id = ? ORDER BY seq", (user_id,))
        return [_fact_from_row(r, self._sealer) for r in rows]

    def save(self, facts: Iterable[Fact]) -> None:
        """Insert new facts and overwrite changed ones (same id), atomically."""
        seal = self._sealer
        with self._db.transaction() as conn:
            for f in facts:
                conn.execute(
                    "INSERT INTO facts (id, user_id, subject, predicate, object, role, statement,"
                    " source_ids, confidence, valid_from, valid_to, created_at, expired_at,"
                    " closed_by)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                    " ON CONFLICT (id) DO UPDATE SET source_ids = excluded.source_ids,"
                    " confidence = excluded.confidence, valid_to = excluded.valid_to,"
                    " expired_at = excluded.expired_at, closed_by = excluded.closed_by",
                    (
                        f.id,
                        f.user_id,
                        seal.seal(f.user_id, f.subject),
                        f.predicate,
                        seal.seal(f.user_id, f.object),
                        seal_optional(seal, f.user_id, f.role),
                        seal.seal(f.user_id, f.statement),
                        json.dumps(f.source_ids),
                        f.confidence,
                        _iso(f.valid_from),
                        _iso(f.valid_to),
                        f.created_at.isoformat(),
                        _iso(f.expired_at),
                        f.closed_by,
                    ),
                )

    def has_user(self, user_id: str) -> bool:
        """True if any fact about the user is stored."""
        return bool(self._db.query("SELECT 1 FROM facts WHERE user_id = ? LIMIT 1", (user_id,)))

    def delete(self, fact_id: str) -> None:
        """Remove one fact."""
        with self._db.transaction() as conn:
            conn.execute("DELETE FROM facts WHERE id = ?", (fact_id,))

    def delete_user(self, user_id: str) -> None:
        """Remove every fact of the user."""
        with self._db.transaction() as conn:
            conn.execute("DELETE FROM facts WHERE user_id = ?", (user_id,))
