"""Graph expansion for recall: who a query is about, what is known of them, and where it was said.

"Tell me about my sister" shares no word with "Ana started at the library", but the graph knows
that the user's sister is Ana and that Ana works at the library, and which message said so. The
entities a query names (by name, or by relation: "my sister", "Ana's husband", "her kids") lead
to their facts, and the facts to their source messages, which recall ranks with the rest.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from confidante.graph.knowledge import KnowledgeGraph, entity_key
from confidante.graph.schema import SELF, relation_named
from confidante.memory.lexical import terms
from confidante.records import Fact

if TYPE_CHECKING:
    import networkx as nx

_WORD = re.compile(r"[\w'’-]+")
# Possessives that point at the person speaking to the assistant.
_FIRST_PERSON = frozenset({"my", "our", "i", "me", "mine"})


def related_sources(graph: KnowledgeGraph, user_id: str, query: str, limit: int) -> list[str]:
    """Message ids behind the facts about the people ``query`` names by relation, best first.

    Facts that share more of the query's words come first, then what is still true, then the
    newest. Empty when the query names no relation the graph knows.
    """
    g = graph.graph(user_id)
    # Only people reached through a relation ("my sister" -> Ana): that hop is what words
    # cannot make. Someone named outright is found by their name already, and their facts
    # ranked here too cost recall on LoCoMo (0.792 -> 0.789 at weight 0.5, tuned conversations).
    facts = _facts_about(g, _reached(g, query))
    if not facts:
        return []
    wanted = set(terms(query))
    facts.sort(
        key=lambda f: (
            -len(wanted & set(terms(f.statement))),
            not f.is_current,
            -(f.valid_from.timestamp() if f.valid_from else 0.0),
        )
    )
    found: dict[str, None] = {}
    for fact in facts:
        found.update(dict.fromkeys(fact.source_ids))
        if len(found) >= limit:
            break
    return list(found)[:limit]


def _reached(g: nx.MultiDiGraph, query: str) -> list[str]:
    """Entity keys of the people the query names by relation: "my sister", "Ana's husband"."""
    text = entity_key(query)
    words = _WORD.findall(text)
    relations = [(i, r) for i, w in enumerate(words) if (r := relation_named(w)) is not None]
    if not relations:
        return []
    named = [
        node
        for node in g.nodes
        if node != SELF
        and g.out_degree(node) > 0  # something is known about it: a person, a pet, a place
        and re.search(rf"(?<![\w]){re.escape(node)}(?![\w])", text)
    ]
    reached: dict[str, None] = {}
    for i, (predicate, role) in relations:
        owners = _owners(words[i - 1] if i else "", named)
        for owner in owners:
            for _, target, data in g.out_edges(owner, data=True):
                fact: Fact = data["fact"]
                # A partner is one whatever the word ("wife" for a fact said as "partner").
                same_role = role is None or predicate == "partner" or fact.role == role
                if fact.predicate == predicate and same_role:
                    reached[target] = None
    return list(reached)


def _owners(before: str, named: list[str]) -> list[str]:
    """Whose relation a word names: "my sister" the user's, "ana's sister" Ana's.

    Otherwise ("her kids"), that of anyone the query names, or the user's.
    """
    if before in _FIRST_PERSON:
        return [SELF]
    owner = re.sub(r"['’]s?$", "", before)
    if owner != before:
        return [owner]
    return [*named, SELF]


def _facts_about(g: nx.MultiDiGraph, anchors: list[str]) -> list[Fact]:
    seen: dict[str, Fact] = {}
    for anchor in anchors:
        if anchor not in g:
            continue
        for _, _, data in [*g.out_edges(anchor, data=True), *g.in_edges(anchor, data=True)]:
            fact: Fact = data["fact"]
            seen.setdefault(fact.id, fact)
    return list(seen.values())
