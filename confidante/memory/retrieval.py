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
relation, see graph/expansion.py) are one more ranking.
Measured on LoCoMo (``bench/locomo.py``); nothing here knows about that data set.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from langchain_core.embeddings import Embeddings

from confidante.memory.documents import Document, DocumentStore
from confidante.memory.lexical import LexicalIndex, terms
from confidante.memory.pending import VectorBuffer
from confidante.memory.vector import VectorIndex
from confidante.memory.when import Window, time_window
from confidante.records import Recollection

Id = TypeVar("Id", bound=Hashable)  # a ranked item: a document id, an episode number

# Reciprocal rank fusion constant: small, so agreement near the top of lists counts most.
RRF_K = 10
# How much each ranking counts in the fusion (measured on LoCoMo, see bench/locomo.py). With
# speakers' names out of its query, meaning is the best single ranking for questions that
# gather things said months apart; the graph's leads count as much.
WEIGHTS = {
    "text": 1.5,
    "dense": 3.0,
    "with_previous": 1.5,
    "with_next": 1.0,
    "facts": 2.0,
    "graph": 3.0,
}
EPISODE_WEIGHT = 1.0
# Questions that ask for several things ("What books has she read?", "In what ways...") have
# answers spread over many episodes: the episode prior counts less for them.
MANY_EPISODE_WEIGHT = 0.6
_ASKS_FOR_MANY = re.compile(
    r"^\s*(?:what|which)\s+(?:(?:kinds?|types?|sorts?)\s+of\s+)?(?:[a-z-]+\s+)?[a-z]+s\b"
    r"(?<!\bis)(?<!\bwas)(?<!\bdoes)(?<!\bhas)"
    r"|\b(?:what\s+are\s+some|in\s+what\s+ways|what\s+are\s+the|some\s+of)\b|\bhow\s+many\b",
    re.IGNORECASE,
)
# How much being said in the time a query names ("last week", "in May 2023") counts.
TIME_WEIGHT = 1.5
# How much a fact competes with messages for a place among the recollections.
FACT_ITEM_WEIGHT = 0.5
# Candidates each ranking contributes.
POOL = 150


def reciprocal_rank_fusion(
    rankings: Sequence[Sequence[Id]], weights: Sequence[float] | None = None, k: int = RRF_K
) -> list[tuple[Id, float]]:
    """Fuse ranked id lists: each id scores the sum of weight / (k + rank) over lists."""
    scores: dict[Id, float] = {}
    for i, ranking in enumerate(rankings):
        weight = 1.0 if weights is None else weights[i]
        for rank, doc_id in enumerate(ranking, start=1):
            scores[doc_id] = scores.get(doc_id, 0.0) + weight / (k + rank)
    return sorted(scores.items(), key=lambda item: item[1], reverse=True)


def _ranked(scores: dict[int, float], allowed: set[int] | None, limit: int = POOL) -> list[int]:
    items = [(n, s) for n, s in scores.items() if allowed is None or n in allowed]
    items.sort(key=lambda item: item[1], reverse=True)
    return [n for n, _ in items[:limit]]


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
    facts: list[Document] = field(default_factory=list)
    fact_number: dict[str, int] = field(default_factory=dict)
    fact_text: LexicalIndex = field(default_factory=LexicalIndex)
    replaced_by: dict[str, str] = field(default_factory=dict)  # fact doc id -> message id
    by_message_id: dict[str, int] = field(default_factory=dict)  # source message id -> number
    words: list[list[str]] = field(default_factory=list)

    def add(self, doc: Document) -> None:
        if doc.kind == "fact":
            self.fact_number[doc.doc_id] = len(self.facts)
            self.facts.append(doc)
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
    ) -> None:
        self.documents = documents
        self.vectors = vectors
        self.embeddings = embeddings
        self.episode_gap = episode_gap
        self._indexes: dict[str, _UserIndex] = {}
        self._lock = threading.RLock()
        self._buffer = VectorBuffer(
            vectors, on_flushed=documents.vectors_written, delay=write_delay
        )
        for user_id, unwritten in documents.unwritten().items():
            vectors_of = self.embeddings.embed_documents([d.text for d in unwritten])
            self._buffer.add(user_id, [d.doc_id for d in unwritten], vectors_of)

    def _index(self, user_id: str) -> _UserIndex:
        with self._lock:
            if user_id not in self._indexes:
                index = _UserIndex(self.episode_gap)
                for doc in self.documents.all(user_id):
                    index.add(doc)
                self._indexes[user_id] = index
            return self._indexes[user_id]

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
            if user_id in self._indexes:
                for doc in added:
                    self._indexes[user_id].add(doc)
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
        index = self._index(user_id)
        # Speakers' names are in every message of theirs and in many addressed to them: in a
        # query they match nearly everything, and pull its vector towards them (measured on
        # LoCoMo: evidence in the top 10 of the dense ranking, multi-hop 0.27 -> 0.43).
        named = _speakers_named(query, index.speakers)
        unnamed = _without(query, named)
        # A query about one speaker (multi-party logs) ranks only their messages.
        speaker = next(iter(named)) if len(named) == 1 else None
        dense = self._buffer.search(user_id, self.embeddings.embed_query(unnamed), 2 * POOL)
        window = time_window(query, now or datetime.now(UTC))
        with self._lock:
            ranked = self._rank(
                index, query, unnamed, speaker, [doc_id for doc_id, _ in dense], window, related
            )
        wanted = [(doc_id, score) for doc_id, score in ranked if doc_id not in exclude]
        found = self.documents.get(user_id, [doc_id for doc_id, _ in wanted[: 3 * k]])
        return _select(wanted, found, k)

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
        allowed = {n for n, s in enumerate(index.speakers) if s == speaker} if speaker else None
        dense_messages = [index.number[d] for d in dense if d in index.number]
        if allowed is not None:
            dense_messages = [n for n in dense_messages if n in allowed]
        facts = self._rank_facts(index, words, dense)
        lists = {
            "text": _ranked(index.text.scores(words), allowed),
            "with_previous": _ranked(index.with_previous.scores(words), allowed),
            "with_next": _ranked(index.with_next.scores(words), allowed),
            "dense": dense_messages[:POOL],
            "facts": _fact_sources(index, facts, allowed),
            "graph": [
                n
                for n in (index.by_message_id.get(m) for m in related[:POOL])
                if n is not None and (allowed is None or n in allowed)
            ],
        }
        names = list(lists)
        fused = reciprocal_rank_fusion(
            [[index.messages[n] for n in lists[name]] for name in names],
            [WEIGHTS[name] for name in names],
        )
        by_episode = _episode_order(index, words, fused, allowed, [lists["dense"], lists["graph"]])
        many = bool(_ASKS_FOR_MANY.search(query))
        in_window = [
            d
            for d, _ in fused
            if window is not None
            and (t := index.times[index.number[d]]) is not None
            and t in window
        ]
        ranked = reciprocal_rank_fusion(
            [[d for d, _ in fused], by_episode, facts, in_window],
            [1.0, MANY_EPISODE_WEIGHT if many else EPISODE_WEIGHT, FACT_ITEM_WEIGHT, TIME_WEIGHT],
        )
        return _newest_first(index, ranked)

    def _rank_facts(self, index: _UserIndex, words: list[str], dense: list[str]) -> list[str]:
        lexical = [index.facts[n].doc_id for n in _ranked(index.fact_text.scores(words), None)]
        semantic = [d for d in dense if d in index.fact_number]
        ranked = [d for d, _ in reciprocal_rank_fusion([lexical, semantic])]
        # What is true now outranks what it replaced ("I moved to Berlin" before "I live in Paris").
        return [d for d in ranked if d not in index.replaced_by] + [
            d for d in ranked if d in index.replaced_by
        ]

    def retire(self, user_id: str, replaced_by: Mapping[str, str]) -> None:
        """Mark facts (doc ids) that newer statements (message ids) replaced.

        They are still recalled, as history, but never ahead of what replaced them.
        """
        if not replaced_by:
            return
        with self._lock:
            self.documents.retire(user_id, replaced_by)
            if user_id in self._indexes:
                self._indexes[user_id].replaced_by.update(replaced_by)

    def delete(self, user_id: str, doc_ids: Sequence[str] | None = None) -> int:
        """Forget documents by id (every one of the user's when None); returns how many."""
        self._buffer.delete(user_id, doc_ids)
        removed = self.documents.delete(user_id, doc_ids)
        with self._lock:
            self._indexes.pop(user_id, None)  # rebuilt from what is left on next use
        return removed


def _speakers_named(query: str, speakers: Iterable[str | None]) -> set[str]:
    """The speakers of the conversation that the query names by first name."""
    lowered = query.lower()
    return {
        s
        for s in set(speakers)
        if s and re.search(rf"\b{re.escape(s.split()[0].lower())}\b", lowered)
    }


def _without(query: str, speakers: Iterable[str]) -> str:
    """The query with the speakers' first names taken out."""
    for speaker in speakers:
        query = re.sub(rf"\b{re.escape(speaker.split()[0])}\b", " ", query, flags=re.IGNORECASE)
    return query


def _fact_sources(index: _UserIndex, facts: list[str], allowed: set[int] | None) -> list[int]:
    """Messages in the order their facts rank: facts as extra keys to their source turns."""
    order: list[int] = []
    seen: set[int] = set()
    for fact_id in facts[:POOL]:
        for source in index.facts[index.fact_number[fact_id]].source_ids:
            number = index.by_message_id.get(source)
            if number is None or number in seen or (allowed is not None and number not in allowed):
                continue
            seen.add(number)
            order.append(number)
    return order


def _episode_order(
    index: _UserIndex,
    words: list[str],
    fused: list[tuple[str, float]],
    allowed: set[int] | None,
    rankings: Sequence[Sequence[int]],
) -> list[str]:
    """Messages sorted by their episode's rank, then by their fused rank inside it.

    Episodes are ranked by their words (BM25 over the whole episode) and by the messages of
    each of ``rankings`` (meaning, the graph's leads): the episode of each, best first.
    """
    by_words = _ranked(index.episodes.scores(words), None, len(index.episodes))
    by_messages = [list(dict.fromkeys(index.episode_of[n] for n in r)) for r in rankings]
    fused_episodes = reciprocal_rank_fusion([by_words, *by_messages])
    episode_rank = {e: r for r, (e, _) in enumerate(fused_episodes)}
    fused_rank = {d: r for r, (d, _) in enumerate(fused)}
    candidates = [d for d in fused_rank if allowed is None or index.number[d] in allowed]
    unranked = len(episode_rank)
    candidates.sort(
        key=lambda d: (episode_rank.get(index.episode_of[index.number[d]], unranked), fused_rank[d])
    )
    return candidates[:POOL]


def _newest_first(index: _UserIndex, ranked: list[tuple[str, float]]) -> list[tuple[str, float]]:
    """Move each message that replaced an older statement up to just before that statement.

    "I moved to Berlin" then outranks "I live in Paris" whenever both are recalled, however
    the words of a query happen to match; the old statement stays, as history.
    """
    newer: dict[str, str] = {}  # message doc id of an old statement -> of the one replacing it
    for fact_id, message_id in index.replaced_by.items():
        replacing = index.by_message_id.get(message_id)
        if replacing is None:
            continue
        for source in index.facts[index.fact_number[fact_id]].source_ids:
            old = index.by_message_id.get(source)
            if old is not None and old != replacing:
                newer[index.messages[old]] = index.messages[replacing]
    order = list(ranked)
    for _ in range(len(newer)):  # enough passes for chains: Paris -> Berlin -> Rome
        position = {doc_id: i for i, (doc_id, _) in enumerate(order)}
        moves = [
            (position[o], position[n])
            for o, n in newer.items()
            if o in position and n in position and position[n] > position[o]
        ]
        if not moves:
            break
        old_at, new_at = min(moves)
        order.insert(old_at, order.pop(new_at))
    return order


def _select(
    ranked: list[tuple[str, float]], found: dict[str, Document], k: int
) -> list[Recollection]:
    recollections: list[Recollection] = []
    covered: set[str] = set()
    for doc_id, score in ranked:
        doc = found.get(doc_id)
        if doc is None:
            continue
        # A fact whose sources are all shown already adds nothing but words.
        if doc.kind == "fact" and set(doc.source_ids) <= covered:
            continue
        covered.update(doc.source_ids)
        recollections.append(
            Recollection(
                id=doc.doc_id,
                text=doc.text,
                kind=doc.kind,
                score=score,
                source_ids=doc.source_ids,
                created_at=doc.created_at,
            )
        )
        if len(recollections) == k:
            break
    return recollections
