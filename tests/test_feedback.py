"""Feedback records: score and/or thumbs, comment, correction, source; old data dirs migrate."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import httpx
import pytest
import test_serving_helpers as helpers
from test_serving_helpers import Live

from confidante import Assistant, Client, Feedback, InvalidRatingError, Settings
from confidante.database import Database
from confidante.memory.journal import Journal
from confidante.records import ChatMessages

keyed = helpers.keyed  # a module-scoped fixture


def say(text: str) -> ChatMessages:
    return [{"role": "user", "content": text}]


def test_feedback_round_trips_through_the_journal(assistant: Assistant):
    reply = assistant.chat("maria", say("Suggest a dinner place"))
    rating = assistant.rate(
        Feedback(
            interaction_id=reply.interaction_id,
            thumbs=False,
            correction="Try Cervejaria Ramiro.",
            source="cli",
        )
    )
    assert rating.score is None and rating.thumbs is False and rating.source == "cli"
    both = assistant.rate(
        Feedback(interaction_id=reply.interaction_id, score=4, comment="better", thumbs=True)
    )
    assert both.source == "sdk"
    stored = assistant.inner.journal.ratings("maria")
    assert stored == [rating, both]
    exported = assistant.export("maria")["ratings"]
    assert exported[0]["thumbs"] is False and exported[0]["correction"] == "Try Cervejaria Ramiro."
    assert exported[1]["score"] == 4 and exported[1]["thumbs"] is True


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({}, "score from 1 to 5, thumbs"),
        ({"thumbs": "up"}, "thumbs must be"),
        ({"thumbs": True, "source": "email"}, "source must be one of"),
        ({"thumbs": True, "correction": "  "}, "correction is empty"),
        ({"thumbs": True, "correction": 3}, "correction must be a string"),
        ({"score": 9, "thumbs": True}, "from 1 to 5"),
        ({"thumbs": True, "stars": 4}, "stars: Extra inputs are not permitted"),
        ({"thumbs": True, "user_id": 7}, "user_id: Input should be a valid string"),
    ],
)
def test_bad_feedback_is_a_typed_error(assistant: Assistant, fields, message):
    reply = assistant.chat("maria", say("Hello"))
    with pytest.raises(InvalidRatingError, match=message):
        assistant.rate(Feedback(interaction_id=reply.interaction_id, **fields))
    assert assistant.inner.journal.ratings("maria") == []


def test_feedback_over_the_length_limit_is_a_typed_error(assistant: Assistant, settings: Settings):
    reply = assistant.chat("maria", say("Hello"))
    long = "x" * (settings.max_message_chars + 1)
    for feedback in (
        Feedback(interaction_id=reply.interaction_id, thumbs=True, comment=long),
        Feedback(interaction_id=reply.interaction_id, thumbs=True, correction=long),
    ):
        with pytest.raises(InvalidRatingError, match="longer than CONFIDANTE_MAX_MESSAGE_CHARS"):
            assistant.rate(feedback)
    with pytest.raises(InvalidRatingError, match="rate takes a confidante.Feedback"):
        assistant.rate(reply.interaction_id)  # type: ignore[arg-type]
    assert assistant.inner.journal.ratings("maria") == []


def test_feedback_over_http_and_the_client(keyed: Live):
    maria = keyed.headers("maria")
    with httpx.Client(base_url=f"{keyed.url}/v1") as http:
        chat = {"messages": say("hello there"), "model": "scripted"}
        done = http.post("/chat/completions", json=chat, headers=maria).json()
        interaction = done["confidante"]["interaction_id"]
        body = {"interaction_id": interaction, "thumbs": False, "correction": "Hi Maria!"}
        rating = http.post("/feedback", json=body, headers=maria).json()
        assert rating["thumbs"] is False and rating["correction"] == "Hi Maria!"
        assert rating["source"] == "http" and rating["score"] is None
        empty = http.post("/feedback", json={"interaction_id": interaction}, headers=maria)
        assert empty.status_code == 400
    with Client(keyed.url, api_key=keyed.keys["maria"]) as client:
        rated = client.rate(
            Feedback(interaction_id=interaction, score=5, thumbs=True, correction="Hello, Maria.")
        )
        assert (rated.score, rated.thumbs, rated.source) == (5, True, "http")
        with pytest.raises(InvalidRatingError):
            client.rate(Feedback(interaction_id=interaction))


def test_an_old_ratings_table_is_migrated_keeping_its_rows(tmp_path: Path):
    path = tmp_path / "confidante.db"
    with sqlite3.connect(path) as conn:
        conn.executescript(
            """
            CREATE TABLE interactions (id TEXT PRIMARY KEY, user_id TEXT NOT NULL,
                created_at TEXT NOT NULL, request_ids TEXT NOT NULL, reply_id TEXT NOT NULL,
                context TEXT NOT NULL, prompt TEXT NOT NULL, model TEXT NOT NULL);
            CREATE TABLE ratings (seq INTEGER PRIMARY KEY, interaction_id TEXT NOT NULL
                REFERENCES interactions (id) ON DELETE CASCADE, user_id TEXT NOT NULL,
                score INTEGER NOT NULL, comment TEXT, created_at TEXT NOT NULL);
            INSERT INTO interactions VALUES ('int_1', 'ann', '2024-01-01T00:00:00+00:00',
                '[]', 'msg_1', '[]', '[]', 'm');
            INSERT INTO ratings VALUES (1, 'int_1', 'ann', 4, 'ok', '2024-01-01T00:00:00+00:00');
            """
        )
    conn.close()
    for _ in range(2):  # migrating twice changes nothing
        database = Database(path)
        journal = Journal(database)
        [old] = journal.ratings("ann")
        assert (old.score, old.comment, old.thumbs, old.source) == (4, "ok", None, "sdk")
        database.close()


def test_training_opt_out_is_stored(settings: Settings, assistant: Assistant):
    assistant.observe("sam", say("Hi"))
    assistant.set_training_opt_out("sam", True)
    assert assistant.export("sam")["training_opt_out"] is True
    assistant.set_training_opt_out("sam", False)
    assert assistant.export("sam")["training_opt_out"] is False
