"""Memory documents: messages and facts as recallable text, the durable side of the memory."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from confidante.database import Database, Sealer, seal_optional, unseal_optional
from confidante.records import RecollectionKind

SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
    seq INTEGER PRIMARY KEY,
    user_id TEXT NOT NULL,
    doc_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    text TEXT NOT NULL,
    speaker TEXT,
    source_ids TEXT NOT NULL,
    created_at TEXT,
    replaced_by TEXT,
    UNIQUE (user_id, doc_id)
);
-- Documents whose vectors are not in the vector index yet (written behind, in batches).
CREATE TABLE IF NOT EXISTS unwritten_vectors (
    user_id TEXT NOT NULL,
    doc_id TEXT NOT NULL,
    PRIMARY KEY (user_id, doc_id)
) WITHOUT ROWID;
"""


@dataclass(frozen=True, kw_only=True)
class Document:
    """A piece of recallable text and the messages it came from."""

    doc_id: str
    kind: RecollectionKind
    text: str
    source_ids: list[str]
    created_at: datetime | None = None
    speaker: str | None = None
    replaced_by: str | None = None  # for a fact: the message whose newer statement retired it


# The columns that hold a user's words, sealed when the data dir is encrypted.
SEALED_COLUMNS = {"documents": ("text", "speaker")}


def _document_from_row(row: Any, sealer: Sealer) -> Document:
    user_id = row["user_id"]
    return Document(
        doc_id=row["doc_id"],
        kind=row["kind"],
        text=sealer.unseal(user_id, row["text"]),
        source_ids=json.loads(row["source_ids"]),
        created_at=datetime.fromisoformat(row["created_at"]) if row["created_at"] else None,
        speaker=unseal_optional(sealer, user_id, row["speaker"]),
        replaced_by=row["replaced_by"],
    )


class DocumentStore:
    """Documents per user in SQLite, in the order they were indexed."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._sealer = db.sealer
        db.script(SCHEMA)

    def add(
        self, user_id: str, documents: Iterable[Document], *, vectors_unwritten: bool = False
    ) -> list[Document]:
        """Store documents whose ids are new for this user; return those stored.

        With ``vectors_unwritten``, the stored ones are also marked as waiting for their vectors
        to be written (see ``unwritten`` and ``vectors_written``), in the same transaction.
        """
        added: list[Document] = []
        with self._db.transaction() as conn:
            for d in documents:
                cursor = conn.execute(
                    "INSERT OR IGNORE INTO documents"
                    " (user_id, doc_id, kind, text, speaker, source_ids, created_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (
                        user_id,
                        d.doc_id,
                        d.kind,
                        self._sealer.seal(user_id, d.text),
                        seal_optional(self._sealer, user_id, d.speaker),
                        json.dumps(d.source_ids),
                        d.created_at.isoformat() if d.created_at else None,
                    ),
                )
                if cursor.rowcount:
                    added.append(d)
            if vectors_unwritten:
                conn.executemany(
                    "INSERT OR IGNORE INTO unwritten_vectors (user_id, doc_id) VALUES (?, ?)",
                    [(user_id, d.doc_id) for d in added],
                )
        return added

    def vectors_written(self, user_id: str, doc_ids: Sequence[str]) -> None:
        """Clear the marks of documents whose vectors are now in the vector index."""
        with self._db.transaction() as conn:
            conn.executemany(
                "DELETE FROM unwritten_vectors WHERE user_id = ? AND doc_id = ?",
                [(user_id, d) for d in doc_ids],
            )

    def unwritten(self) -> dict[str, list[Document]]:
        """Per user, the marked documents whose vectors were never written (e.g. a crash)."""
        rows = self._db.query(
            "SELECT d.* FROM documents d JOIN unwritten_vectors u"
            " ON u.user_id = d.user_id AND u.doc_id = d.doc_id ORDER BY d.seq"
        )
        found: dict[str, list[Document]] = {}
        for row in rows:
            found.setdefault(row["user_id"], []).append(_document_from_row(row, self._sealer))
        return found

    def get(self, user_id: str, doc_ids: Sequence[str]) -> dict[str, Document]:
        """Documents by id; ids that are not stored are left out."""
        if not doc_ids:
            return {}
        marks = ",".join("?" * len(doc_ids))
        rows = self._db.query(
            f"SELECT * FROM documents WHERE user_id = ? AND doc_id IN ({marks})",
            (user_id, *doc_ids),
        )
        return {r["doc_id"]: _document_from_row(r, self._sealer) for r in rows}

    def retire(self, user_id: str, replaced_by: Mapping[str, str]) -> None:
        """Mark documents (keys) as replaced by newer statements in messages (values)."""
        with self._db.transaction() as conn:
            conn.executemany(
                "UPDATE documents SET replaced_by = ? WHERE user_id = ? AND doc_id = ?",
                [(message_id, user_id, d) for d, message_id in replaced_by.items()],
            )

    def all(self, user_id: str) -> list[Document]:
        """Every document of the user, in the order indexed."""
        rows = self._db.query("SELECT * FROM documents WHERE user_id = ? ORDER BY seq", (user_id,))
        return [_document_from_row(r, self._sealer) for r in rows]

    def page(self, user_id: str, *, after: str | None, limit: int) -> list[Document] | None:
        """Up to ``limit`` documents indexed after ``after`` (from the first when None), in order.

        ``None`` when ``after`` names no document of the user's.
        """
        start = 0
        if after is not None:
            rows = self._db.query(
                "SELECT seq FROM documents WHERE user_id = ? AND doc_id = ?", (user_id, after)
            )
            if not rows:
                return None
            start = rows[0]["seq"]
        rows = self._db.query(
            "SELECT * FROM documents WHERE user_id = ? AND seq > ? ORDER BY seq LIMIT ?",
            (user_id, start, limit),
        )
        return [_document_from_row(r, self._sealer) for r in rows]

    def export(self, user_id: str) -> list[dict[str, Any]]:
        """Every document of the user as JSON-ready data."""
        return [
            {**vars(d), "created_at": d.created_at.isoformat() if d.created_at else None}
            for d in self.all(user_id)
        ]

    def delete(self, user_id: str, doc_ids: Sequence[str] | None = None) -> int:
        """Remove documents (all of the user's when ``doc_ids`` is None) and their index entries.

        Returns how many were removed.
        """
        where, params = "user_id = ?", [user_id]
        if doc_ids is not None:
            where += f" AND doc_id IN ({','.join('?' * len(doc_ids))})"
            params += list(doc_ids)
        with self._db.transaction() as conn:
            conn.execute(f"DELETE FROM unwritten_vectors WHERE {where}", params)
            return conn.execute(f"DELETE FROM documents WHERE {where}", params).rowcount
