"""The ratings training reads: each with the exact prompt the model saw and the reply it gave.

A query over the journal's tables (ratings, interactions, messages, training opt-outs), read
through the same ``Database``; the journal writes them, training only reads them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from confidante.database import Database
from confidante.memory.journal import rating_from_row
from confidante.records import ChatMessages, Rating


@dataclass(frozen=True, kw_only=True)
class RatedTurn:
    """One rating with what it rates: the exact prompt the model saw and the reply it gave."""

    seq: int
    rating: Rating
    prompt: ChatMessages
    reply: str


def last_rating_seq(db: Database) -> int:
    """The sequence number of the newest rating of anyone (0 if none)."""
    return db.query("SELECT COALESCE(MAX(seq), 0) AS seq FROM ratings")[0]["seq"]


def rated_turns(db: Database, after_seq: int, through_seq: int) -> list[RatedTurn]:
    """Ratings with ``after_seq < seq <= through_seq``, oldest first, of users not opted out."""
    rows = db.query(
        "SELECT r.*, i.prompt, m.content AS reply FROM ratings r"
        " JOIN interactions i ON i.id = r.interaction_id"
        " JOIN messages m ON m.user_id = i.user_id AND m.id = i.reply_id"
        " WHERE r.seq > ? AND r.seq <= ?"
        " AND r.user_id NOT IN (SELECT user_id FROM training_opt_outs)"
        " ORDER BY r.seq",
        (after_seq, through_seq),
    )
    sealer = db.sealer
    return [
        RatedTurn(
            seq=r["seq"],
            rating=rating_from_row(r, sealer),
            prompt=json.loads(sealer.unseal(r["user_id"], r["prompt"])),
            reply=sealer.unseal(r["user_id"], r["reply"]),
        )
        for r in rows
    ]
