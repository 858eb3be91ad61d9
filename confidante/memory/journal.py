"""The journal: every message, interaction and rating, in SQLite, with ids and timestamps."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from confidante.database import Database
from confidante.errors import UnknownInteractionError
from confidante.records import Message, Rating, Recollection

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
CREATE TABLE IF NOT EXISTS ratings (
    seq INTEGER PRIMARY KEY,
    interaction_id TEXT NOT NULL REFERENCES interactions (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL,
    score INTEGER NOT NULL,
    comment TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS ratings_by_user ON ratings (user_id);
"""


def _message_from_row(row: Any) -> Message:
    return Message(
        role=row["role"],
        content=row["content"],
        name=row["name"],
        id=row["id"],
        created_at=datetime.fromisoformat(row["created_at"]),
    )


class Journal:
    """Messages, interactions and ratings of every user, append-mostly."""

    def __init__(self, db: Database) -> None:
        self._db = db
        db.script(SCHEMA)

    def add_messages(self, user_id: str, messages: Iterable[Message]) -> list[Message]:
        """Store messages that are not stored yet (by id); return the ones newly stored."""
        added: list[Message] = []
        with self._db.transaction() as conn:
            for m in messages:
                assert m.id is not None and m.created_at is not None, "stamp messages first"
                cursor = conn.execute(
                    "INSERT OR IGNORE INTO messages (user_id, id, role, name, content, created_at)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    (user_id, m.id, m.role, m.name, m.content, m.created_at.isoformat()),
                )
                if cursor.rowcount:
                    added.append(m)
        return added

    def recent_messages(self, user_id: str, limit: int) -> list[Message]:
        """The user's last ``limit`` messages, oldest first."""
        rows = self._db.query(
            "SELECT * FROM messages WHERE user_id = ? ORDER BY created_at DESC, seq DESC LIMIT ?",
            (user_id, limit),
        )
        return [_message_from_row(r) for r in reversed(rows)]

    def all_messages(self, user_id: str) -> list[Message]:
        """Every message of the user, oldest first."""
        rows = self._db.query(
            "SELECT * FROM messages WHERE user_id = ? ORDER BY created_at, seq", (user_id,)
        )
        return [_message_from_row(r) for r in rows]

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
        prompt: list[dict[str, str]],
        model: str,
    ) -> None:
        """Store one turn: the reply message and what went into generating it, atomically."""
        assert reply.id is not None and reply.created_at is not None
        with self._db.transaction() as conn:
            conn.execute(
                "INSERT INTO messages (user_id, id, role, name, content, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (
                    user_id,
                    reply.id,
                    reply.role,
                    reply.name,
                    reply.content,
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
                    json.dumps([r.model_dump(mode="json") for r in context]),
                    json.dumps(prompt),
                    model,
                ),
            )

    def interaction_user(self, interaction_id: str) -> str:
        """The user an interaction belongs to; ``UnknownInteractionError`` if there is none."""
        rows = self._db.query("SELECT user_id FROM interactions WHERE id = ?", (interaction_id,))
        if not rows:
            raise UnknownInteractionError(
                f"No interaction with id {interaction_id!r}; use the interaction_id of a Reply."
            )
        return rows[0]["user_id"]

    def add_rating(self, rating: Rating) -> None:
        """Store a rating; later ratings of the same interaction are kept too."""
        with self._db.transaction() as conn:
            conn.execute(
                "INSERT INTO ratings (interaction_id, user_id, score, comment, created_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (
                    rating.interaction_id,
                    rating.user_id,
                    rating.score,
                    rating.comment,
                    rating.created_at.isoformat(),
                ),
            )

    def export(self, user_id: str) -> dict[str, Any]:
        """Every message, interaction and rating of the user as JSON-ready data."""
        interactions = [
            {
                "id": r["id"],
                "created_at": r["created_at"],
                "request_ids": json.loads(r["request_ids"]),
                "reply_id": r["reply_id"],
                "context": json.loads(r["context"]),
                "prompt": json.loads(r["prompt"]),
                "model": r["model"],
            }
            for r in self._db.query(
                "SELECT * FROM interactions WHERE user_id = ? ORDER BY created_at", (user_id,)
            )
        ]
        ratings = [
            dict(r)
            for r in self._db.query(
                "SELECT interaction_id, score, comment, created_at FROM ratings"
                " WHERE user_id = ? ORDER BY seq",
                (user_id,),
            )
        ]
        messages = [m.model_dump(mode="json") for m in self.all_messages(user_id)]
        return {"messages": messages, "interactions": interactions, "ratings": ratings}

    def delete_user(self, user_id: str) -> None:
        """Remove every message, interaction and rating of the user."""
        with self._db.transaction() as conn:
            conn.execute("DELETE FROM ratings WHERE user_id = ?", (user_id,))
            conn.execute("DELETE FROM interactions WHERE user_id = ?", (user_id,))
            conn.execute("DELETE FROM messages WHERE user_id = ?", (user_id,))
