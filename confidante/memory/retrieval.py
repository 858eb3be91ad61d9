"""Hybrid recall over a person's conversations: words, meaning, who spoke, and when.

Each message is ranked five ways and the rankings are fused by reciprocal rank:

- BM25 over the message, over the message with the one before it (the question it answers),
  and over the message with the one after it (what it led to);
- vector similarity of the message (Chroma);
- the episode it belongs to (messages close in time), ranked by BM25 over the whole episode
  and by its messages' meaning, with messages inside an episode in fused order: a good
  episode lifts its messages;
- when the query names a time ("last week", "in May 2023"), whether it was said then.

When the query names someone who speaks in the conversation, their own messages are ranked
(multi-party logs). Facts extracted from messages are ranked too, by words and by meaning;
each fact lifts the messages it came from ("extra keys") and can be recalled itself. Messages
found another way (``related``: the knowledge graph's facts about people the query names by
relation, see graph/expansion.py) are one more ranking. Among the first recollections, those
that speak to the same thing (alike vectors) are put newest first when the question asks about
the present, oldest first when it asks about before, whether or not a fact links them.
Measured on LoCoMo (``bench/locomo.py``); nothing here knows about that data set. This module
keeps the stores and indexes; the ranking maths is in ``ranking.py``.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from confidante.memory import ranking
from confidante.memory.cache import UserCache
from confidante.memory.documents import Document, DocumentStore
from confidante.memory.lexical import LexicalIndex, terms
from confidante.memory.pending import VectorBuffer
from confidante.memory.ranking import POOL, RECENCY_HEAD
from confidante.memory.vector import VectorIndex
from confidante.memory.when import Window, time_window
from confidante.records import Recollection

if TYPE_CHECKING:
    from langchain_core.embeddings import Embeddings


@dataclass
class _UserIndex:
    """In-memory keyword views of one user's memory, rebuilt from SQLite on first use."""

    episode_gap: timedelta
    messages: list[str] = field(default_factory=list)  # doc ids, in order
    number: dict[str, int] = field(default_factory=dict)
    speakers: list[str | None] = field(default_factory=list)
    episode_of: list[int] = field(default_factory=list)
    times: list[datetime | None] = field(default_factory=list)
    last_time: datetime | None = None
    text: LexicalIndex = field(default_factory=LexicalIndex)
    with_previous: LexicalIndex = field(default_factory=LexicalIndex)
    with_next: LexicalIndex = field(default_factory=LexicalIndex)
    episodes: LexicalIndex = field(default_factory=LexicalIndex)
    fact_ids: list[str] = field(default_factory=list)  # in order
    fact_sources: dict[str, list[str]] = field(default_factory=dict)  # fact id -> message ids
    fact_text: LexicalIndex = field(default_factory=LexicalIndex)
    replaced_by: dict[str, str] = field(default_factory=dict)  # fact doc id -> message id
    by_message_id: dict[str, int] = field(default_factory=dict)  # source message id -> number
    words: list[list[str]] = field(default_factory=list)

    def add(self, doc: Document) -> None:
        if doc.kind == "fact":
            self.fact_ids.append(doc.doc_id)
            self.fact_sources[doc.doc_id] = doc.source_ids
            self.fact_text.add(terms(doc.text))
            if doc.replaced_by is not None:
                self.replaced_by[doc.doc_id] = doc.replaced_by
            return
        words = terms(doc.text)
        new_episode = not self.messages or (
            doc.created_at is not None
            and self.last_time is not None
            and abs(doc.created_at - self.last_time) > self.episode_gap
        )
        if new_episode:
            self.episodes.add([])
        elif self.messages:  # the previous message's "with next" view gains these words
            previous = len(self.messages) - 1
            self.with_next.extend(previous, words)
        previous_words = [] if new_episode else self.words[-1]
        self.number[doc.doc_id] = len(self.messages)
        self.by_message_id.update((source, len(self.messages)) for source in doc.source_ids)
        self.messages.append(doc.doc_id)
        self.speakers.append(doc.speaker)
        self.episode_of.append(len(self.episodes) - 1)
        self.times.append(doc.created_at)
        self.text.add(words)
        self.with_previous.add(previous_words + words)
        self.with_next.add(words)
        self.episodes.extend(len(self.episodes) - 1, words)
        self.words.append(words)
        self.last_time = doc.created_at or self.last_time


@dataclass(frozen=True)
class _Query:
    """A query read against one user's index, before it is embedded."""

    user_id: str
    index: _UserIndex
    text: str
    unnamed: str  # without the names of speakers it mentions
    speaker: str | None  # the one speaker it is about, if any


class HybridMemory:
    """Indexes documents for a user and recalls the ones that fit a query.

    Vectors are written behind (``VectorBuffer``): ``index`` returns once the documents are in
    SQLite, and ``recall`` sees them at once. Call ``close`` (or ``flush``) to write the rest;
    after a crash, documents whose vectors were never written are embedded again on open.
    """

    def __init__(
        self,
        documents: DocumentStore,
        vectors: VectorIndex,
        embeddings: Embeddings,
        *,
        episode_gap: timedelta = timedelta(minutes=30),
        write_delay: float = 1.0,
        cached_users: int = 256,
    ) -> None:
        self.documents = documents
        self.vectors = vectors
        self.embeddings = embeddings
        self.episode_gap = episode_gap
        # Each user's in-memory index (BM25, episodes, speakers), rebuilt from SQLite if dropped.
        self._indexes: UserCache[_UserIndex] = UserCache(cached_users)
        self._lock = threading.RLock()
        self._buffer = VectorBuffer(
            vectors, on_flushed=documents.vectors_written, delay=write_delay
        )
        for user_id, unwritten in documents.unwritten().items():
            vectors_of = self.embeddings.embed_documents([d.text for d in unwritten])
            self._buffer.add(user_id, [d.doc_id for d in unwritten], vectors_of)

    def _index(self, user_id: str) -> _UserIndex:
        with self._lock:
            return self._indexes.load(user_id, lambda: self._load_index(user_id))

    def _load_index(self, user_id: str) -> _UserIndex:
        index = _UserIndex(self.episode_gap)
        for doc in self.documents.all(user_id):
            index.add(doc)
        return index

    def index(self, user_id: str, documents: Sequence[Document]) -> list[Document]:
        """Make documents recallable; ones already indexed are skipped. Returns the new ones."""
        known = self.documents.get(user_id, [d.doc_id for d in documents])
        fresh = [d for d in documents if d.doc_id not in known]
        if not fresh:
            return []
        # Embedded first: if that fails nothing is stored, so nothing is half-indexed.
        vectors = dict(
            zip(
                [d.doc_id for d in fresh],
                self.embeddings.embed_documents([d.text for d in fresh]),
                strict=True,
            )
        )
        # Stored and added to a loaded index under one lock, so that a concurrent first
        # recall (which loads the index from SQLite) cannot see them and then add them twice.
        # Their vectors are marked unwritten in the same transaction, then buffered.
        with self._lock:
            added = self.documents.add(user_id, fresh, vectors_unwritten=True)
            if (loaded := self._indexes.peek(user_id)) is not None:
                for doc in added:
                    loaded.add(doc)
            self._buffer.add(user_id, [d.doc_id for d in added], [vectors[d.doc_id] for d in added])
        return added

    def flush(self) -> None:
        """Write every buffered vector to the vector index now."""
        self._buffer.flush()

    def close(self) -> None:
        """Stop the background writer and write what it holds; safe to call twice."""
        self._buffer.close()

    def recall(
        self,
        user_id: str,
        query: str,
        k: int,
        *,
        exclude: frozenset[str] = frozenset(),
        now: datetime | None = None,
        related: Sequence[str] = (),
    ) -> list[Recollection]:
        """Up to ``k`` recollections for ``query``, best first, skipping doc ids in ``exclude``.

        Relative times in the query ("last week") count back from ``now`` (default: now).
        ``related`` ranks message ids found another way (the knowledge graph's facts about the
        people the query names, best first) with the rest.
        """
        query_parts = self._query_parts(user_id, query)
        vector = self.embeddings.embed_query(query_parts.unnamed)
        return self._recalled(query_parts, vector, k, exclude, now, related)

    async def arecall(
        self,
        user_id: str,
        query: str,
        k: int,
        *,
        exclude: frozenset[str] = frozenset(),
        now: datetime | None = None,
        related: Sequence[str] = (),
    ) -> list[Recollection]:
        """``recall`` for the event loop: the query is embedded by ``aembed_query``.

        LangChain's default runs ``embed_query`` in a worker thread, where a model releases
        the GIL while it computes, so other requests go on meanwhile; an embedder that costs
        nothing (the test stand-in) answers at once.
        """
        query_parts = self._query_parts(user_id, query)
        vector = await self.embeddings.aembed_query(query_parts.unnamed)
        return self._recalled(query_parts, vector, k, exclude, now, related)

    def _query_parts(self, user_id: str, query: str) -> _Query:
        index = self._index(user_id)
        # Speakers' names are in every message of theirs and in many addressed to them: in a
        # query they match nearly everything, and pull its vector towards them (measured on
        # LoCoMo: evidence in the top 10 of the dense ranking, multi-hop 0.27 -> 0.43).
        named = ranking.speakers_named(query, index.speakers)
        # A query about one speaker (multi-party logs) ranks only their messages.
        speaker = next(iter(named)) if len(named) == 1 else None
        return _Query(user_id, index, query, ranking.without_names(query, named), speaker)

    def _recalled(
        self,
        q: _Query,
        vector: list[float],
        k: int,
        exclude: frozenset[str],
        now: datetime | None,
        related: Sequence[str],
    ) -> list[Recollection]:
        dense = self._buffer.search(q.user_id, vector, 2 * POOL)
        window = time_window(q.text, now or datetime.now(UTC))
        with self._lock:
            ranked = self._rank(
                q.index,
                q.text,
                q.unnamed,
                q.speaker,
                [doc_id for doc_id, _ in dense],
                window,
                related,
            )
        wanted = [(doc_id, score) for doc_id, score in ranked if doc_id not in exclude]
        found = self.documents.get(q.user_id, [doc_id for doc_id, _ in wanted[: 3 * k]])
        chosen = ranking.select(wanted, found, k)
        # A question naming a time is about then; one about an event, about that event.
        asked = ranking.tense(q.text) if window is None else None
        if asked is not None:
            chosen = self._in_time_order(q.user_id, chosen, asked)
        return [_recollection(doc, score) for doc, score in chosen]

    def _in_time_order(
        self,
        user_id: str,
        chosen: list[tuple[Document, float]],
        asked: ranking.Tense,
    ) -> list[tuple[Document, float]]:
        """The chosen documents, the best of which that speak to the same thing in time order.

        Only their order changes, not which are recalled (see ``ranking.time_ordered``).
        """
        times = {
            doc.doc_id: doc.created_at
            for doc, _ in chosen[:RECENCY_HEAD]
            if doc.created_at is not None
        }
        if len(times) < 2:
            return chosen
        by_id = {doc.doc_id: doc for doc, _ in chosen}
        ordered = ranking.time_ordered(
            [(doc.doc_id, score) for doc, score in chosen],
            self._buffer.vectors(user_id, list(times)),  # the newest may not be written yet
            times,
            asked,
        )
        return [(by_id[doc_id], score) for doc_id, score in ordered]

    def _rank(
        self,
        index: _UserIndex,
        query: str,
        unnamed: str,
        speaker: str | None,
        dense: list[str],
        window: Window | None,
        related: Sequence[str] = (),
    ) -> list[tuple[str, float]]:
        words = terms(unnamed)
        allowed = ranking.messages_of(index.speakers, speaker)
        facts = self._rank_facts(index, words, dense)
        lists = {
            "text": ranking.top_scored(index.text.scores(words), allowed),
            "with_previous": ranking.top_scored(index.with_previous.scores(words), allowed),
            "with_next": ranking.top_scored(index.with_next.scores(words), allowed),
            "dense": ranking.known_messages(dense, index.number, allowed)[:POOL],
            "facts": ranking.fact_source_messages(
                facts, index.fact_sources, index.by_message_id, allowed
            ),
            "graph": ranking.known_messages(related[:POOL], index.by_message_id, allowed),
        }
        fused = ranking.fuse_messages(lists)
        by_episode = ranking.episode_order(
            fused,
            index.episode_of,
            index.episodes.scores(words),
            [lists["dense"], lists["graph"]],
            allowed,
        )
        ids = index.messages
        ranked = ranking.blend(
            messages=[ids[n] for n, _ in fused],
            by_episode=[ids[n] for n in by_episode],
            facts=facts,
            in_window=[ids[n] for n in ranking.said_within(fused, index.times, window)],
            many=ranking.asks_for_many(query),
        )
        newer = ranking.replacements(
            index.replaced_by, index.fact_sources, index.by_message_id, index.messages
        )
        return ranking.rescored([d for d, _ in ranking.newest_first(ranked, newer)], ranked)

    def _rank_facts(self, index: _UserIndex, words: list[str], dense: list[str]) -> list[str]:
        lexical = [
            index.fact_ids[n] for n in ranking.top_scored(index.fact_text.scores(words), None)
        ]
        semantic = [d for d in dense if d in index.fact_sources]
        return ranking.rank_facts(lexical, semantic, index.replaced_by)

    def retire(self, user_id: str, replaced_by: Mapping[str, str]) -> None:
        """Mark facts (doc ids) that newer statements (message ids) replaced.

        They are still recalled, as history, but never ahead of what replaced them.
        """
        if not replaced_by:
            return
        with self._lock:
            self.documents.retire(user_id, replaced_by)
            if (loaded := self._indexes.peek(user_id)) is not None:
                loaded.replaced_by.update(replaced_by)

    def delete(self, user_id: str, doc_ids: Sequence[str] | None = None) -> int:
        """Forget documents by id (every one of the user's when None); returns how many."""
        self._buffer.delete(user_id, doc_ids)
        removed = self.documents.delete(user_id, doc_ids)
        with self._lock:
            self._indexes.pop(user_id)  # rebuilt from what is left on next use
        return removed


def _recollection(doc: Document, score: float) -> Recollection:
    return Recollection(
        id=doc.doc_id,
        text=doc.text,
        kind=doc.kind,
        score=score,
        source_ids=doc.source_ids,
        created_at=doc.created_at,
    )
