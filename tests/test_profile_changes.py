"""Changes of state in ordinary speech, through the real turn path (rules, the graph, SQLite).

Each family of change is told as people tell it: first the old state, weeks later the new
one. After both, the new value is in the profile, the old one is closed (kept as history,
with ``valid_to``), and nothing else changed. The sentences are the tests' own.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from confidante import Assistant

START = datetime(2025, 3, 1, 9, tzinfo=UTC)


def tell(assistant: Assistant, user: str, *texts: str, speaker: str | None = None) -> None:
    for i, text in enumerate(texts):
        message: dict[str, Any] = {
            "role": "user",
            "content": text,
            "id": f"{user}-{i}",
            "created_at": START + timedelta(days=30 * i),
        }
        if speaker:
            message["name"] = speaker
        assistant.observe(user, [message])


def current(assistant: Assistant, user: str) -> set[tuple[str, str, str]]:
    return {(f.subject, f.predicate, f.object) for f in assistant.profile(user).facts}


def closed(assistant: Assistant, user: str) -> set[tuple[str, str, str]]:
    return {
        (f["subject"], f["predicate"], f["object"])
        for f in assistant.export(user)["facts"]
        if f["valid_to"] is not None
    }


U = "user"

# family, what was said (oldest first), facts current after, facts closed after
CHANGES: list[tuple[str, list[str], set[tuple[str, str, str]], set[tuple[str, str, str]]]] = [
    (
        "quitting",
        ["I work as a welder at Norsteel.", "I quit Norsteel on Friday, no more night shifts."],
        set(),
        {(U, "works_at", "Norsteel"), (U, "job", "welder")},
    ),
    (
        "leaving for another employer",
        ["I work at Halvorsen Bank.", "I left Halvorsen Bank for Crestline in April."],
        {(U, "works_at", "Crestline")},
        {(U, "works_at", "Halvorsen Bank")},
    ),
    (
        "a promotion",
        ["I'm a junior analyst at Pendle.", "they made me senior analyst this week!"],
        {(U, "job", "senior analyst"), (U, "works_at", "Pendle")},
        {(U, "job", "junior analyst")},
    ),
    (
        "retiring",
        ["I'm a postman in Dundee.", "Retired last month, after forty years of rounds."],
        {(U, "lives_in", "Dundee")},
        {(U, "job", "postman")},
    ),
    (
        "breaking up, then someone new",
        [
            "my boyfriend Ilya and I are off to Crete soon",
            "Ilya and I broke up. I'm seeing Tomas now.",
        ],
        {(U, "partner", "Tomas")},
        {(U, "partner", "Ilya")},
    ),
    (
        "divorcing",
        ["My wife Greta runs a bakery.", "The divorce from Greta came through in May."],
        set(),
        {(U, "partner", "Greta")},
    ),
    (
        "getting married",
        ["I'm single, happily.", "Marco and I got married in the spring!"],
        {(U, "partner", "Marco")},
        set(),
    ),
    (
        "moving, said as 'we'",
        ["I live in Tartu.", "ok we finally moved to Riga, the flat is tiny"],
        {(U, "lives_in", "Riga")},
        {(U, "lives_in", "Tartu")},
    ),
    (
        "not living there any more",
        ["I live in Cork.", "I don't live in Cork anymore, I'm in Galway."],
        {(U, "lives_in", "Galway")},
        {(U, "lives_in", "Cork")},
    ),
    (
        "switching employer",
        ["I work for Ashdown Logistics.", "Also switched to Brightwater last week."],
        {(U, "works_at", "Brightwater")},
        {(U, "works_at", "Ashdown Logistics")},
    ),
    (
        "graduating",
        ["I'm studying geology at Keele.", "graduated today!! done with exams forever"],
        set(),
        {(U, "studies", "geology"), (U, "studies", "Keele")},
    ),
    (
        "no longer playing",
        ["I play the cello.", "I don't really play the cello anymore, picked up the banjo instead"],
        {(U, "plays", "banjo")},
        {(U, "plays", "cello")},
    ),
    (
        "a pet passing",
        ["my dog Pepper is nine now", "RIP Pepper, we lost her on Sunday."],
        set(),
        {(U, "pet", "a dog named Pepper")},
    ),
    (
        "selling",
        ["I drive a 2009 Volvo.", "Sold the Volvo, I cycle everywhere now."],
        set(),
        {(U, "owns", "a 2009 Volvo")},
    ),
    (
        "outgrowing an allergy",
        ["I'm allergic to soy.", "the doctor says I've outgrown the soy allergy!"],
        set(),
        {(U, "allergic_to", "soy")},
    ),
    (
        "a taste turned around",
        ["I hate olives.", "ok I take it back, olives are amazing"],
        {(U, "likes", "olives")},
        {(U, "dislikes", "olives")},
    ),
    (
        "a name from now on",
        ["Everyone calls me Kit.", "I'm going by Katherine from now on at work."],
        {(U, "name", "Katherine")},
        {(U, "name", "Kit")},
    ),
    (
        "someone else's change",
        ["my brother Emil lives in Oslo", "Emil moved to Bergen for a new job"],
        {(U, "family", "Emil"), ("Emil", "lives_in", "Bergen")},
        {("Emil", "lives_in", "Oslo")},
    ),
]


@pytest.mark.parametrize(("family", "said", "now", "before"), CHANGES, ids=[c[0] for c in CHANGES])
def test_a_change_closes_the_old_value_and_opens_the_new_one(
    assistant: Assistant, family: str, said: list[str], now: set[Any], before: set[Any]
) -> None:
    tell(assistant, "u", *said)
    assert now <= current(assistant, "u")
    assert before <= closed(assistant, "u")
    assert not before & current(assistant, "u")


def test_a_change_names_the_speaker_in_a_group_chat(assistant: Assistant) -> None:
    tell(
        assistant, "g", "I'm a nurse at Ridgeview.", "Left Ridgeview for Lakemont!", speaker="Priya"
    )
    assert ("Priya", "works_at", "Lakemont") in current(assistant, "g")
    assert ("Priya", "works_at", "Ridgeview") in closed(assistant, "g")


def test_a_value_nobody_holds_closes_nothing(assistant: Assistant) -> None:
    tell(assistant, "u", "I work at Fenwick.", "my time at Dunmore ends on Friday")
    assert (U, "works_at", "Fenwick") in current(assistant, "u")


BAD_INPUT = [
    "I like " + ", ".join(f"thing{i}" for i in range(50)) + " and more",
    "so " + "very " * 400 + "long a sentence that never ends and I live in",
    "```python\ndef f(x):\n    return x  # I live in Paris\n```\nthat's my code",
    "look https://example.com/I-live-in-Paris?q=I+work+at+Acme and www.foo.bar/x",
    "🙂🙂🙂 I'm 🎉🎉 💯💯 🔥",
    "Je travaille à Lyon et j'habite à Villeurbanne.",
    "私は東京に住んでいます。",
    "I" * 3000,
    "\u200b\u200d\ufeff",
]


@pytest.mark.parametrize("text", BAD_INPUT, ids=[f"bad-{i}" for i in range(len(BAD_INPUT))])
def test_bad_input_is_stored_and_recallable_and_makes_no_junk(
    assistant: Assistant, text: str
) -> None:
    assistant.observe("u", [{"role": "user", "content": text, "id": "m1"}])
    stored = [m["content"] for m in assistant.export("u")["messages"]]
    assert stored == [text]
    assert any("m1" in r.source_ids for r in assistant.recall("u", text[:200], k=5))
    for fact in assistant.export("u")["facts"]:
        assert len(fact["object"].split()) <= 8
        assert not any(mark in fact["object"] for mark in ("http", "www.", "`", "def ", "#"))
        assert "Paris" not in fact["object"] and "Acme" not in fact["object"]
