"""LLM fact extraction: one call per batch, lenient reading, one repair, then the rules' facts.

The model is scripted (``ScriptedLLM``); stores are real. The ``slow`` test runs SmolLM2.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from confidante import AsyncAssistant, GenerationError, InvalidInputError, Settings
from confidante.extraction.base import ExtractorChain
from confidante.extraction.events import EventExtractor
from confidante.extraction.llm import LLMFactExtractor, merge_facts
from confidante.extraction.llm_prompt import Turn, extraction_prompt, read_facts
from confidante.extraction.rules import RuleExtractor
from confidante.graph.schema import PREDICATES, SELF, FactCandidate, is_reply_preference
from confidante.records import ChatMessages
from confidante.testing import HashEmbedder, ScriptedLLM, ScriptedStructuredLLM

WHEN = datetime(2024, 5, 8, 12, 0, tzinfo=UTC)


def fact(subject: str, predicate: str, obj: str, index: int = 1, **extra: Any) -> dict[str, Any]:
    item = {"subject": subject, "predicate": predicate, "object": obj, "message_index": index}
    return item | extra


def reply(*facts: dict[str, Any]) -> str:
    return json.dumps({"facts": list(facts)})


def said(text: str, mid: str, **extra: Any) -> dict[str, Any]:
    return {"role": "user", "content": text, "id": mid, "created_at": WHEN.isoformat(), **extra}


@pytest.fixture
async def open_llm_assistant(settings: Settings) -> AsyncIterator[Any]:
    """Opens assistants with LLM extraction by the given scripted model; closes them after."""
    opened: list[AsyncAssistant] = []

    def open_(extraction_llm: Any) -> AsyncAssistant:
        assistant = AsyncAssistant.open(
            settings=settings.model_copy(update={"fact_extractor": "llm"}),
            llm=ScriptedLLM(["Noted."]),
            embeddings=HashEmbedder(),
            extraction_llm=extraction_llm,
        )
        opened.append(assistant)
        return assistant

    yield open_
    for assistant in opened:
        await assistant.close()


def rules() -> ExtractorChain:
    return ExtractorChain(RuleExtractor(), EventExtractor())


# (a) valid JSON: facts land in the profile, with their source ids; "I" is the speaker.
async def test_valid_reply_lands_in_profile_with_sources(open_llm_assistant):
    llm = ScriptedLLM(
        [reply(fact("I", "plays", "cello", 1), fact("I", "likes", "jazz", 2, negated=False))]
    )
    assistant = open_llm_assistant(llm)
    await assistant.observe(
        "maria",
        [
            said("Honestly the cello is my whole life these days.", "m1"),
            said("Jazz on Sundays is the best thing there is.", "m2", name="Ana"),
        ],
    )
    assert len(llm.prompts) == 1
    facts = {
        (f.subject, f.predicate, f.object): f for f in (await assistant.profile("maria")).facts
    }
    cello = facts[(SELF, "plays", "cello")]
    assert cello.source_ids == ["m1"]
    assert cello.confidence == pytest.approx(0.7)
    assert cello.valid_from == WHEN
    assert facts[("Ana", "likes", "jazz")].source_ids == ["m2"]


# (b) code fences, prose around the JSON, a bare list, a truncated list.
@pytest.mark.parametrize(
    "text",
    [
        "```json\n" + reply(fact("I", "likes", "jazz")) + "\n```",
        "Sure! Here are the facts:\n" + reply(fact("I", "likes", "jazz")) + "\nHope it helps.",
        "Facts [below]: " + json.dumps([fact("I", "likes", "jazz")]),
        '{"facts": [' + json.dumps(fact("I", "likes", "jazz")) + ', {"subject": "I", "pre',
        json.dumps({"subject": "I", "predicate": "likes", "object": "jazz"}),  # one turn: index 1
    ],
)
def test_lenient_reading(text: str):
    [found] = read_facts(text, turn_count=1)
    assert (found.subject, found.predicate, found.object, found.message_index) == (
        "I",
        "likes",
        "jazz",
        1,
    )


async def test_fenced_reply_through_the_assistant(open_llm_assistant):
    llm = ScriptedLLM(["Here you go:\n```json\n" + reply(fact("I", "likes", "jazz")) + "\n```"])
    assistant = open_llm_assistant(llm)
    await assistant.observe("sam", [said("Jazz on Sundays is the best.", "m1")])
    assert any(f.object == "jazz" for f in (await assistant.profile("sam")).facts)


# (c) malformed, then a valid repair: exactly two calls, the second shows the bad reply.
async def test_one_repair_after_malformed_reply(open_llm_assistant):
    llm = ScriptedLLM(["facts: I like jazz", reply(fact("I", "likes", "jazz"))])
    assistant = open_llm_assistant(llm)
    await assistant.observe("sam", [said("Jazz on Sundays is the best.", "m1")])
    assert len(llm.prompts) == 2
    repair = llm.prompts[1]
    assert repair[-2] == {"role": "assistant", "content": "facts: I like jazz"}
    assert '"facts" list' in repair[-1]["content"]
    assert any(f.object == "jazz" for f in (await assistant.profile("sam")).facts)


# (d) malformed twice: the rules' facts only, a warning, the turn kept, two calls.
async def test_malformed_twice_falls_back_to_rules(open_llm_assistant, caplog):
    llm = ScriptedLLM(["no idea", "still {not json"])
    assistant = open_llm_assistant(llm)
    with caplog.at_level(logging.WARNING, logger="confidante.extraction.llm"):
        ids = await assistant.observe("sam", [said("I live in Lisbon and love jazz.", "m1")])
    assert ids == ["m1"]
    assert len(llm.prompts) == 2
    assert "rule-based facts only" in caplog.text
    facts = (await assistant.profile("sam")).facts
    assert {(f.predicate, f.object) for f in facts} == {("lives_in", "Lisbon"), ("likes", "jazz")}
    assert all(f.confidence == pytest.approx(0.9) for f in facts)  # the rules' confidence
    exported = await assistant.export("sam")
    assert [m["id"] for m in exported["messages"]] == ["m1"]


async def test_failing_backend_never_breaks_chat(open_llm_assistant, caplog):
    def broken(messages: ChatMessages) -> str:
        raise GenerationError("the backend is down")

    assistant = open_llm_assistant(ScriptedLLM(broken))
    with caplog.at_level(logging.WARNING, logger="confidante.extraction.llm"):
        answer = await assistant.chat("sam", [{"role": "user", "content": "I live in Lisbon."}])
    assert answer.content == "Noted."
    assert "GenerationError" in caplog.text
    assert [f.object for f in (await assistant.profile("sam")).facts] == ["Lisbon"]


# (e) one call per batch: twenty messages, one prompt numbering all of them.
async def test_one_call_for_a_batch_of_twenty(open_llm_assistant):
    llm = ScriptedLLM([reply(fact("I", "likes", "tea", 20))])
    assistant = open_llm_assistant(llm)
    messages = [said(f"Note {i}: tea again today.", f"m{i}") for i in range(1, 21)]
    assert len(await assistant.observe("sam", messages)) == 20
    assert len(llm.prompts) == 1
    assert "[20] User: Note 20" in llm.prompts[0][-1]["content"]
    [tea] = [f for f in (await assistant.profile("sam")).facts if f.object == "tea"]
    assert tea.source_ids == ["m20"]


async def test_longer_runs_are_split_into_batches():
    llm = ScriptedLLM([reply()])
    extractor = LLMFactExtractor(llm, fallback=rules(), batch_turns=4)
    turns = [Turn(message_id=f"m{i}", text="Fine.", when=WHEN) for i in range(10)]
    found: dict[str, list[FactCandidate]] = {}
    for start in range(0, len(turns), extractor.batch_turns):
        found |= await extractor.extract_batch(turns[start : start + extractor.batch_turns])
    assert len(llm.prompts) == 3
    assert set(found) == {t.message_id for t in turns}


# (f) invalid items are dropped, the valid one is kept.
async def test_invalid_items_are_dropped():
    llm = ScriptedLLM(
        [
            reply(
                fact("I", "teleports_to", "Mars"),  # unknown predicate
                fact("I", "likes", "jazz", 3),  # no turn 3
                fact("I", "likes", "  "),  # empty object
                fact("I", "likes", "opera"),  # not in the turn: invented
                fact("Zoe", "likes", "jazz"),  # a subject the turn never names
                {"subject": "I", "object": "jazz", "message_index": 1},  # no predicate
                fact("me", "likes", "jazz", 2),
            )
        ]
    )
    extractor = LLMFactExtractor(llm, fallback=rules())
    turns = [
        Turn(message_id="a", text="Nice weather.", when=WHEN),
        Turn(message_id="b", text="Jazz on Sundays, always.", speaker="Ana", when=WHEN),
    ]
    found = await extractor.extract_batch(turns)
    assert found["a"] == []
    assert [(f.subject, f.predicate, f.object) for f in found["b"]] == [("Ana", "likes", "jazz")]
    assert found["b"][0].valid_from == WHEN


def test_merge_keeps_rules_on_duplicates_and_single_valued_conflicts():
    rule_facts = [FactCandidate(subject=SELF, predicate="lives_in", object="Lisbon")]
    llm_facts = [
        FactCandidate(subject=SELF, predicate="lives_in", object="lisbon", confidence=0.7),
        FactCandidate(subject=SELF, predicate="lives_in", object="Porto", confidence=0.7),
        FactCandidate(subject=SELF, predicate="likes", object="Porto", confidence=0.7),
        FactCandidate(subject=SELF, predicate="likes", object="porto", confidence=0.7),
    ]
    merged = merge_facts(rule_facts, llm_facts)
    assert [(f.predicate, f.object, f.confidence) for f in merged] == [
        ("lives_in", "Lisbon", 1.0),
        ("likes", "Porto", 0.7),
    ]


# (g) a backend with constrained decoding gets the schema; one call, no repair.
async def test_structured_backend_gets_the_schema(open_llm_assistant):
    llm = ScriptedStructuredLLM([reply(fact("I", "likes", "jazz"))])
    assistant = open_llm_assistant(llm)
    await assistant.observe("sam", [said("Jazz on Sundays is the best.", "m1")])
    [schema] = llm.schemas
    item = schema["$defs"]["ExtractedFact"]["properties"]
    assert item["predicate"]["enum"] == [p for p in PREDICATES if not is_reply_preference(p)]
    assert item["message_index"]["maximum"] == 1
    assert len(llm.prompts) == 1
    assert any(f.object == "jazz" for f in (await assistant.profile("sam")).facts)


async def test_structured_backend_is_not_asked_to_repair():
    llm = ScriptedStructuredLLM(["{truncated"])
    extractor = LLMFactExtractor(llm, fallback=rules())
    found = await extractor.extract_batch([Turn(message_id="a", text="I live in Oslo.")])
    assert len(llm.prompts) == 1
    assert [f.object for f in found["a"]] == ["Oslo"]


async def test_rules_setting_makes_no_model_call(settings: Settings):
    llm = ScriptedLLM(["Noted."])
    async with AsyncAssistant.open(settings=settings, llm=llm, embeddings=HashEmbedder()) as a:
        await a.observe("sam", [said("I live in Lisbon.", "m1")])
        assert a.learner.llm_extractor is None
    assert llm.prompts == []


def test_extraction_llm_needs_the_llm_setting(settings: Settings):
    with pytest.raises(InvalidInputError, match='fact_extractor="llm"'):
        AsyncAssistant.open(
            settings=settings,
            llm=ScriptedLLM(),
            embeddings=HashEmbedder(),
            extraction_llm=ScriptedLLM(),
        )


# (h) the prompt, as the model sees it.
PROMPT_SYSTEM = """\
You list facts about people from numbered chat turns. Reply with JSON only, in this shape:
{"facts": [{"subject": string, "predicate": string, "object": string, "role": string or null, \
"negated": boolean, "message_index": integer}]}
predicate is one of: name, age, lives_in, from, works_at, job, studies, partner, diet, \
birthday, likes, dislikes, allergic_to, family, friend, pet, speaks, plays, owns, plans, did.
One item per fact a turn states. "I" is the speaker of that turn. message_index is the turn's \
number. Copy the object's words from the turn. No facts: {"facts": []}."""
EXAMPLE_REPLY = (
    '{"facts": [{"subject": "I", "predicate": "lives_in", "object": "Porto", "message_index": 1}, '
    '{"subject": "I", "predicate": "family", "object": "Lea", "role": "sister", '
    '"message_index": 1}, '
    '{"subject": "Lea", "predicate": "job", "object": "nurse", "message_index": 1}]}'
)


def test_prompt_snapshot():
    messages = extraction_prompt(
        [
            Turn(message_id="a", text="I live in Lisbon\nand I love jazz."),
            Turn(message_id="b", text="My sister Ana is a doctor.", speaker="Bob"),
        ]
    )
    assert messages == [
        {"role": "system", "content": PROMPT_SYSTEM},
        {
            "role": "user",
            "content": "Turns:\n[1] Sam: I moved to Porto and my sister Lea works as a nurse.",
        },
        {"role": "assistant", "content": EXAMPLE_REPLY},
        {
            "role": "user",
            "content": "Turns:\n[1] User: I live in Lisbon and I love jazz.\n"
            "[2] Bob: My sister Ana is a doctor.",
        },
    ]


@pytest.mark.slow
async def test_real_model_extraction_degrades_safely(tmp_path: Path, real_llm, caplog):
    settings = Settings(data_dir=tmp_path / "data", fact_extractor="llm")
    messages = [
        said("I live in Lisbon.", "r1"),
        said("My sister Ana works as a nurse.", "r2"),
        said("I love jazz and I play the piano.", "r3"),
    ]
    async with AsyncAssistant.open(
        settings=settings, llm=real_llm, embeddings=HashEmbedder()
    ) as assistant:
        with caplog.at_level(logging.WARNING, logger="confidante.extraction.llm"):
            assert await assistant.observe("ria", messages) == ["r1", "r2", "r3"]
        facts = (await assistant.profile("ria")).facts
        exported = await assistant.export("ria")
    assert [m["id"] for m in exported["messages"]] == ["r1", "r2", "r3"]
    found = {(f.predicate, f.object) for f in facts}
    assert {("lives_in", "Lisbon"), ("family", "Ana"), ("likes", "jazz")} <= found
    for f in facts:
        assert f.predicate in PREDICATES and f.object.strip()
        assert set(f.source_ids) <= {"r1", "r2", "r3"}
    from_model = [f for f in facts if f.confidence == pytest.approx(0.7)]
    print(f"SmolLM2 added {len(from_model)} fact(s): {[f.statement for f in from_model]}")
    print("fell back to the rules" if "rule-based facts only" in caplog.text else "JSON read")
