"""Changes that name only the new value ("switched to X", "X instead"): placed by what the
person already has, with the packaged embedder judging what is alike."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from confidante import Assistant, Settings
from confidante.graph.changes import place_changes
from confidante.graph.schema import CHANGED_TO, SELF, FactCandidate
from confidante.records import Fact, utc_now
from confidante.testing import ScriptedLLM


@pytest.fixture
def real(settings: Settings, packaged_embeddings) -> Iterator[Assistant]:
    llm = ScriptedLLM(["Noted."])
    with Assistant.open(settings=settings, llm=llm, embeddings=packaged_embeddings) as a:
        yield a


def told(assistant: Assistant, *texts: str) -> dict[tuple[str, str], bool]:
    for text in texts:
        assistant.observe("ana", [{"role": "user", "content": text}])
    return {(f.predicate, f.object): f.is_current for f in assistant.inner.graph.facts("ana")}


def test_the_new_value_replaces_the_most_alike_one(real: Assistant):
    facts = told(
        real,
        "I play badminton at the club every morning, and I live in Braga.",
        "Our club group has switched to pickleball, everyone is hooked.",
    )
    assert facts[("plays", "pickleball")] is True
    assert facts[("plays", "badminton")] is False
    assert facts[("lives_in", "Braga")] is True


def test_the_old_value_named_in_the_message_is_the_one_replaced(real: Assistant):
    facts = told(
        real,
        "I study law at Durham.",
        "switched to history!! law was making me miserable",
    )
    assert facts[("studies", "history")] is True
    assert facts[("studies", "law")] is False


def test_what_the_message_says_goes_on_is_kept(real: Assistant):
    facts = told(
        real,
        "I work at Northwind Labs as a data analyst.",
        "I've moved over to the research team. Still at Northwind, same desk even.",
    )
    assert facts[("works_at", "Northwind Labs")] is True


def test_a_rule_reading_the_value_still_closes_what_it_replaces(real: Assistant):
    facts = told(
        real, "I play football every Sunday.", "My knees gave up, so I took up golf instead."
    )
    assert facts[("plays", "golf")] is True
    assert facts[("plays", "football")] is False


def test_a_change_like_nothing_held_leaves_the_profile_alone(real: Assistant):
    before = told(real, "I live in Porto and I'm a nurse.")
    after = told(real, "Switched to decaf this week, sleeping better already.")
    assert after == before


def fact(predicate: str, obj: str) -> Fact:
    now = utc_now()
    return Fact(
        id=f"f-{obj}",
        user_id="ana",
        subject=SELF,
        predicate=predicate,
        object=obj,
        statement=obj,
        source_ids=["m1"],
        confidence=0.9,
        valid_from=now,
        created_at=now,
    )


def test_placing_without_anything_held_or_alike_drops_the_change():
    change = FactCandidate(subject=SELF, predicate=CHANGED_TO, object="Mandarin")
    never_alike = lambda value, others: [0.0 for _ in others]  # noqa: E731
    assert (
        place_changes([change], current=[], text="switched to Mandarin", likeness=never_alike) == []
    )
    held = [fact("speaks", "French")]
    assert place_changes([change], current=held, text="x", likeness=never_alike) == []
    placed = place_changes(
        [change], current=held, text="my French is gone, switched to Mandarin", likeness=never_alike
    )
    assert [(c.predicate, c.object, c.negated) for c in placed] == [
        ("speaks", "French", True),
        ("speaks", "Mandarin", False),
    ]


def test_the_rules_fold_a_change_they_read_into_the_reading():
    from confidante.extraction.rules import RuleExtractor

    read = RuleExtractor().extract("Knees gave up. Taken up golf instead.", speaker=SELF)
    assert [(c.predicate, c.object, c.replaces) for c in read] == [("plays", "golf", True)]
    unread = RuleExtractor().extract("Our club has switched to pickleball.", speaker=SELF)
    assert [(c.predicate, c.object) for c in unread] == [(CHANGED_TO, "pickleball")]


def test_with_nothing_to_replace_a_clear_kind_of_value_opens_alone(real: Assistant):
    facts = told(real, "Big news: I've switched to chemistry this term.")
    assert facts == {("studies", "chemistry"): True}


def test_kind_of_names_only_clear_kinds(packaged_embeddings):
    from confidante.agent.learning import cosines

    def likeness(value: str, others):
        return cosines(packaged_embeddings, value, others)

    from confidante.graph.changes import kind_of

    assert kind_of("rugby", likeness) == "plays"
    assert kind_of("Spanish", likeness) == "speaks"
    assert kind_of("a new phone", likeness) is None
    assert kind_of("nurse", likeness) is None  # a job: never placed by kind
