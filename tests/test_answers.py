"""Short replies to a question asked of the others: "where is everyone from?" / "Busan"."""

from __future__ import annotations

from confidante import Assistant
from confidante.extraction.answers import answer_facts, question_in
from confidante.graph.schema import SELF


def said(assistant: Assistant, *lines: tuple[str, str]) -> set[tuple[str, str, str]]:
    for name, text in lines:
        assistant.observe("group", [{"role": "user", "content": text, "name": name}])
    return {(f.subject, f.predicate, f.object) for f in assistant.inner.graph.facts("group")}


def test_replies_answer_the_question_asked_of_everyone(assistant: Assistant):
    facts = said(
        assistant,
        ("Ana", "where is everyone from originally?"),
        ("Min", "Busan"),
        ("Sam", "Lahore but grew up in Houston"),
        ("Ana", "Coimbra, for the record"),  # the asker's own reply is not an answer to her
        ("Joe", "oh, kind of hard to say"),
    )
    assert ("Min", "from", "Busan") in facts
    assert ("Sam", "from", "Lahore") in facts
    assert not any(s in ("Ana", "Joe") for s, _, _ in facts), facts


def test_allergies_and_ages_asked_of_the_group(assistant: Assistant):
    facts = said(
        assistant,
        ("Kim", "ordering thai, anyone allergic to anything?"),
        ("Lee", "peanuts, badly"),
        ("Max", "shrimp for me"),
        ("Ola", "nope, I eat anything"),
    )
    assert {("Lee", "allergic_to", "peanuts"), ("Max", "allergic_to", "shrimp")} <= facts
    assert not any(s == "Ola" for s, _, _ in facts)


def test_what_is_not_a_bare_answer_is_left_alone():
    where = question_in("where is everyone from?", "Ana")
    assert where is not None and where.predicate == "from"
    assert question_in("how old is Grandma now?", "Ana") is None  # about a third person
    assert question_in("I wonder where you are from", "Ana") is None  # not a question
    long_reply = "Flowers bring joy to everyone who sees them in the spring garden, really"
    for reply in ("Wow", "Flowers bring joy", long_reply, "are you?", "I'm from Lyon"):
        assert answer_facts(where, reply, "Bo") == [], reply
    age = question_in("how old are you guys?", "Ana")
    assert age is not None
    assert [f.object for f in answer_facts(age, "34", "Bo")] == ["34"]
    assert answer_facts(age, "old enough", "Bo") == []
    assert answer_facts(age, "34", SELF)[0].subject == SELF
