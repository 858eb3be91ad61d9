"""Each user's knowledge graph: a NetworkX ``MultiDiGraph`` built from stored facts.

Nodes are entities (keyed by their case-folded name, so "Ana" and "ana" are one node); edges
are facts, keyed by fact id. A newer value of a single-valued relation closes the old edge
(``valid_to``/``expired_at``) instead of deleting it, so history stays answerable.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from confidante.graph.schema import PREDICATES, SELF, FactCandidate
from confidante.graph.store import FactStore
from confidante.memory.cache import UserCache
from confidante.records import Fact, new_id

if TYPE_CHECKING:
    import networkx as nx


def entity_key(name: str) -> str:
    """The node key of an entity: its name case-folded with spaces collapsed."""
    return " ".join(name.casefold().split())


@dataclass(frozen=True, kw_only=True)
class Observation:
    """A fact candidate together with where and when it was said."""

    candidate: FactCandidate
    source_id: str
    said_at: datetime


# Relations to people and pets: "Anil" and "Anil Mehta" are one person.
_NAMED = frozenset({"partner", "family", "friend", "pet"})
# A newer liking closes the older dislike of the same thing, and the other way round.
_OPPOSITE = {"likes": "dislikes", "dislikes": "likes"}


def _words(text: str) -> list[str]:
    """The words that name a value: no articles, plurals as singulars ("the eggs" -> egg)."""
    words = entity_key(text).replace("'s", "").split()
    return [w.removesuffix("s") for w in words if w not in ("a", "an", "the", "my", "our")]


def _same_value(fact: Fact, candidate: FactCandidate) -> bool:
    return entity_key(fact.object) == entity_key(candidate.object) and (fact.role or None) == (
        candidate.role or None
    )


def _names_value(fact: Fact, candidate: FactCandidate) -> bool:
    """Whether a closing or repeated statement speaks of ``fact``'s value, less strictly.

    "Miata" names "a 2008 Miata", "egg" names "eggs", "Cooper" names "a beagle named
    Cooper"; for people, a first name names the full name.
    """
    said, held = _words(candidate.object), _words(fact.object)
    if not said:
        return False
    if held[-len(said) :] == said:
        return True
    # "Anil" for "Anil Mehta"; "Paris" for "Paris, France".
    return held[: len(said)] == said and (fact.predicate in _NAMED or len(said) == 1)


class KnowledgeGraph:
    """Facts per user, reconciled over time, with a lazily built NetworkX view."""

    def __init__(self, store: FactStore, *, cached_users: int = 256) -> None:
        self._store = store
        self._graphs: UserCache[nx.MultiDiGraph] = UserCache(cached_users)
        self._lock = threading.RLock()

    def graph(self, user_id: str) -> nx.MultiDiGraph:
        """The user's graph, loaded from the store on first use."""
        with self._lock:
            return self._graphs.load(user_id, lambda: self._load(user_id))

    def _load(self, user_id: str) -> nx.MultiDiGraph:
        import networkx as nx  # slow import: only once a graph is needed

        graph = nx.MultiDiGraph(user_id=user_id, facts={})
        graph.add_node(SELF, label=SELF, aliases={SELF})
        for fact in self._store.facts(user_id):
            _add_edge(graph, fact)
        return graph

    def facts(self, user_id: str, *, current_only: bool = False) -> list[Fact]:
        """The user's facts in the order learned; only the ones still true if asked.

        Read from the store while no graph is built for the user: the graph holds exactly
        the store's facts in the store's order, and reading a profile (``confidante profile``)
        should not cost building one.
        """
        with self._lock:
            graph = self._graphs.peek(user_id)
            facts: list[Fact] = (
                self._store.facts(user_id) if graph is None else list(graph.graph["facts"].values())
            )
        return [f for f in facts if f.is_current] if current_only else facts

    def fact(self, user_id: str, fact_id: str) -> Fact | None:
        """One fact by id, or None."""
        return self.graph(user_id).graph["facts"].get(fact_id)

    def display_name(self, user_id: str, entity: str) -> str:
        """How to name an entity in a sentence: the user's own name if known."""
        if entity != SELF:
            return entity
        names = [
            f.object
            for f in self.facts(user_id, current_only=True)
            if f.subject == SELF and f.predicate == "name"
        ]
        return names[-1] if names else "The user"

    def learn(self, user_id: str, observations: Sequence[Observation]) -> list[Fact]:
        """Reconcile observations with what is known; return facts created or changed."""
        with self._lock:
            graph = self.graph(user_id)
            changed: dict[str, Fact] = {}
            for obs in observations:
                if obs.candidate.predicate not in PREDICATES:
                    continue  # an unplaced change (``CHANGED_TO``) says nothing by itself
                for fact in self._reconcile(user_id, graph, obs):
                    changed[fact.id] = fact
                    _add_edge(graph, fact)
            self._store.save(changed.values())
            return list(changed.values())

    def _reconcile(self, user_id: str, graph: nx.MultiDiGraph, obs: Observation) -> list[Fact]:
        cand = obs.candidate
        current = [
            data["fact"]
            for _, _, data in graph.out_edges(entity_key(cand.subject), data=True)
            if data["fact"].predicate == cand.predicate and data["fact"].is_current
        ]
        same = [f for f in current if _same_value(f, cand)]
        # "Anil" after "Anil Mehta" is the same person; "Sold the Miata" ends "a 2008 Miata".
        if not same and (cand.predicate in _NAMED or cand.negated):
            same = [f for f in current if _names_value(f, cand)]
        if cand.negated:
            # No value named ("I graduated", "we split up"): whatever holds now is closed. A
            # value named that is not held ("my time at Acme ends" while at Globex) closes none.
            targets = same or (current if not cand.object else [])
            return [_close(f, obs) for f in targets]
        if same:  # said again: one more source, more confidence, no new edge
            fact = same[0]
            if obs.source_id in fact.source_ids:
                return []
            return [
                fact.model_copy(
                    update={
                        "source_ids": [*fact.source_ids, obs.source_id],
                        "confidence": max(fact.confidence, cand.confidence),
                    }
                )
            ]
        closed = (
            [_close(f, obs) for f in current] if PREDICATES[cand.predicate].single_valued else []
        )
        if cand.predicate in _OPPOSITE:  # "I like cats now" after "I don't like cats"
            closed += [
                _close(f, obs)
                for _, _, data in graph.out_edges(entity_key(cand.subject), data=True)
                if (f := data["fact"]).predicate == _OPPOSITE[cand.predicate]
                and f.is_current
                and _words(f.object) == _words(cand.object)
            ]
        label = self.display_name(user_id, cand.subject) if cand.subject == SELF else cand.subject
        fact = Fact(
            id=new_id("fact"),
            user_id=user_id,
            subject=cand.subject,
            predicate=cand.predicate,
            object=cand.object,
            role=cand.role,
            statement=cand.statement(label),
            source_ids=[obs.source_id],
            confidence=cand.confidence,
            valid_from=cand.valid_from or obs.said_at,
            created_at=obs.said_at,
        )
        return [*closed, fact]

    def retire(self, user_id: str, fact_id: str, *, at: datetime, reason: str) -> Fact | None:
        """Close one current fact (kept as history, ``closed_by`` ``reason``); None if none."""
        with self._lock:
            fact = self.graph(user_id).graph["facts"].get(fact_id)
            if fact is None or not fact.is_current:
                return None
            closed = _closed(fact, at, reason)
            _add_edge(self.graph(user_id), closed)
            self._store.save([closed])
            return closed

    def remove(self, user_id: str, fact_id: str) -> bool:
        """Delete one fact outright (a person asked to forget it); False if there is none."""
        with self._lock:
            graph = self.graph(user_id)
            fact = graph.graph["facts"].pop(fact_id, None)
            if fact is None:
                return False
            graph.remove_edge(entity_key(fact.subject), entity_key(fact.object), key=fact_id)
            self._store.delete(fact_id)
            return True

    def has_user(self, user_id: str) -> bool:
        """True if any fact about the user is stored."""
        return self._store.has_user(user_id)

    def forget(self, user_id: str) -> None:
        """Delete every fact of the user and drop the cached graph."""
        with self._lock:
            self._store.delete_user(user_id)
            self._graphs.pop(user_id)


def _closed(fact: Fact, at: datetime, closed_by: str) -> Fact:
    return fact.model_copy(update={"valid_to": at, "expired_at": at, "closed_by": closed_by})


def _close(fact: Fact, obs: Observation) -> Fact:
    return _closed(fact, obs.said_at, obs.source_id)


def _add_edge(graph: nx.MultiDiGraph, fact: Fact) -> None:
    """Add or replace the edge of ``fact``, creating entity nodes with aliases."""
    source, target = entity_key(fact.subject), entity_key(fact.object)
    for key, label in ((source, fact.subject), (target, fact.object)):
        if key not in graph:
            graph.add_node(key, label=label, aliases=set())
        graph.nodes[key]["aliases"].add(label)
    if fact.subject == SELF and fact.predicate == "name":
        graph.nodes[SELF]["aliases"].add(fact.object)
    graph.add_edge(source, target, key=fact.id, predicate=fact.predicate, fact=fact)
    # id -> fact in the order learned (a dict keeps first-insertion order on update).
    graph.graph["facts"][fact.id] = fact
