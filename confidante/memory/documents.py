"""Memory documents (messages and facts as recallable text) and their keyword index (FTS5)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from confidante.database import Database
from confidante.records import RecollectionKind

SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
    seq INTEGER PRIMARY KEY,
    user_id TEXT NOT NULL,
    doc_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    text TEXT NOT NULL,
    source_ids TEXT NOT NULL,
    created_at TEXT,
    UNIQUE (user_id, doc_id)
);
CREATE VIRTUAL TABLE IF NOT EXISTS documents_fts USING fts5(
    text, content='documents', content_rowid='seq', tokenize='porter unicode61'
);
"""

# Words too common to say anything about what a query is after.
STOPWORDS = frozenset(
    """a about above after again against all am an and any are as at be because been before
    being below between both but by can could did do does doing down during each few for from
    further had has have having he her here hers herself him himself his how i if in into is it
    its itself just me more most my myself no nor not now of off on once only or other our ours
    out over own same she should so some such than that the their theirs them then there these
    they this those through to too under until up very was we were what when where which while
    who whom why will with would you your yours yourself""".split()
)
_WORD = re.compile(r"[^\W_]+", re.UNICODE)


def keywords(text: str) -> list[str]:
    """Lower-case content words of ``text``, in order, stopwords removed."""
    return [w for w in _WORD.findall(text.lower()) if w not in STOPWORDS]


@dataclass(frozen=True, kw_only=True)
class Document:
    """A piece of recallable text and the messages it came from."""

    doc_id: str
    kind: RecollectionKind
    text: str
    source_ids: list[str]
    created_at: datetime | None = None


def _document_from_row(row: Any) -> Document:
    return Document(
        doc_id=row["doc_id"],
        kind=row["kind"],
        text=row["text"],
        source_ids=json.loads(row["source_ids"]),
        created_at=datetime.fromisoformat(row["created_at"]) if row["created_at"] else None,
    )


class DocumentStore:
    """Documents per user in SQLite, searchable by keyword (BM25 over FTS5)."""

    def __init__(self, db: Database) -> None:
        self._db = db
        db.script(SCHEMA)

    def add(self, user_id: str, documents: Iterable[Document]) -> list[Document]:
        """Store documents whose ids are new for this user; return those stored."""
        added: list[Document] = []
        with self._db.transaction() as conn:
            for d in documents:
                cursor = conn.execute(
                    "INSERT OR IGNORE INTO documents"
                    " (user_id, doc_id, kind, text, source_ids, created_at)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    (
                        user_id,
                        d.doc_id,
                        d.kind,
                        d.text,
                        json.dumps(d.source_ids),
                        d.created_at.isoformat() if d.created_at else None,
                    ),
                )
                if cursor.rowcount:
                    conn.execute(
                        "INSERT INTO documents_fts (rowid, text) VALUES (?, ?)",
                        (cursor.lastrowid, d.text),
                    )
                    added.append(d)
        return added

    def get(self, user_id: str, doc_ids: Sequence[str]) -> dict[str, Document]:
        """Documents by id; ids that are not stored are left out."""
        if not doc_ids:
            return {}
        marks = ",".join("?" * len(doc_ids))
        rows = self._db.query(
            f"SELECT * FROM documents WHERE user_id = ? AND doc_id IN ({marks})",
            (user_id, *doc_ids),
        )
        return {r["doc_id"]: _document_from_row(r) for r in rows}

    def search(self, user_id: str, query: str, k: int) -> list[tuple[str, float]]:
        """Up to ``k`` (doc_id, score) pairs by BM25, best first; higher score is better."""
        terms = sorted(set(keywords(query)))
        if not terms:
            return []
        match = " OR ".join(f'"{t}"' for t in terms)
        rows = self._db.query(
            "SELECT d.doc_id, bm25(documents_fts) AS rank FROM documents_fts"
            " JOIN documents d ON d.seq = documents_fts.rowid"
            " WHERE documents_fts MATCH ? AND d.user_id = ? ORDER BY rank LIMIT ?",
            (match, user_id, k),
        )
        return [(r["doc_id"], -float(r["rank"])) for r in rows]

    def all(self, user_id: str) -> list[Document]:
        """Every document of the user, in the order indexed."""
        rows = self._db.query("SELECT * FROM documents WHERE user_id = ? ORDER BY seq", (user_id,))
        return [_document_from_row(r) for r in rows]

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
            rows = conn.execute(f"SELECT seq, text FROM documents WHERE {where}", params).fetchall()
            for row in rows:
                conn.execute(
                    "INSERT INTO documents_fts (documents_fts, rowid, text)"
                    " VALUES ('delete', ?, ?)",
                    (row["seq"], row["text"]),
                )
            conn.execute(f"DELETE FROM documents WHERE {where}", params)
            # Merging segments drops deleted terms from the index pages themselves.
            conn.execute("INSERT INTO documents_fts (documents_fts) VALUES ('optimize')")
        return len(rows)
