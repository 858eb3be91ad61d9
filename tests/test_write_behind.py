"""Vectors written behind in batches, and learning that survives a crash (real Chroma, SQLite)."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from confidante import AsyncAssistant, Settings
from confidante.agent.components import build_components
from confidante.database import Database
from confidante.memory.chroma import ChromaVectorIndex
from confidante.memory.documents import Document, DocumentStore
from confidante.memory.pending import VectorBuffer
from confidante.memory.retrieval import HybridMemory
from confidante.records import ChatMessages, Message, stamp, utc_now
from confidante.testing import HashEmbedder, ScriptedLLM

NEVER = 3600.0  # a writer delay no test waits for: only flush() and close() write


def doc(doc_id: str, text: str) -> Document:
    return Document(doc_id=doc_id, kind="message", text=text, source_ids=[doc_id])


def memory_at(root: Path, *, delay: float = NEVER) -> HybridMemory:
    return HybridMemory(
        DocumentStore(Database(root / "db")),
        ChromaVectorIndex(root / "chroma"),
        HashEmbedder(),
        write_delay=delay,
    )


def test_buffered_vectors_are_found_at_once_and_written_on_flush(tmp_path: Path):
    index = ChromaVectorIndex(tmp_path / "chroma")
    flushed: list[tuple[str, list[str]]] = []
    buffer = VectorBuffer(index, on_flushed=lambda u, ids: flushed.append((u, ids)), delay=NEVER)
    buffer.add("u", ["a", "b"], [[1.0, 0.0], [0.0, 1.0]])
    buffer.add("u", ["a"], [[0.0, 1.0]])  # a later add of the same id replaces the earlier
    buffer.add("v", ["c"], [[1.0, 0.0]])
    assert index.count("u") == 0
    found = buffer.search("u", [0.0, 1.0], 2)
    assert {d for d, _ in found} == {"a", "b"} and all(abs(s - 1.0) < 1e-6 for _, s in found)
    assert buffer.search("u", [1.0, 0.0], 5)[0][1] < 1e-6  # "a" now points the other way
    buffer.flush()
    assert buffer.pending == 0 and index.count("u") == 2 and index.count("v") == 1
    assert sorted(flushed) == [("u", ["a", "b"]), ("v", ["c"])]  # one batch per user
    written = dict(buffer.search("u", [0.0, 1.0], 2))  # from Chroma now
    assert abs(written["a"] - 1.0) < 1e-5  # the replacement was written, not the first vector
    buffer.close()


def test_background_writer_drains_and_close_writes_the_rest(tmp_path: Path):
    memory = memory_at(tmp_path, delay=0.01)
    memory.index("u", [doc("m1", "first words")])
    for _ in range(500):  # the writer thread writes within its delay
        if memory.vectors.count("u") == 1:  # type: ignore[attr-defined]
            break
        asyncio.run(asyncio.sleep(0.01))
    assert memory.vectors.count("u") == 1  # type: ignore[attr-defined]
    memory.close()
    memory = memory_at(tmp_path)
    memory.index("u", [doc("m2", "second words"), doc("m3", "third words")])
    memory.close()
    assert memory.vectors.count("u") == 3  # type: ignore[attr-defined]
    assert memory.documents.unwritten() == {}


def test_recall_sees_documents_whose_vectors_are_not_written(tmp_path: Path):
    memory = memory_at(tmp_path)
    memory.index("u", [doc("m1", "violin lessons for my daughter"), doc("m2", "tax forms")])
    assert memory.vectors.count("u") == 0  # type: ignore[attr-defined]
    assert [r.id for r in memory.recall("u", "violin daughter", k=1)] == ["m1"]
    memory.close()


def test_vectors_lost_in_a_crash_are_written_on_the_next_open(tmp_path: Path):
    crashed = memory_at(tmp_path)  # never flushed or closed: its buffer dies with it
    crashed.index("u", [doc("m1", "blue kayak on the lake"), doc("m2", "red tent")])
    assert set(d.doc_id for d in crashed.documents.unwritten()["u"]) == {"m1", "m2"}
    reopened = memory_at(tmp_path)
    assert [r.id for r in reopened.recall("u", "kayak lake", k=1)] == ["m1"]
    reopened.close()
    assert reopened.vectors.count("u") == 2  # type: ignore[attr-defined]
    assert reopened.documents.unwritten() == {}


def test_deleting_buffered_vectors_keeps_them_from_being_written(tmp_path: Path):
    memory = memory_at(tmp_path)
    memory.index("u", [doc("m1", "one"), doc("m2", "two")])
    memory.index("gone", [doc("g1", "bye")])
    assert memory.delete("u", ["m1"]) == 1
    assert memory.delete("gone") == 1
    memory.close()
    assert memory.vectors.count("u") == 1 and memory.vectors.count("gone") == 0  # type: ignore[attr-defined]
    assert memory.documents.unwritten() == {}


def test_chroma_store_uses_a_write_ahead_log(tmp_path: Path):
    ChromaVectorIndex(tmp_path / "chroma").add("u", ["a"], [[1.0, 0.0]])
    conn = sqlite3.connect(tmp_path / "chroma" / "chroma.sqlite3")
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()


def say(text: str) -> ChatMessages:
    return [{"role": "user", "content": text}]


async def test_turns_stored_but_not_learned_before_a_crash_are_learned_on_open(
    settings: Settings,
):
    llm = ScriptedLLM(["ok"])
    async with AsyncAssistant.open(settings=settings, llm=llm, embeddings=HashEmbedder()) as a:
        await a.chat("maria", say("Hello there."))
        # What chat() does before it learns, then a crash: stored, never learned.
        told = stamp(
            Message(role="user", content="I live in Porto.", id="t1"), default_time=utc_now()
        )
        a.journal.add_messages("maria", [told])
        assert "Porto" not in str((await a.profile("maria")).facts)
        assert list(a.journal.unlearned()) == ["maria"]
    async with AsyncAssistant.open(settings=settings, llm=llm, embeddings=HashEmbedder()) as b:
        assert [f.object for f in (await b.profile("maria")).facts] == ["Porto"]
        assert [r.id for r in await b.recall("maria", "Porto", k=1)] == ["msg:t1"]
        assert b.journal.unlearned() == {}


async def test_an_assistant_built_from_parts_learns_unlearned_turns_only_when_told(
    settings: Settings,
):
    parts = build_components(settings, llm=ScriptedLLM(["ok"]), embeddings=HashEmbedder())
    told = stamp(Message(role="user", content="I live in Porto.", id="t1"), default_time=utc_now())
    parts.journal.add_messages("maria", [told])
    async with AsyncAssistant(parts) as a:
        assert list(a.journal.unlearned()) == ["maria"]  # constructing read nothing
        a.recover()
        assert a.journal.unlearned() == {}
        assert [f.object for f in (await a.profile("maria")).facts] == ["Porto"]


async def test_concurrent_turns_of_many_users_lose_nothing(settings: Settings):
    users, turns = [f"u{i}" for i in range(6)], 5
    llm = ScriptedLLM(["ok"])
    async with AsyncAssistant.open(settings=settings, llm=llm, embeddings=HashEmbedder()) as a:
        a.memory._buffer.delay = 0.005  # the writer runs while the turns come in

        async def talk(user: str) -> None:
            for n in range(turns):
                await a.chat(user, say(f"note {user}x{n} for later"))

        await asyncio.gather(*(talk(u) for u in users for _ in range(2)))
        for user in users:  # every turn recallable at once, written or still buffered
            found = await a.recall(user, f"{user}x3", k=turns * 2)
            assert len(found) == turns * 2
            assert f"{user}x3" in found[0].text
        assert a.journal.unlearned() == {}
    index = ChromaVectorIndex(settings.resolved_data_dir() / "chroma")
    assert [index.count(u) for u in users] == [turns * 2] * len(users)
    with sqlite3.connect(settings.resolved_data_dir() / "confidante.db") as db:
        assert db.execute("SELECT COUNT(*) FROM unwritten_vectors").fetchone()[0] == 0
