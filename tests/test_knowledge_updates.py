"""Knowledge updates over time: one current value, the old one kept as history, newest first.

Templated conversations (moves, job changes, a new partner, a changed diet), each said with
timestamps months apart, through the real turn path: rule extraction, the graph, hybrid recall.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from confidante import Assistant

UPDATES = [
    # predicate, old statement, new statement, old value, new value, question
    (
        "lives_in",
        "I live in Paris.",
        "I moved to Berlin last month.",
        "Paris",
        "Berlin",
        "Where do I live?",
    ),
    (
        "works_at",
        "I work at Acme Corp.",
        "I got a new job at Globex.",
        "Acme Corp",
        "Globex",
        "Where do I work?",
    ),
    (
        "partner",
        "My girlfriend is Sara.",
        "My husband is Tom.",
        "Sara",
        "Tom",
        "Who is my partner?",
    ),
    ("diet", "I'm vegetarian.", "I'm vegan now.", "vegetarian", "vegan", "What is my diet?"),
]
FILLER = [
    "The weather was lovely today.",
    "I watched a documentary about whales.",
    "My phone battery keeps dying.",
]


def said(text: str, ident: str, month: int, year: int = 2023) -> dict[str, object]:
    when = datetime(year, month, 1, 9, 0, tzinfo=UTC)
    return {"role": "user", "content": text, "id": ident, "created_at": when}


@pytest.mark.parametrize(("predicate", "old", "new", "old_value", "new_value", "question"), UPDATES)
def test_update_keeps_one_current_value_and_history(
    assistant: Assistant, predicate, old, new, old_value, new_value, question
):
    assistant.observe("u", [said(old, "old", 1)])
    assistant.observe("u", [said(t, f"f{i}", 2 + i) for i, t in enumerate(FILLER)])
    assistant.observe("u", [said(new, "new", 9)])

    current = [f for f in assistant.profile("u").facts if f.predicate == predicate]
    assert [f.object for f in current] == [new_value]
    assert current[0].source_ids == ["new"]

    history = [f for f in assistant.export("u")["facts"] if f["predicate"] == predicate]
    previous = next(f for f in history if f["object"] == old_value)
    assert previous["valid_to"].startswith("2023-09-01")  # closed when the new value came
    assert previous["source_ids"] == ["old"]

    found = assistant.recall("u", question, k=3)
    order = [s for r in found for s in r.source_ids]
    assert "new" in order and "old" in order
    assert order.index("new") < order.index("old")  # the newest statement ranks first


def test_history_question_finds_the_old_value(assistant: Assistant):
    assistant.observe(
        "u", [said("I live in Paris.", "old", 1), said("I moved to Berlin.", "new", 9)]
    )
    found = assistant.recall("u", "Where did I live before I moved to Berlin?", k=2)
    assert {s for r in found for s in r.source_ids} == {"old", "new"}


def test_queries_naming_a_time_prefer_what_was_said_then(assistant: Assistant):
    assistant.observe(
        "u",
        [
            said("I went hiking in the mountains.", "march", 3),
            said("I went hiking by the sea.", "july", 7),
        ],
    )
    first = assistant.recall("u", "Where did I go hiking in July 2023?", k=2)[0]
    assert first.source_ids == ["july"]
    first = assistant.recall("u", "Where did I go hiking in March 2023?", k=2)[0]
    assert first.source_ids == ["march"]


def test_a_value_replaced_within_one_batch_is_kept_as_history(assistant: Assistant):
    assistant.observe(
        "u", [said("I live in Paris.", "old", 1), said("I moved to Berlin.", "new", 9)]
    )
    facts = {r.text for r in assistant.memories("u") if r.kind == "fact"}
    assert "The user lives in Paris (until 2023-09-01)" in facts
    assert "The user lives in Berlin" in facts
