"""The turn end to end on real Chroma, SQLite, NetworkX and rule extraction (scripted model)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from confidante import (
    Assistant,
    AsyncAssistant,
    DataDirNotWritableError,
    Feedback,
    InvalidInputError,
    InvalidMessageError,
    InvalidRatingError,
    MessageTooLargeError,
    ModelNotFoundError,
    Reply,
    Settings,
    UnknownInteractionError,
    UnknownMemoryError,
    UnknownUserError,
)
from confidante.testing import HashEmbedder, ScriptedLLM


def say(text: str, **extra):
    return [{"role": "user", "content": text, **extra}]


def test_turn_records_learns_and_uses_facts(assistant: Assistant, scripted_llm: ScriptedLLM):
    first = assistant.chat("maria", say("Hi, my name is Maria and I live in Lisbon."))
    assert first.content == "Noted."
    assert first.context == []  # nothing known yet

    second = assistant.chat("maria", say("Where should I go for dinner tonight?"))
    asked = scripted_llm.prompts[-1][-1]["content"]
    assert "Maria lives in Lisbon" in asked
    assert asked.endswith("Where should I go for dinner tonight?")
    statements = {r.text for r in second.context if r.kind == "profile"}
    assert "Maria lives in Lisbon" in statements
    # Everything the model saw is in Reply.context and nothing else.
    for r in second.context:
        assert r.text in asked
    # The first turn (user message + reply) is in the prompt as history.
    history = [m["content"] for m in scripted_llm.prompts[-1][1:-1]]
    assert "Hi, my name is Maria and I live in Lisbon." in history
    assert "Noted." in history

    exported = assistant.export("maria")
    interactions = {i["id"]: i for i in exported["interactions"]}
    assert set(interactions) == {first.interaction_id, second.interaction_id}
    stored = interactions[second.interaction_id]
    assert stored["prompt"] == scripted_llm.prompts[-1]
    assert [c["text"] for c in stored["context"]] == [r.text for r in second.context]
    assert len(exported["messages"]) == 4


def test_profile_fact_provenance_points_at_the_message(assistant: Assistant):
    assistant.observe("sam", say("I'm allergic to peanuts.", id="m-17"))
    facts = assistant.profile("sam").facts
    allergy = next(f for f in facts if f.predicate == "allergic_to")
    assert allergy.object == "peanuts"
    assert allergy.source_ids == ["m-17"]


def test_recall_returns_source_ids(assistant: Assistant):
    assistant.observe(
        "sam",
        [
            {"role": "user", "content": "I adopted a cat named Pixel last spring.", "id": "a1"},
            {"role": "user", "content": "The weather was awful on the trip to Oslo.", "id": "a2"},
            {"role": "user", "content": "My favourite band is Radiohead.", "id": "a3"},
        ],
    )
    found = assistant.recall("sam", "what is the name of my cat", k=3)
    assert found[0].source_ids == ["a1"]
    assert found[0].kind == "message"
    assert "Pixel" in found[0].text
    oslo = assistant.recall("sam", "Oslo trip weather", k=1)
    assert [r.source_ids for r in oslo] == [["a2"]]


def test_fact_recollections_lead_back_to_their_turn(assistant: Assistant):
    assistant.observe("sam", say("I work at Globex.", id="w1"))
    found = assistant.recall("sam", "Sam works at Globex", k=5)
    assert found[0].source_ids == ["w1"] and found[0].kind == "message"
    # A fact is recalled when its source turn is not (here: already in the prompt), and it
    # still points at that turn.
    memory = assistant.inner.memory
    found = memory.recall("sam", "Sam works at Globex", 5, exclude=frozenset({"msg:w1"}))
    facts = [r for r in found if r.kind == "fact"]
    assert facts and facts[0].source_ids == ["w1"]


def test_observe_keeps_ids_names_times_and_is_idempotent(assistant: Assistant):
    when = datetime(2023, 5, 8, 13, 56, tzinfo=UTC)
    log = [
        {
            "role": "user",
            "content": "I live in Boston.",
            "name": "Caroline",
            "id": "D1:1",
            "created_at": when,
        },
        {
            "role": "user",
            "content": "I just moved to Denver.",
            "name": "Melanie",
            "id": "D1:2",
            "created_at": when,
        },
    ]
    assert assistant.observe("log", log) == ["D1:1", "D1:2"]
    assert assistant.observe("log", log) == []  # re-import stores nothing twice
    messages = assistant.export("log")["messages"]
    assert [(m["id"], m["name"]) for m in messages] == [("D1:1", "Caroline"), ("D1:2", "Melanie")]
    assert datetime.fromisoformat(messages[0]["created_at"]) == when
    facts = {(f.subject, f.predicate, f.object) for f in assistant.profile("log").facts}
    # "I" resolves to the speaker's name in multi-party logs.
    assert ("Caroline", "lives_in", "Boston") in facts
    assert ("Melanie", "lives_in", "Denver") in facts
    found = assistant.recall("log", "Where does Caroline live?", k=2)
    assert "D1:1" in {s for r in found for s in r.source_ids}


def test_moving_closes_the_old_home(assistant: Assistant):
    assistant.observe(
        "ana", say("I live in Paris.", id="p1", created_at=datetime(2022, 1, 1, tzinfo=UTC))
    )
    assistant.observe(
        "ana", say("I moved to Berlin.", id="p2", created_at=datetime(2024, 6, 1, tzinfo=UTC))
    )
    homes = [f for f in assistant.profile("ana").facts if f.predicate == "lives_in"]
    assert [h.object for h in homes] == ["Berlin"]
    history = [f for f in assistant.export("ana")["facts"] if f["predicate"] == "lives_in"]
    paris = next(f for f in history if f["object"] == "Paris")
    assert paris["valid_to"].startswith("2024-06-01")
    old = [r for r in assistant.memories("ana") if r.kind == "fact" and "Paris" in r.text]
    assert [r.text for r in old] == ["The user lives in Paris (until 2024-06-01)"]
    found = assistant.recall("ana", "Where did I live before Berlin?", k=2)
    assert {s for r in found for s in r.source_ids} == {"p1", "p2"}


def test_rate(assistant: Assistant):
    reply = assistant.chat("maria", say("Hello there"))
    rating = assistant.rate(
        Feedback(interaction_id=reply.interaction_id, score=4, comment="useful")
    )
    assert rating.user_id == "maria" and rating.score == 4
    assert assistant.export("maria")["ratings"][0]["comment"] == "useful"
    with pytest.raises(UnknownInteractionError, match="interaction_id of a Reply"):
        assistant.rate(Feedback(interaction_id="int_nope", score=3))
    for bad in (0, 6, 2.5, True, "5"):
        with pytest.raises(InvalidRatingError, match="from 1 to 5"):
            Feedback(interaction_id=reply.interaction_id, score=bad)  # type: ignore[arg-type]


def test_bad_input_raises_and_stores_nothing(assistant: Assistant, settings: Settings):
    assistant.observe("maria", say("I live in Lisbon.", id="keep"))
    before = assistant.export("maria")
    with pytest.raises(InvalidMessageError):
        assistant.chat("maria", say(""))
    with pytest.raises(InvalidMessageError):
        assistant.chat(
            "maria", [{"role": "user", "content": "ok"}, {"role": "robot", "content": "x"}]
        )
    with pytest.raises(InvalidMessageError, match="last turn has no user message"):
        assistant.chat("maria", [{"role": "assistant", "content": "hi"}])
    with pytest.raises(MessageTooLargeError):
        assistant.observe("maria", say("x" * (settings.max_message_chars + 1)))
    with pytest.raises(InvalidMessageError):
        assistant.observe("", say("hi"))
    with pytest.raises(InvalidMessageError):
        assistant.recall("maria", "   ")
    after = assistant.export("maria")
    assert after["messages"] == before["messages"] and after["facts"] == before["facts"]


def test_unknown_user(assistant: Assistant):
    with pytest.raises(UnknownUserError, match="chat with or observe"):
        assistant.profile("nobody")
    with pytest.raises(UnknownUserError):
        assistant.export("nobody")
    assert assistant.recall("nobody", "anything") == []


def test_data_dir_not_writable(tmp_path: Path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    with pytest.raises(DataDirNotWritableError, match="CONFIDANTE_DATA_DIR"):
        Assistant.open(blocker / "data", llm=ScriptedLLM(), embeddings=HashEmbedder())


def test_missing_model_is_a_typed_error(tmp_path: Path):
    settings = Settings(data_dir=tmp_path / "d", model_dir=tmp_path / "no-model")
    with pytest.raises(ModelNotFoundError, match="confidante models prepare"):
        Assistant.open(settings=settings, embeddings=HashEmbedder())
    with pytest.raises(ModelNotFoundError, match="sentence-transformers"):
        Assistant.open(
            settings=settings.model_copy(update={"embedding_model_dir": tmp_path}),
            llm=ScriptedLLM(),
        )


def test_forget_leaves_no_trace(settings: Settings):
    marker = "Zanzibarquux"
    with Assistant.open(settings=settings, llm=ScriptedLLM(), embeddings=HashEmbedder()) as a:
        a.observe("other", say("I live in Lima."))
        reply = a.chat("victim", say(f"My name is {marker} and I live in {marker}ville."))
        a.rate(Feedback(interaction_id=reply.interaction_id, score=5))
        a.observe("victim", say(f"I love {marker} pie.", id="x1"))
        assert a.recall("victim", marker)
        a.forget("victim")
        with pytest.raises(UnknownUserError):
            a.profile("victim")
        assert a.recall("victim", marker) == []
        assert a.inner.memory.vectors.count("victim") == 0  # type: ignore[attr-defined]
        assert a.profile("other").facts  # other users are untouched
    for path in settings.data_dir.rglob("*"):
        if path.is_file():
            assert marker.encode() not in path.read_bytes(), path
            assert marker.lower().encode() not in path.read_bytes(), path


def test_restart_keeps_everything(settings: Settings):
    with Assistant.open(settings=settings, llm=ScriptedLLM(), embeddings=HashEmbedder()) as a:
        a.chat("maria", say("My name is Maria. I'm allergic to shellfish."))
    llm = ScriptedLLM(["Avoid shrimp."])
    with Assistant.open(settings=settings, llm=llm, embeddings=HashEmbedder()) as b:
        reply = b.chat("maria", say("Any dinner ideas?"))
        assert "Maria is allergic to shellfish" in llm.prompts[0][-1]["content"]
        assert any(r.kind == "profile" and "shellfish" in r.text for r in reply.context)


async def test_async_core_runs_concurrent_users(settings: Settings):
    async with AsyncAssistant.open(
        settings=settings, llm=ScriptedLLM(["ok"]), embeddings=HashEmbedder()
    ) as a:
        import asyncio

        replies = await asyncio.gather(
            *[a.chat(f"user{i}", say(f"I live in City{i}.")) for i in range(8)]
        )
        assert len({r.interaction_id for r in replies}) == 8
        for i in range(8):
            profile = await a.profile(f"user{i}")
            assert [f.object for f in profile.facts] == [f"City{i}"]


def test_generation_failure_keeps_the_turn(settings: Settings):
    def broken(_messages):
        raise RuntimeError("backend down")

    with Assistant.open(settings=settings, llm=ScriptedLLM(broken), embeddings=HashEmbedder()) as a:
        with pytest.raises(RuntimeError):
            a.chat("maria", say("I live in Porto.", id="kept"))
        exported = a.export("maria")
        assert [m["id"] for m in exported["messages"]] == ["kept"]
        assert [f["object"] for f in exported["facts"]] == ["Porto"]


def test_recollections_do_not_repeat_the_profile_or_history(
    assistant: Assistant, scripted_llm: ScriptedLLM
):
    assistant.chat("kim", say("I live in Oslo and I love skiing."))
    assistant.chat("kim", say("I work at Statoil."))
    reply = assistant.chat("kim", say("Any tips for skiing near Oslo?"))
    ids = [r.id for r in reply.context]
    assert len(ids) == len(set(ids))
    texts = [r.text for r in reply.context]
    assert len(texts) == len(set(texts))
    history = {m["content"] for m in scripted_llm.prompts[-1][1:-1]}
    assert not history & {r.text for r in reply.context if r.kind == "message"}


def test_chat_stream_yields_deltas_then_the_recorded_reply(assistant: Assistant):
    assistant.observe("kim", say("I live in Oslo."))
    items = list(assistant.chat_stream("kim", say("Where do I live?")))
    deltas = [d for d in items[:-1] if isinstance(d, str)]
    reply = items[-1]
    assert len(deltas) == len(items) - 1 and isinstance(reply, Reply)
    assert "".join(deltas) == reply.content == "Noted."
    assert any("Oslo" in r.text for r in reply.context)
    stored = assistant.export("kim")["interactions"][-1]
    assert stored["id"] == reply.interaction_id
    with pytest.raises(InvalidMessageError):
        list(assistant.chat_stream("kim", say("")))


def test_memories_can_be_listed_and_deleted(assistant: Assistant):
    assistant.observe("kim", say("I'm allergic to cats.", id="c1"))
    listed = assistant.memories("kim")
    assert {r.kind for r in listed} == {"message", "fact"}
    fact = next(r for r in listed if r.kind == "fact")
    assert fact.source_ids == ["c1"]
    assistant.delete_memory("kim", fact.id)
    assert assistant.profile("kim").facts == []
    assert fact.id not in {r.id for r in assistant.recall("kim", "allergic to cats")}
    with pytest.raises(UnknownMemoryError, match="no memory with id"):
        assistant.delete_memory("kim", fact.id)
    with pytest.raises(UnknownMemoryError):
        assistant.delete_memory("someone-else", "msg:c1")
    assert [r.id for r in assistant.memories("kim")] == ["msg:c1"]


def test_rating_is_scoped_to_the_user_when_asked(assistant: Assistant):
    reply = assistant.chat("kim", say("Hello"))
    with pytest.raises(UnknownInteractionError):
        assistant.rate(Feedback(interaction_id=reply.interaction_id, score=5, user_id="mallory"))
    assert (
        assistant.rate(
            Feedback(interaction_id=reply.interaction_id, score=5, user_id="kim")
        ).user_id
        == "kim"
    )


def test_max_tokens_per_reply(settings: Settings):
    llm = ScriptedLLM(["one two three four"])
    with Assistant.open(settings=settings, llm=llm, embeddings=HashEmbedder()) as a:
        cut = a.chat("kim", say("count"), max_tokens=2)
        assert (cut.content, cut.finish_reason, cut.completion_tokens) == ("one two", "length", 2)
        whole = a.chat("kim", say("count"))
        assert (whole.finish_reason, whole.completion_tokens) == ("stop", 4)
        *_, reply = a.chat_stream("kim", say("count"), max_tokens=3)
        assert isinstance(reply, Reply) and reply.content == "one two three"
        with pytest.raises(InvalidInputError, match="max_tokens"):
            a.chat("kim", say("count"), max_tokens=0)


def test_events_are_recalled_not_listed_in_the_profile(assistant: Assistant):
    when = datetime(2024, 5, 6, 18, 0, tzinfo=UTC)
    assistant.observe(
        "eve",
        say("I live in Oslo. I went hiking in the fjords yesterday.", id="e1", created_at=when),
    )
    assert {(f.predicate, f.object) for f in assistant.profile("eve").facts} == {
        ("lives_in", "Oslo")
    }
    # The event is still learned: in the graph, the export and recall.
    facts = assistant.export("eve")["facts"]
    assert [f["object"] for f in facts if f["predicate"] == "did"] == ["went hiking in the fjords"]
    found = assistant.recall("eve", "Where did I go hiking?", k=3)
    assert "e1" in {s for r in found for s in r.source_ids}
