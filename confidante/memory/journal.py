"""The journal: every message, interaction and rating, in SQLite, with ids and timestamps.

What training reads of it is in ``confidante.training.rated``; the export of everything
held about a user is assembled in ``confidante.agent.export``.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from confidante.database import Database, Sealer, seal_optional, unseal_optional
from confidante.errors import UnknownInteractionError
from confidante.records import ChatMessages, Message, Rating, Recollection

SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    seq INTEGER PRIMARY KEY,
    user_id TEXT NOT NULL,
    id TEXT NOT NULL,
    role TEXT NOT NULL,
    name TEXT,
    content TEXT NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (user_id, id)
);
CREATE INDEX IF NOT EXISTS messages_by_user_time ON messages (user_id, created_at, seq);
CREATE TABLE IF NOT EXISTS interactions (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    created_at TEXT NOT NULL,
    request_ids TEXT NOT NULL,
    reply_id TEXT NOT NULL,
    context TEXT NOT NULL,
    prompt TEXT NOT NULL,
    model TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS interactions_by_user ON interactions (user_id, created_at);
CREATE TABLE IF NOT EXISTS training_opt_outs (
    user_id TEXT PRIMARY KEY,
    created_at TEXT NOT NULL
);
-- Messages stored but not learned from yet: learning follows storing, and a crash in between
-- must not lose what they teach (see ``unlearned``).
CREATE TABLE IF NOT EXISTS unlearned (
    user_id TEXT NOT NULL,
    id TEXT NOT NULL,
    PRIMARY KEY (user_id, id)
) WITHOUT ROWID;
"""

# Ratings as of feedback records; older data dirs are migrated to it by ``migrate_ratings``.
RATINGS_TABLE = """
CREATE TABLE IF NOT EXISTS {name} (
    seq INTEGER PRIMARY KEY,
    interaction_id TEXT NOT NULL REFERENCES interactions (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL,
    score INTEGER,
    comment TEXT,
    created_at TEXT NOT NULL,
    thumbs INTEGER,
    correction TEXT,
    source TEXT NOT NULL DEFAULT 'sdk'
)
"""
RATINGS_INDEX = "CREATE INDEX IF NOT EXISTS ratings_by_user ON ratings (user_id)"
ADDED_RATING_COLUMNS = {
    "thumbs": "INTEGER",
    "correction": "TEXT",
    "source": "TEXT NOT NULL DEFAULT 'sdk'",
}
OLD_RATING_COLUMNS = "seq, interaction_id, user_id, score, comment, created_at"


def migrate_ratings(conn: sqlite3.Connection) -> None:
    """Bring the ratings table to the feedback-record schema, keeping every row.

    New columns are added in place. A table from before thumbs-only feedback has
    ``score NOT NULL``, which SQLite cannot relax in place, so it is copied once into a new
    table in the same transaction.
    """
    columns = {row["name"]: row for row in conn.execute("PRAGMA table_info(ratings)")}
    if not columns:
        conn.execute(RATINGS_TABLE.format(name="ratings"))
    elif columns["score"]["notnull"]:
        conn.execute(RATINGS_TABLE.format(name="ratings_migrated"))
        conn.execute(
            f"INSERT INTO ratings_migrated ({OLD_RATING_COLUMNS})"
            f" SELECT {OLD_RATING_COLUMNS} FROM ratings"
        )
        conn.execute("DROP TABLE ratings")
        conn.execute("ALTER TABLE ratings_migrated RENAME TO ratings")
    else:
        for name, declaration in ADDED_RATING_COLUMNS.items():
            if name not in columns:
                conn.execute(f"ALTER TABLE ratings ADD COLUMN {name} {declaration}")
    conn.execute(RATINGS_INDEX)


# The columns that hold a user's words, sealed when the data dir is encrypted.
SEALED_COLUMNS = {
    "messages": ("name", "content"),
    "interactions": ("context", "prompt"),
    "ratings": ("comment", "correction"),
}


def rating_from_row(row: Any, sealer: Sealer) -> Rating:
    """A ``Rating`` from a row of the ratings table."""
    thumbs = row["thumbs"]
    user_id = row["user_id"]
    return Rating(
        interaction_id=row["interaction_id"],
        user_id=user_id,
        score=row["score"],
        thumbs=None if thumbs is None else bool(thumbs),
        comment=unseal_optional(sealer, user_id, row["comment"]),
        correction=unseal_optional(sealer, user_id, row["correction"]),
        source=row["source"],
        created_at=datetime.fromisoformat(row["created_at"]),
    )


def _message_from_row(row: Any, sealer: Sealer) -> Message:
    user_id = row["user_id"]
    return Message(
        role=row["role"],
        content=sealer.unseal(user_id, row["content"]),
        name=unseal_optional(sealer, user_id, row["name"]),
        id=row["id"],
        created_at=datetime.fromisoformat(row["created_at"]),
    )


class Journal:
    """Messages, interactions and ratings of every user, append-mostly."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._sealer = db.sealer
        db.script(SCHEMA)
        with db.transaction() as conn:
            migrate_ratings(conn)

    def add_messages(self, user_id: str, messages: Iterable[Message]) -> list[Message]:
        """Store messages that are not stored yet (by id); return the ones newly stored.

        They are marked unlearned in the same transaction; ``learned`` clears the marks.
        """
        added: list[Message] = []
        seal = self._sealer
        with self._db.transaction() as conn:
            for m in messages:
                assert m.id is not None and m.created_at is not None, "stamp messages first"
                cursor = conn.execute(
                    "INSERT OR IGNORE INTO messages (user_id, id, role, name, content, created_at)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    (
                        user_id,
                        m.id,
                        m.role,
                        seal_optional(seal, user_id, m.name),
                        seal.seal(user_id, m.content),
                        m.created_at.isoformat(),
                    ),
                )
                if cursor.rowcount:
                    added.append(m)
            conn.executemany(
                "INSERT OR IGNORE INTO unlearned (user_id, id) VALUES (?, ?)",
                [(user_id, m.id) for m in added],
            )
        return added

    def learned(self, user_id: str, message_ids: Iterable[str]) -> None:
        """Clear the unlearned marks of messages whose learning is done."""
        with self._db.transaction() as conn:
            conn.executemany(
                "DELETE FROM unlearned WHERE user_id = ? AND id = ?",
                [(user_id, i) for i in message_ids],
            )

    def unlearned(self) -> dict[str, list[Message]]:
        """Per user, stored messages never learned from (a crash came between), oldest first."""
        rows = self._db.query(
            "SELECT m.* FROM messages m JOIN unlearned u ON u.user_id = m.user_id AND u.id = m.id"
            " ORDER BY m.user_id, m.created_at, m.seq"
        )
        found: dict[str, list[Message]] = {}
        for row in rows:
            found.setdefault(row["user_id"], []).append(_message_from_row(row, self._sealer))
        return found

    def recent_messages(self, user_id: str, limit: int) -> list[Message]:
        """The user's last ``limit`` messages, oldest first."""
        rows = self._db.query(
            "SELECT * FROM messages WHERE user_id = ? ORDER BY created_at DESC, seq DESC LIMIT ?",
            (user_id, limit),
        )
        return [_message_from_row(r, self._sealer) for r in reversed(rows)]

    def all_messages(self, user_id: str) -> list[Message]:
        """Every message of the user, oldest first."""
        rows = self._db.query(
            "SELECT * FROM messages WHERE user_id = ? ORDER BY created_at, seq", (user_id,)
        )
        return [_message_from_row(r, self._sealer) for r in rows]

    def has_user(self, user_id: str) -> bool:
        """True if anything was ever recorded for this user."""
        return bool(self._db.query("SELECT 1 FROM messages WHERE user_id = ? LIMIT 1", (user_id,)))

    def add_interaction(
        self,
        *,
        interaction_id: str,
        user_id: str,
        created_at: datetime,
        request_ids: list[str],
        reply: Message,
        context: list[Recollection],
        prompt: ChatMessages,
        model: str,
    ) -> None:
        """Store one turn: the reply message and what went into generating it, atomically."""
        assert reply.id is not None and reply.created_at is not None
        seal = self._sealer
        with self._db.transaction() as conn:
            conn.execute(
                "INSERT INTO messages (user_id, id, role, name, content, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (
                    user_id,
                    reply.id,
                    reply.role,
                    seal_optional(seal, user_id, reply.name),
                    seal.seal(user_id, reply.content),
                    reply.created_at.isoformat(),
                ),
            )
            conn.execute(
                "INSERT INTO interactions VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    interaction_id,
                    user_id,
                    created_at.isoformat(),
                    json.dumps(request_ids),
                    reply.id,
                    seal.seal(user_id, json.dumps([r.model_dump(mode="json") for r in context])),
                    seal.seal(user_id, json.dumps(prompt)),
                    model,
                ),
            )

    def interaction_user(self, interaction_id: str, *, of_user: str | None = None) -> str:
        """The user an interaction belongs to; ``UnknownInteractionError`` if there is none.

        With ``of_user``, another user's interaction is reported as unknown too, so that one
        user cannot probe another's ids.
        """
        rows = self._db.query("SELECT user_id FROM interactions WHERE id = ?", (interaction_id,))
        if not rows or (of_user is not None and rows[0]["user_id"] != of_user):
            raise UnknownInteractionError(
                f"No interaction with id {interaction_id!r}; use the interaction_id of a Reply."
            )
        return rows[0]["user_id"]

    def add_rating(self, rating: Rating) -> None:
        """Store a rating; later ratings of the same interaction are kept too."""
        with self._db.transaction() as conn:
            conn.execute(
                "INSERT INTO ratings (interaction_id, user_id, score, thumbs, comment, correction,"
                " source, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    rating.interaction_id,
                    rating.user_id,
                    rating.score,
                    None if rating.thumbs is None else int(rating.thumbs),
                    seal_optional(self._sealer, rating.user_id, rating.comment),
                    seal_optional(self._sealer, rating.user_id, rating.correction),
                    rating.source,
                    rating.created_at.isoformat(),
                ),
            )

    def ratings(self, user_id: str) -> list[Rating]:
        """Every rating the user gave, oldest first."""
        rows = self._db.query("SELECT * FROM ratings WHERE user_id = ? ORDER BY seq", (user_id,))
        return [rating_from_row(r, self._sealer) for r in rows]

    def set_training_opt_out(self, user_id: str, opted_out: bool, *, at: datetime) -> None:
        """Keep the user's interactions out of training data (or let them in again)."""
        with self._db.transaction() as conn:
            if opted_out:
                conn.execute(
                    "INSERT OR IGNORE INTO training_opt_outs (user_id, created_at) VALUES (?, ?)",
                    (user_id, at.isoformat()),
                )
            else:
                conn.execute("DELETE FROM training_opt_outs WHERE user_id = ?", (user_id,))

    def training_opt_out(self, user_id: str) -> bool:
        """Whether the user keeps their interactions out of training data."""
        query = "SELECT 1 FROM training_opt_outs WHERE user_id = ?"
        return bool(self._db.query(query, (user_id,)))

    def interaction_rows(self, user_id: str) -> list[dict[str, Any]]:
        """Every interaction of the user as JSON-ready rows, oldest first."""
        return [
            {
                "id": r["id"],
                "created_at": r["created_at"],
                "request_ids": json.loads(r["request_ids"]),
                "reply_id": r["reply_id"],
                "context": json.loads(self._sealer.unseal(user_id, r["context"])),
                "prompt": json.loads(self._sealer.unseal(user_id, r["prompt"])),
                "model": r["model"],
            }
            for r in self._db.query(
                "SELECT * FROM interactions WHERE user_id = ? ORDER BY created_at", (user_id,)
            )
        ]

    def rating_rows(self, user_id: str) -> list[dict[str, Any]]:
        """Every rating the user gave as JSON-ready rows, times as stored, oldest first."""
        ratings = [
            dict(r)
            for r in self._db.query(
                "SELECT interaction_id, score, thumbs, comment, correction, source, created_at"
                " FROM ratings"
                " WHERE user_id = ? ORDER BY seq",
                (user_id,),
            )
        ]
        for rating in ratings:
            rating["thumbs"] = None if rating["thumbs"] is None else bool(rating["thumbs"])
            for column in SEALED_COLUMNS["ratings"]:
                rating[column] = unseal_optional(self._sealer, user_id, rating[column])
        return ratings

    def delete_user(self, user_id: str) -> None:
        """Remove every message, interaction, rating and training preference of the user.

        The user's data key is erased by the assistant's ``forget`` after every store.
        """
        with self._db.transaction() as conn:
            conn.execute("DELETE FROM training_opt_outs WHERE user_id = ?", (user_id,))
            conn.execute("DELETE FROM unlearned WHERE user_id = ?", (user_id,))
            conn.execute("DELETE FROM ratings WHERE user_id = ?", (user_id,))
            conn.execute("DELETE FROM interactions WHERE user_id = ?", (user_id,))
            conn.execute("DELETE FROM messages WHERE user_id = ?", (user_id,))
