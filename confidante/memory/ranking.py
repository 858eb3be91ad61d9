"""The ranking maths of recall: fusing rankings of messages and facts into one order.

Pure functions over candidate lists, score dicts and plain per-message data (speakers, times,
episode numbers, source ids); nothing here reads a store or an embedder. ``HybridMemory``
(``retrieval.py``) scores candidates with its indexes and hands them here.

Messages are numbered in the order they were said (0, 1, ...) and ranked as numbers; the
final ranking, where facts compete with messages, is over document ids.
"""

from __future__ import annotations

import re
from collections.abc import Container, Hashable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Literal, Protocol, TypeVar

import numpy as np

from confidante.memory.when import Window

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
# The first recollections, among which those that speak to the same thing are put in time
# order (deeper, the newest of a long talk about one topic pushed down what a question about
# one moment needs), and how alike (cosine similarity of their vectors) two must be to speak to
# the same thing: a change of state often shares no word with what it changes.
RECENCY_HEAD = 5
SAME_TOPIC = 0.25

Tense = Literal["present", "past"]
# Words that turn a question to what was true before ("Where did I use to live?", "my old job",
# "What did I do previously?"): the oldest of what speaks to the same thing ranks first.
_PAST = re.compile(
    r"\b(?:before|previously|formerly|originally|used\s+to|did\s+(?:\S+\s+){1,3}use\s+to"
    r"|at\s+first|back\s+then"
    r"|in\s+the\s+past|no\s+longer|any\s?more|ex"
    r"|(?:my|our|your|his|her|their|the)\s+(?:old|former|previous|prior|original)"
    r"|(?:my|our|your|his|her|their)\s+last(?!\s+name))\b",
    re.IGNORECASE,
)
# Words that ask about now, whatever the verb's tense ("What did I say I do now?").
_NOW = re.compile(
    r"\b(?:now|nowadays|currently|current|presently|still|these\s+days|at\s+the\s+moment"
    r"|at\s+present)\b",
    re.IGNORECASE,
)
# A question in the simple past ("When did I move?") asks about an event, not the present.
_PAST_VERB = re.compile(r"\b(?:did|was|were|had)(?:n['’]t)?\b", re.IGNORECASE)
# A question, not a lookup: "peanut allergy" or a note's words are found as said, in the order
# their words and meaning rank them.
_QUESTION = re.compile(
    r"\?\s*$|^\W*(?:what|where|who|whom|whose|which|when|how|why|do|does|did|is|are|am|was|were"
    r"|have|has|can|could|will|would|should|tell\s+me|remind\s+me)\b",
    re.IGNORECASE,
)


class Selectable(Protocol):
    """What ``select`` reads of a candidate document."""

    @property
    def kind(self) -> str:
        """``"message"`` or ``"fact"``."""
        ...

    @property
    def source_ids(self) -> Sequence[str]:
        """The messages it came from."""
        ...


Candidate = TypeVar("Candidate", bound=Selectable)  # a document that select() may choose


def reciprocal_rank_fusion(
    rankings: Sequence[Sequence[Id]], weights: Sequence[float] | None = None, k: int = RRF_K
) -> list[tuple[Id, float]]:
    """Fuse ranked id lists: each id scores the sum of weight / (k + rank) over lists.

    Best first; ids that tie keep the order in which the lists first named them.
    """
    scores: dict[Id, float] = {}
    for i, ranking in enumerate(rankings):
        weight = 1.0 if weights is None else weights[i]
        for rank, doc_id in enumerate(ranking, start=1):
            scores[doc_id] = scores.get(doc_id, 0.0) + weight / (k + rank)
    return sorted(scores.items(), key=lambda item: item[1], reverse=True)


def top_scored(
    scores: Mapping[int, float], allowed: Container[int] | None, limit: int = POOL
) -> list[int]:
    """The ``limit`` best-scored numbers among ``allowed`` (all when None), best first."""
    items = [(n, s) for n, s in scores.items() if allowed is None or n in allowed]
    items.sort(key=lambda item: item[1], reverse=True)
    return [n for n, _ in items[:limit]]


def speakers_named(query: str, speakers: Iterable[str | None]) -> set[str]:
    """The speakers of the conversation that the query names by first name."""
    lowered = query.lower()
    return {
        s
        for s in set(speakers)
        if s and re.search(rf"\b{re.escape(s.split()[0].lower())}\b", lowered)
    }


def without_names(query: str, speakers: Iterable[str]) -> str:
    """The query with the speakers' first names taken out."""
    for speaker in speakers:
        query = re.sub(rf"\b{re.escape(speaker.split()[0])}\b", " ", query, flags=re.IGNORECASE)
    return query


def asks_for_many(query: str) -> bool:
    """Whether the query asks for several things, whose answers span many episodes."""
    return bool(_ASKS_FOR_MANY.search(query))


def messages_of(speakers: Sequence[str | None], speaker: str | None) -> set[int] | None:
    """The numbers of the messages ``speaker`` said; None (every message) when no speaker."""
    return {n for n, s in enumerate(speakers) if s == speaker} if speaker else None


def known_messages(
    ids: Iterable[str], number: Mapping[str, int], allowed: Container[int] | None
) -> list[int]:
    """The message numbers of ``ids``, in order, skipping unknown ids and ones not allowed."""
    return [
        n
        for n in (number.get(i) for i in ids)
        if n is not None and (allowed is None or n in allowed)
    ]


def rank_facts(
    lexical: Sequence[str], semantic: Sequence[str], replaced: Container[str]
) -> list[str]:
    """Fact ids fused from their word and meaning rankings, the ones still true first.

    What is true now outranks what it replaced ("I moved to Berlin" before "I live in Paris").
    """
    ranked = [d for d, _ in reciprocal_rank_fusion([lexical, semantic])]
    return [d for d in ranked if d not in replaced] + [d for d in ranked if d in replaced]


def fact_source_messages(
    facts: Sequence[str],
    sources_of: Mapping[str, Sequence[str]],
    by_source: Mapping[str, int],
    allowed: Container[int] | None,
) -> list[int]:
    """Messages in the order their facts rank: facts as extra keys to their source turns.

    ``sources_of`` maps a fact id to the message ids it came from, ``by_source`` a message id
    to its number; each message is listed once, for its best fact.
    """
    order: list[int] = []
    seen: set[int] = set()
    for fact_id in facts[:POOL]:
        for source in sources_of[fact_id]:
            number = by_source.get(source)
            if number is None or number in seen or (allowed is not None and number not in allowed):
                continue
            seen.add(number)
            order.append(number)
    return order


def fuse_messages(
    rankings: Mapping[str, Sequence[int]], weights: Mapping[str, float] = WEIGHTS
) -> list[tuple[int, float]]:
    """Fuse the rankings of message numbers, each by the weight of its name, best first."""
    names = list(rankings)
    return reciprocal_rank_fusion([rankings[n] for n in names], [weights[n] for n in names])


def episode_order(
    fused: Sequence[tuple[int, float]],
    episode_of: Sequence[int],
    episode_scores: Mapping[int, float],
    rankings: Sequence[Sequence[int]],
    allowed: Container[int] | None,
) -> list[int]:
    """Messages sorted by their episode's rank, then by their fused rank inside it.

    Episodes are ranked by their words (``episode_scores``, BM25 over the whole episode) and
    by the messages of each of ``rankings`` (meaning, the graph's leads): the episode of each,
    best first. ``episode_of`` gives a message number's episode number.
    """
    by_words = top_scored(episode_scores, None, len(episode_scores))
    by_messages = [list(dict.fromkeys(episode_of[n] for n in r)) for r in rankings]
    fused_episodes = reciprocal_rank_fusion([by_words, *by_messages])
    episode_rank = {e: r for r, (e, _) in enumerate(fused_episodes)}
    fused_rank = {n: r for r, (n, _) in enumerate(fused)}
    candidates = [n for n in fused_rank if allowed is None or n in allowed]
    unranked = len(episode_rank)  # messages of episodes no ranking named come last
    candidates.sort(key=lambda n: (episode_rank.get(episode_of[n], unranked), fused_rank[n]))
    return candidates[:POOL]


def said_within(
    fused: Sequence[tuple[int, float]], times: Sequence[datetime | None], window: Window | None
) -> list[int]:
    """The fused messages said within ``window`` (none when None), in fused order."""
    return [
        n for n, _ in fused if window is not None and (t := times[n]) is not None and t in window
    ]


def blend(
    *,
    messages: Sequence[str],
    by_episode: Sequence[str],
    facts: Sequence[str],
    in_window: Sequence[str],
    many: bool,
) -> list[tuple[str, float]]:
    """The final ranking of document ids: fused messages, lifted by their episode and time.

    Facts compete with messages for a place; ``many`` (the query asks for several things)
    weakens the episode prior, since such answers are spread over many episodes.
    """
    return reciprocal_rank_fusion(
        [messages, by_episode, facts, in_window],
        [1.0, MANY_EPISODE_WEIGHT if many else EPISODE_WEIGHT, FACT_ITEM_WEIGHT, TIME_WEIGHT],
    )


def replacements(
    replaced_by: Mapping[str, str],
    sources_of: Mapping[str, Sequence[str]],
    by_source: Mapping[str, int],
    message_ids: Sequence[str],
) -> dict[str, str]:
    """Message doc id of each old statement -> doc id of the message that replaced it.

    ``replaced_by`` maps a retired fact id to the message id that replaced it, ``sources_of``
    a fact id to the message ids it came from, ``by_source`` a message id to its number, and
    ``message_ids`` a number to its doc id.
    """
    newer: dict[str, str] = {}
    for fact_id, message_id in replaced_by.items():
        replacing = by_source.get(message_id)
        if replacing is None:
            continue
        for source in sources_of[fact_id]:
            old = by_source.get(source)
            if old is not None and old != replacing:
                newer[message_ids[old]] = message_ids[replacing]
    return newer


def newest_first(
    ranked: Sequence[tuple[str, float]], newer: Mapping[str, str]
) -> list[tuple[str, float]]:
    """Move each message that replaced an older statement up to just before that statement.

    ``newer`` maps an old statement's doc id to the one replacing it (see ``replacements``).
    "I moved to Berlin" then outranks "I live in Paris" whenever both are recalled, however
    the words of a query happen to match; the old statement stays, as history.
    """
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


def tense(query: str) -> Tense | None:
    """Whether the query asks about the present, about before, or (None) about an event.

    Only questions ask: a query of keywords ("peanut allergy") is None.

    "Where do I live?" and "What will I do?" ask about the present; "Where did I use to live?"
    about before; "When did I move?" about an event, which no order of time answers better.
    """
    if not _QUESTION.search(query):
        return None
    if _PAST.search(query):
        return "past"
    if _NOW.search(query) or not _PAST_VERB.search(query):
        return "present"
    return None


def same_topic(vectors: np.ndarray, threshold: float = SAME_TOPIC) -> list[list[int]]:
    """Groups of row numbers whose vectors are alike: cosine similarity above ``threshold``.

    Alike is transitive (a group is a connected component); each group lists its rows in
    order, groups in the order of their first row; rows alike to no other are left out.
    """
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    unit = vectors / np.where(norms == 0, 1.0, norms)
    alike = (unit @ unit.T) > threshold
    group = list(range(len(unit)))  # union-find: each row's representative

    def root(row: int) -> int:
        while group[row] != row:
            group[row] = group[group[row]]
            row = group[row]
        return row

    for a, b in zip(*np.nonzero(np.triu(alike, 1)), strict=True):
        group[root(int(b))] = root(int(a))
    members: dict[int, list[int]] = {}
    for row in range(len(unit)):
        members.setdefault(root(row), []).append(row)
    return [rows for rows in members.values() if len(rows) > 1]


def in_time_order(
    ids: Sequence[str], groups: Iterable[Sequence[int]], times: Mapping[str, datetime], tense: Tense
) -> list[str]:
    """``ids`` with each group's members in time order, in the places the group holds.

    Newest first for the present, oldest first for the past; ties keep their order. ``groups``
    lists positions in ``ids``, each of an id in ``times``.
    """
    order = list(ids)
    sign = -1 if tense == "present" else 1
    for group in groups:
        by_time = sorted(group, key=lambda p: (sign * times[ids[p]].timestamp(), p))
        for place, p in zip(sorted(group), by_time, strict=True):
            order[place] = ids[p]
    return order


def rescored(order: Sequence[str], ranked: Sequence[tuple[str, float]]) -> list[tuple[str, float]]:
    """The ids of ``order`` (a reordering of ``ranked``) with ``ranked``'s scores, best first.

    Each place keeps its score, so scores fall as the order goes whatever moved.
    """
    scores = sorted((score for _, score in ranked), reverse=True)
    return list(zip(order, scores, strict=True))


def time_ordered(
    ranked: Sequence[tuple[str, float]],
    vectors: Mapping[str, Sequence[float]],
    times: Mapping[str, datetime],
    tense: Tense,
    threshold: float = SAME_TOPIC,
) -> list[tuple[str, float]]:
    """``ranked`` with what speaks to the same thing in time order, and scores that agree.

    Ids with a vector and a time (the caller gives them for the best few) are grouped by
    ``same_topic``; each group is put newest first for a question about the present ("they
    made me head chef" before "I'm a line cook" for "What is my job?", though the older one
    matches its words better), oldest first for one about before.
    """
    ids = [doc_id for doc_id, _ in ranked]
    places = [i for i, doc_id in enumerate(ids) if doc_id in vectors and doc_id in times]
    if len(places) < 2:
        return list(ranked)
    rows = np.asarray([vectors[ids[i]] for i in places], dtype=np.float32)
    groups = [[places[row] for row in group] for group in same_topic(rows, threshold)]
    return rescored(in_time_order(ids, groups, times, tense), ranked)


def select(
    ranked: Iterable[tuple[str, float]], found: Mapping[str, Candidate], k: int
) -> list[tuple[Candidate, float]]:
    """Up to ``k`` of the ranked documents that were found, in order, with their scores.

    A fact whose source messages are all among those chosen before it is skipped: it adds
    nothing but words.
    """
    chosen: list[tuple[Candidate, float]] = []
    covered: set[str] = set()
    for doc_id, score in ranked:
        doc = found.get(doc_id)
        if doc is None:
            continue
        if doc.kind == "fact" and set(doc.source_ids) <= covered:
            continue
        covered.update(doc.source_ids)
        chosen.append((doc, score))
        if len(chosen) == k:
            break
    return chosen
