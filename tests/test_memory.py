"""Hybrid memory on real Chroma, SQLite FTS5 and the packaged MiniLM embedder."""

from __future__ import annotations

from pathlib import Path

from confidante.database import Database
from confidante.memory.chroma import ChromaVectorIndex
from confidante.memory.documents import Document, DocumentStore
from confidante.memory.retrieval import HybridMemory, reciprocal_rank_fusion


def test_reciprocal_rank_fusion_rewards_agreement():
    fused = reciprocal_rank_fusion([["a", "b", "c"], ["b", "d"]])
    assert [doc for doc, _ in fused][:2] == ["b", "a"]
    assert fused[0][1] == 1 / 62 + 1 / 61


def test_keyword_search_matches_stems_and_skips_stopwords(tmp_path: Path):
    store = DocumentStore(Database(tmp_path / "db"))
    store.add(
        "u",
        [
            Document(
                doc_id="1", kind="message", text="I went running in the park", source_ids=["1"]
            ),
            Document(doc_id="2", kind="message", text="The cat sleeps all day", source_ids=["2"]),
        ],
    )
    assert [d for d, _ in store.search("u", "does she run?", 5)] == ["1"]
    assert store.search("u", "the and of", 5) == []
    assert store.search("other-user", "run", 5) == []


def test_dense_finds_paraphrases_keyword_cannot(tmp_path: Path, packaged_embeddings):
    db = Database(tmp_path / "db")
    memory = HybridMemory(
        DocumentStore(db), ChromaVectorIndex(tmp_path / "chroma"), packaged_embeddings
    )
    texts = {
        "m1": "My daughter just started learning the violin.",
        "m2": "We repainted the kitchen a pale green last weekend.",
        "m3": "The quarterly report is due on Friday.",
        "m4": "I bought a new mountain bike for the trails.",
    }
    memory.index(
        "u", [Document(doc_id=k, kind="message", text=v, source_ids=[k]) for k, v in texts.items()]
    )
    found = memory.recall("u", "Which musical instrument is my kid playing?", k=2)
    assert found[0].source_ids == ["m1"]
    found = memory.recall("u", "cycling equipment purchase", k=1)
    assert found[0].source_ids == ["m4"]
    # Reindexing the same documents adds nothing.
    assert (
        memory.index(
            "u", [Document(doc_id="m1", kind="message", text=texts["m1"], source_ids=["m1"])]
        )
        == []
    )
    assert memory.vectors.count("u") == 4  # type: ignore[attr-defined]
