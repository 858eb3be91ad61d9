"""Preferences about replies and the mood of a message, read with the real packaged embedder.

The labelled corpus in tests/data/style_and_mood.json was written apart from the reader's
own examples; the figures are checked here against floors, and printed by bench/replies.py
end to end.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import test_serving_helpers as helpers

from confidante import Assistant, Client, Feedback, Settings, UnknownPreferenceError
from confidante.agent.assistant import MOOD_NOTE, REMOVED_BY_USER
from confidante.extraction.manner import MannerReader
from confidante.extraction.manner_examples import INSTRUCTIONS
from confidante.graph.schema import REPLY_ASPECTS
from confidante.records import ChatMessages
from confidante.testing import ScriptedLLM

CORPUS = json.loads((Path(__file__).parent / "data" / "style_and_mood.json").read_text())


def say(text: str) -> ChatMessages:
    return [{"role": "user", "content": text}]


@pytest.fixture(scope="module")
def reader(packaged_embeddings) -> MannerReader:
    return MannerReader(packaged_embeddings)


@pytest.fixture
def assistant(settings: Settings, packaged_embeddings) -> Iterator[Assistant]:
    llm = ScriptedLLM(["Sure."])
    with Assistant.open(settings=settings, llm=llm, embeddings=packaged_embeddings) as a:
        a.scripted = llm  # type: ignore[attr-defined]
        yield a


def _system(assistant: Assistant) -> str:
    return assistant.scripted.prompts[-1][0]["content"]  # type: ignore[attr-defined]


def _last_user(assistant: Assistant) -> str:
    return assistant.scripted.prompts[-1][-1]["content"]  # type: ignore[attr-defined]


def test_the_examples_cover_exactly_the_graphs_aspects():
    assert tuple(INSTRUCTIONS) == REPLY_ASPECTS


def test_instructions_about_replies_are_told_from_look_alikes(reader: MannerReader):
    found = [(item, reader.instructions(item["text"])) for item in CORPUS["style"]]
    instructions = [(item, got) for item, got in found if item["instruction"]]
    others = [got for item, got in found if not item["instruction"]]
    recall = sum(bool(got) for _, got in instructions) / len(instructions)
    false_alarms = sum(bool(got) for got in others) / len(others)
    right_aspect = sum(
        bool(got) and got[0].aspect == item["aspect"] for item, got in instructions
    ) / sum(bool(got) for _, got in instructions)
    assert recall >= 0.85, recall
    assert false_alarms <= 0.25, false_alarms
    assert right_aspect >= 0.85, right_aspect


def test_distress_is_told_from_calm_messages(reader: MannerReader):
    read = [
        (item["distressed"], reader.distress(item["text"]) is not None) for item in CORPUS["mood"]
    ]
    distressed = [seen for truth, seen in read if truth]
    calm = [seen for truth, seen in read if not truth]
    assert sum(distressed) / len(distressed) >= 0.7
    assert sum(calm) / len(calm) <= 0.3


def test_a_stated_preference_shapes_every_later_prompt(assistant: Assistant):
    assistant.chat("ana", say("Hi! Please keep your answers short from now on."))
    [preference] = assistant.preferences("ana")
    assert preference.predicate == "reply_length" and "short" in preference.object
    [source] = [m for m in assistant.export("ana")["messages"] if m["id"] in preference.source_ids]
    assert source["role"] == "user" and "keep your answers short" in source["content"]
    assert preference.statement in assistant.profile("ana").lines()  # shown, with its source
    assistant.chat("ana", say("What should I cook tonight?"))
    system = _system(assistant)
    assert "How I want you to reply" in system and preference.object in system
    # In the system message, so the cached prefix stays; not repeated as a profile fact.
    assert preference.object not in _last_user(assistant)


def test_a_newer_instruction_replaces_only_its_own_aspect(assistant: Assistant):
    assistant.chat("ana", say("Keep your answers short, please."))
    assistant.chat("ana", say("From now on answer in Portuguese."))
    assistant.chat("ana", say("Actually, switch back to English again please."))
    current = {f.predicate: f.object for f in assistant.preferences("ana")}
    assert set(current) == {"reply_length", "reply_language"}
    assert "English" in current["reply_language"]
    assistant.chat("ana", say("What's a good name for a cat?"))
    assert "Portuguese" not in _system(assistant)


def test_a_removed_preference_stops_applying_and_is_kept_as_history(assistant: Assistant):
    assistant.chat("ana", say("No emoji please."))
    [preference] = assistant.preferences("ana")
    closed = assistant.remove_preference("ana", preference.id)
    assert closed.closed_by == REMOVED_BY_USER and not closed.is_current
    assert assistant.preferences("ana") == []
    assistant.chat("ana", say("Tell me about octopuses."))
    assert "How I want you to reply" not in _system(assistant)
    with pytest.raises(UnknownPreferenceError):
        assistant.remove_preference("ana", preference.id)
    history = assistant.export("ana")["facts"]
    assert any(f["id"] == preference.id and f["closed_by"] == REMOVED_BY_USER for f in history)


def test_only_preferences_can_be_removed_as_preferences(assistant: Assistant):
    assistant.chat("ana", say("I live in Porto."))
    [fact] = [f for f in assistant.profile("ana").facts if f.predicate == "lives_in"]
    with pytest.raises(UnknownPreferenceError):
        assistant.remove_preference("ana", fact.id)


def test_a_rating_comment_becomes_a_preference_at_once(assistant: Assistant):
    reply = assistant.chat("ana", say("Explain how a heat pump works."))
    assistant.rate(
        Feedback(interaction_id=reply.interaction_id, score=2, comment="Way too long, be brief.")
    )
    [preference] = assistant.preferences("ana")
    assert preference.predicate == "reply_length"
    assert preference.source_ids == [reply.interaction_id]
    assistant.chat("ana", say("And a fridge?"))
    assert preference.object in _system(assistant)


def test_a_distressed_message_asks_for_acknowledgement_and_a_calm_one_does_not(
    assistant: Assistant,
):
    assistant.chat("ana", say("I can't cope, my dad is in hospital and I haven't slept."))
    assert MOOD_NOTE in _last_user(assistant)
    assistant.chat("ana", say("What's the capital of Canada?"))
    assert MOOD_NOTE not in _last_user(assistant)


def test_named_speakers_in_a_log_set_no_preferences(assistant: Assistant):
    assistant.observe(
        "ana", [{"role": "user", "name": "Bo", "content": "Keep your answers short, please."}]
    )
    assert assistant.preferences("ana") == []


def test_reading_manner_can_be_turned_off(settings: Settings, packaged_embeddings):
    off = settings.model_copy(update={"read_manner": False})
    llm = ScriptedLLM(["Sure."])
    with Assistant.open(settings=off, llm=llm, embeddings=packaged_embeddings) as assistant:
        assistant.chat("ana", say("Keep your answers short. I'm so stressed I can't think."))
        assert assistant.preferences("ana") == []
        assert MOOD_NOTE not in llm.prompts[-1][-1]["content"]


def test_preferences_over_http(tmp_path: Path, packaged_embeddings):
    for live in helpers.start(tmp_path, users=("ana",), embeddings=packaged_embeddings):
        with Client(live.url, api_key=live.keys["ana"]) as client:
            client.chat("ana", say("Please stop calling me sir."))
            [preference] = client.preferences("ana")
            assert preference.predicate == "reply_address"
            closed = client.remove_preference("ana", preference.id)
            assert closed.id == preference.id and not closed.is_current
            assert client.preferences("ana") == []
            with pytest.raises(UnknownPreferenceError):
                client.remove_preference("ana", preference.id)
