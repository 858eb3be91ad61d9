"""The profile corpus (bench/data/profile) is well formed, and each half meets its counts."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from confidante.graph.schema import PREDICATES, is_reply_preference

CORPUS = Path(__file__).parent.parent / "bench" / "data" / "profile"
HALVES = ["tuning.jsonl", "held_out.jsonl"]


def cases(name: str) -> list[dict]:
    lines = (CORPUS / name).read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


@pytest.mark.parametrize("name", HALVES)
def test_each_half_is_well_formed_and_large_enough(name: str):
    half = cases(name)
    assert len({c["id"] for c in half}) == len(half) >= 200
    assert sum(c["kind"] == "change" for c in half) >= 75
    used: Counter[str] = Counter()
    for case in half:
        assert case["kind"] in ("statement", "change"), case["id"]
        assert case["messages"] and case["facts"] and case["question"].strip(), case["id"]
        ages = [m["days_ago"] for m in case["messages"]]
        assert ages == sorted(ages, reverse=True), case["id"]  # oldest first
        for fact in case["facts"]:
            assert fact["predicate"] in PREDICATES and fact["predicate"] != "did", case["id"]
            assert fact["object"].strip() and isinstance(fact["current"], bool), case["id"]
            used[fact["predicate"]] += 1
    # Life facts; reply preferences have their own corpus (tests/data/style_and_mood.json).
    life = [p for p in PREDICATES if p != "did" and not is_reply_preference(p)]
    assert min(used[p] for p in life) >= 5, used


def test_the_halves_share_no_sentence():
    said = [{m["text"].casefold().strip() for c in cases(n) for m in c["messages"]} for n in HALVES]
    assert said[0].isdisjoint(said[1])


@pytest.mark.parametrize("name", ["tuning_extra.jsonl", "tuning_changes.jsonl"])
def test_the_extra_tuning_sets_share_nothing_with_the_held_out_half(name: str):
    extra = cases(name)
    assert len({c["id"] for c in extra}) == len(extra) >= 100
    held = {m["text"].casefold().strip() for c in cases("held_out.jsonl") for m in c["messages"]}
    assert held.isdisjoint(m["text"].casefold().strip() for c in extra for m in c["messages"])
    for case in extra:
        if case["kind"] == "change":
            first = case["facts"][0]
            assert first["current"], case["id"]
            assert any(
                not f["current"] and f["predicate"] == first["predicate"] for f in case["facts"]
            ), case["id"]


def test_locomo_labels_are_well_formed():
    turns = cases("locomo_labels.jsonl")
    assert len(turns) >= 300 and sum(len(t["facts"]) for t in turns) >= 100
    facts = cases("locomo_fact_labels.jsonl")
    assert len({f["key"] for f in facts}) == len(facts) >= 100
    for fact in facts:
        assert isinstance(fact["correct"], bool) and fact["key"].count("|") == 5, fact
