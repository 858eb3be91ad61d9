"""The knowledge graph on real SQLite and NetworkX: time-aware reconciliation, resolution."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import networkx as nx

from confidante.database import Database
from confidante.graph.knowledge import KnowledgeGraph, Observation
from confidante.graph.schema import SELF, FactCandidate
from confidante.graph.store import FactStore


def at(year: int) -> datetime:
    return datetime(year, 1, 1, tzinfo=UTC)


def observe(subject, predicate, obj, source, year, **extra) -> Observation:
    return Observation(
        candidate=FactCandidate(subject=subject, predicate=predicate, object=obj, **extra),
        source_id=source,
        said_at=at(year),
    )


def open_graph(path: Path) -> KnowledgeGraph:
    return KnowledgeGraph(FactStore(Database(path / "g.db")))


def test_single_valued_relation_closes_old_edge_and_persists(tmp_path: Path):
    graph = open_graph(tmp_path)
    graph.learn("u", [observe(SELF, "lives_in", "Paris", "m1", 2020)])
    graph.learn("u", [observe(SELF, "lives_in", "Berlin", "m2", 2023)])
    reopened = open_graph(tmp_path)
    current = reopened.facts("u", current_only=True)
    assert [(f.object, f.source_ids) for f in current] == [("Berlin", ["m2"])]
    paris = next(f for f in reopened.facts("u") if f.object == "Paris")
    assert paris.valid_from == at(2020) and paris.valid_to == at(2023)
    assert paris.expired_at == at(2023)
    g = reopened.graph("u")
    assert isinstance(g, nx.MultiDiGraph)
    assert g.number_of_edges(SELF, "paris") == 1 and g.number_of_edges(SELF, "berlin") == 1


def test_multi_valued_relations_accumulate(tmp_path: Path):
    graph = open_graph(tmp_path)
    graph.learn(
        "u",
        [
            observe(SELF, "likes", "hiking", "m1", 2020),
            observe(SELF, "likes", "jazz", "m2", 2021),
        ],
    )
    assert {f.object for f in graph.facts("u", current_only=True)} == {"hiking", "jazz"}


def test_repeated_fact_gains_a_source_not_an_edge(tmp_path: Path):
    graph = open_graph(tmp_path)
    graph.learn("u", [observe(SELF, "likes", "Jazz", "m1", 2020)])
    graph.learn("u", [observe(SELF, "likes", "jazz", "m2", 2021)])
    graph.learn("u", [observe(SELF, "likes", "jazz", "m2", 2021)])
    facts = open_graph(tmp_path).facts("u")
    assert len(facts) == 1 and facts[0].source_ids == ["m1", "m2"]


def test_entities_resolve_by_name_case_insensitively(tmp_path: Path):
    graph = open_graph(tmp_path)
    graph.learn(
        "u",
        [
            observe(SELF, "family", "Ana", "m1", 2020, role="sister"),
            observe("ana", "lives_in", "Porto", "m2", 2021),
            observe("ANA", "works_at", "Acme", "m3", 2021),
        ],
    )
    g = graph.graph("u")
    assert {"Ana", "ana", "ANA"} <= g.nodes["ana"]["aliases"]
    assert {g.edges[e]["predicate"] for e in g.out_edges("ana", keys=True)} == {
        "lives_in",
        "works_at",
    }
    sister = next(f for f in graph.facts("u") if f.predicate == "family")
    assert sister.statement == "The user's sister is Ana"


def test_negation_closes_without_replacement(tmp_path: Path):
    graph = open_graph(tmp_path)
    graph.learn("u", [observe(SELF, "diet", "vegetarian", "m1", 2020)])
    graph.learn("u", [observe(SELF, "diet", "vegetarian", "m2", 2022, negated=True)])
    assert graph.facts("u", current_only=True) == []
    assert graph.facts("u")[0].valid_to == at(2022)


def test_statement_uses_the_users_name_once_known(tmp_path: Path):
    graph = open_graph(tmp_path)
    graph.learn(
        "u",
        [
            observe(SELF, "name", "Maria", "m1", 2020),
            observe(SELF, "lives_in", "Lisbon", "m1", 2020),
        ],
    )
    assert [f.statement for f in graph.facts("u")] == [
        "The user's name is Maria",
        "Maria lives in Lisbon",
    ]


def test_users_are_isolated_and_forget_is_total(tmp_path: Path):
    graph = open_graph(tmp_path)
    graph.learn("a", [observe(SELF, "lives_in", "Oslo", "m1", 2020)])
    graph.learn("b", [observe(SELF, "lives_in", "Rome", "m2", 2020)])
    graph.forget("a")
    assert graph.facts("a") == [] and not graph.has_user("a")
    assert [f.object for f in open_graph(tmp_path).facts("b")] == ["Rome"]
