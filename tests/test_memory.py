"""Hybrid memory on real Chroma, SQLite FTS5 and the packaged MiniLM embedder."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from confidante.database import Database
from confidante.memory.chroma import ChromaVectorIndex
from confidante.memory.documents import Document, DocumentStore
from confidante.memory.lexical import LexicalIndex, terms
from confidante.memory.ranking import reciprocal_rank_fusion
from confidante.memory.retrieval import HybridMemory


def test_reciprocal_rank_fusion_rewards_agreement():
    fused = reciprocal_rank_fusion([["a", "b", "c"], ["b", "d"]], k=60)
    assert [doc for doc, _ in fused][:2] == ["b", "a"]
    assert fused[0][1] == 1 / 62 + 1 / 61
    weighted = reciprocal_rank_fusion([["a"], ["b"]], [1.0, 2.0])
    assert [doc for doc, _ in weighted] == ["b", "a"]


def test_lexical_index_matches_word_forms_and_skips_stopwords():
    index = LexicalIndex()
    index.add(terms("I went running in the park"))
    index.add(terms("The cat sleeps all day"))
    assert set(index.scores(terms("does she run?"))) == {0}
    assert index.scores(terms("the and of")) == {}
    index.extend(1, terms("then it went running off"))
    assert set(index.scores(terms("running"))) == {0, 1}


def test_rare_words_outrank_common_ones():
    index = LexicalIndex()
    for text in ["pizza tonight", "pizza again", "pizza and sushi", "sushi place"]:
        index.add(terms(text))
    scores = index.scores(terms("sushi pizza"))
    assert max(scores, key=lambda n: scores[n]) == 2


def test_speaker_named_in_the_query_ranks_their_own_turns(tmp_path: Path):
    from confidante.testing import HashEmbedder

    memory = HybridMemory(
        DocumentStore(Database(tmp_path / "db")), ChromaVectorIndex(tmp_path / "c"), HashEmbedder()
    )
    memory.index(
        "u",
        [
            Document(
                doc_id="a",
                kind="message",
                text="Ana: I adore painting",
                source_ids=["a"],
                speaker="Ana",
            ),
            Document(
                doc_id="b",
                kind="message",
                text="Bo: painting painting is my thing",
                source_ids=["b"],
                speaker="Bo",
            ),
        ],
    )
    assert [r.id for r in memory.recall("u", "What does Ana like painting?", k=1)] == ["a"]
    assert [r.id for r in memory.recall("u", "What does bo paint?", k=1)] == ["b"]


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
    memory.flush()  # vectors are written behind, in batches
    assert memory.vectors.count("u") == 4  # type: ignore[attr-defined]


def test_speakers_named_in_a_query_do_not_steer_its_meaning(tmp_path: Path, packaged_embeddings):
    # Every message of a speaker carries their name, and friends name each other all the time:
    # left in the query, the names pull its vector towards the chit-chat that names them.
    memory = HybridMemory(
        DocumentStore(Database(tmp_path / "db")),
        ChromaVectorIndex(tmp_path / "chroma"),
        packaged_embeddings,
    )
    said = [
        ("Ana", "Thanks, Bo! You're the best, Bo."),
        ("Bo", "Anytime, Ana! Great talking to you, Ana."),
        ("Ana", "Bo, you always cheer me up. Talk soon, Bo!"),
        ("Bo", "Ana, same here. Take care, Ana!"),
        ("Ana", "I walk my two terriers every morning before work."),
        ("Bo", "My tabby cat naps on the keyboard all afternoon."),
        ("Ana", "Good to hear from you, Bo. Say hi to everyone, Bo!"),
        ("Bo", "Will do, Ana! Hugs to you and yours, Ana."),
    ]
    memory.index(
        "u",
        [
            Document(
                doc_id=f"m{n}",
                kind="message",
                text=f"{speaker}: {text}",
                source_ids=[f"m{n}"],
                speaker=speaker,
            )
            for n, (speaker, text) in enumerate(said)
        ],
    )
    found = memory.recall("u", "Which animals do Ana and Bo keep?", k=2)
    assert {r.id for r in found} == {"m4", "m5"}


def test_a_question_about_now_recalls_the_newest_of_a_topic_first(
    tmp_path: Path, packaged_embeddings
):
    # No fact links these: only their meaning says the second replaces the first.
    memory = HybridMemory(
        DocumentStore(Database(tmp_path / "db")),
        ChromaVectorIndex(tmp_path / "chroma"),
        packaged_embeddings,
    )
    now = datetime(2026, 3, 1, tzinfo=UTC)
    said = [
        (90, "I work as a barista in a little coffee shop by the station."),
        (60, "The neighbours' dog barked all night again."),
        (30, "We watched a documentary about octopuses, so clever."),
        (3, "Big news: the county hospital hired me as a radiology technician!"),
    ]
    memory.index(
        "u",
        [
            Document(
                doc_id=f"m{n}",
                kind="message",
                text=text,
                source_ids=[f"m{n}"],
                created_at=now - timedelta(days=days_ago),
            )
            for n, (days_ago, text) in enumerate(said)
        ],
    )
    for query, first in [
        ("What is my job?", "m3"),
        ("Where do I work now?", "m3"),
        ("What job did I have before?", "m0"),
        ("Where did I use to work?", "m0"),
    ]:
        found = memory.recall("u", query, k=4, now=now)
        assert found[0].id == first, query
        scores = [r.score for r in found]
        assert scores == sorted(scores, reverse=True), query
    memory.flush()  # written vectors are compared as well as buffered ones
    assert memory.recall("u", "What is my job?", k=4, now=now)[0].id == "m3"
