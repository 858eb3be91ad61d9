"""Graph expansion: a relation in the query ("my sister") leads to a person, their facts, and
the messages those facts came from, which share no word with the query."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from confidante import Assistant
from confidante.graph.expansion import related_sources
from confidante.graph.schema import relation_named

START = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
SAID = [
    ("m1", "My sister Ana lives in Porto."),
    ("m2", "I had pasta for dinner and watched a film about sailing."),
    ("m3", "Ana works at the city library."),
    ("m4", "My husband Tom is a great cook."),
    ("m5", "Work was busy today, three meetings in a row."),
    ("m6", "Tom is allergic to cats."),
    ("m7", "I finally fixed the leaking kitchen tap."),
    ("m8", "The weather was lovely, so I went for a long walk by the river."),
    ("m9", "I started reading a novel about a lighthouse keeper."),
    ("m10", "We ordered new curtains for the living room."),
]
# Everyday messages around them, so that a question is not answered by elimination.
CHORES = [
    "cleaned the garage",
    "baked bread",
    "repaired the bike",
    "painted the fence",
    "planted tomatoes",
    "sorted old photos",
    "washed the car",
    "tidied the attic",
]
WHEN = ["this morning", "after lunch", "in the evening", "before work", "at the weekend"]
SAID += [(f"d{n}", f"I {CHORES[n % len(CHORES)]} {WHEN[n % len(WHEN)]}.") for n in range(40)]


def observe_days_apart(assistant: Assistant, user: str) -> None:
    assistant.observe(
        user,
        [
            {"role": "user", "content": text, "id": mid, "created_at": START + timedelta(days=n)}
            for n, (mid, text) in enumerate(SAID)
        ],
    )


def test_relation_words_name_their_predicate_and_role():
    assert relation_named("sister") == ("family", "sister")
    assert relation_named("Kids") == ("family", "child")
    assert relation_named("husband") == ("partner", "husband")
    assert relation_named("friends") == ("friend", None)
    assert relation_named("library") is None


def test_my_sister_leads_to_what_ana_said_and_did(assistant: Assistant):
    observe_days_apart(assistant, "maria")
    inner = assistant.inner  # the AsyncAssistant: its graph
    related = related_sources(inner.graph, "maria", "Tell me about my sister.", limit=10)
    assert set(related) == {"m1", "m3"}  # the sister fact's message, then Ana's job's
    # Recall: the library message shares no word with the question, and comes from the graph.
    found = {
        s for r in assistant.recall("maria", "Tell me about my sister.", k=3) for s in r.source_ids
    }
    assert "m3" in found
    without_graph = inner.memory.recall("maria", "Tell me about my sister.", 3)
    assert "m3" not in {s for r in without_graph for s in r.source_ids}


def test_a_partner_is_reached_whatever_the_word(assistant: Assistant):
    observe_days_apart(assistant, "maria")
    inner = assistant.inner
    related = related_sources(
        inner.graph, "maria", "Anything I should know about my partner?", limit=10
    )
    assert set(related) == {"m4", "m6"}  # said "husband", asked "partner"
    assert related_sources(inner.graph, "maria", "What should I cook tonight?", limit=10) == []


def test_a_relation_of_someone_named(assistant: Assistant):
    assistant.observe(
        "group",
        [
            {
                "role": "user",
                "name": "Joanna",
                "content": "My brother Nate lives in Denver.",
                "id": "g1",
                "created_at": START,
            },
            {
                "role": "user",
                "name": "Joanna",
                "content": "Nate works at a bike shop.",
                "id": "g2",
                "created_at": START + timedelta(days=2),
            },
            {
                "role": "user",
                "name": "Kim",
                "content": "My brother Sam works at a bank.",
                "id": "g3",
                "created_at": START + timedelta(days=3),
            },
        ],
    )
    inner = assistant.inner
    assert set(related_sources(inner.graph, "group", "What does Joanna's brother do?", 10)) == {
        "g1",
        "g2",
    }
    assert set(related_sources(inner.graph, "group", "What does Kim's brother do?", 10)) == {"g3"}
