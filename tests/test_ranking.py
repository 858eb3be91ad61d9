"""The ranking maths of recall, on plain lists and dicts: no store, no embedder."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from confidante.memory.ranking import (
    FACT_ITEM_WEIGHT,
    POOL,
    TIME_WEIGHT,
    WEIGHTS,
    asks_for_many,
    blend,
    episode_order,
    fact_source_messages,
    fuse_messages,
    in_time_order,
    known_messages,
    messages_of,
    newest_first,
    rank_facts,
    reciprocal_rank_fusion,
    replacements,
    rescored,
    said_within,
    same_topic,
    select,
    speakers_named,
    tense,
    time_ordered,
    top_scored,
    without_names,
)
from confidante.memory.when import Window


@dataclass(frozen=True)
class Doc:
    doc_id: str
    kind: str
    source_ids: list[str]


def _ids(ranked: list[tuple[str, float]]) -> list[str]:
    return [doc_id for doc_id, _ in ranked]


# Fusion


def test_fusion_scores_each_id_by_weight_over_k_plus_rank():
    fused = dict(reciprocal_rank_fusion([["a", "b"], ["b", "c"]], [2.0, 1.0], k=10))
    assert fused["a"] == pytest.approx(2.0 / 11)
    assert fused["b"] == pytest.approx(2.0 / 12 + 1.0 / 11)
    assert fused["c"] == pytest.approx(1.0 / 12)


def test_fusion_weights_decide_between_two_first_places():
    assert _ids(reciprocal_rank_fusion([["a"], ["b"]], [1.0, 2.0])) == ["b", "a"]
    assert _ids(reciprocal_rank_fusion([["a"], ["b"]], [2.0, 1.0])) == ["a", "b"]


def test_fusion_ties_keep_the_order_the_lists_first_named_them():
    assert _ids(reciprocal_rank_fusion([["x", "y"], ["y", "x"]])) == ["x", "y"]
    assert _ids(reciprocal_rank_fusion([["p"], ["q"], ["r"]])) == ["p", "q", "r"]


def test_fusion_rewards_agreement_over_one_first_place():
    fused = reciprocal_rank_fusion([["a", "b"], ["c", "b"]])
    assert fused[0][0] == "b"


def test_fusion_ranks_numbers_as_well_as_strings():
    assert [n for n, _ in reciprocal_rank_fusion([[3, 1], [1]])] == [1, 3]


def test_fuse_messages_weighs_each_ranking_by_its_name():
    fused = fuse_messages({"with_next": [1], "dense": [2], "text": [3]})
    assert [n for n, _ in fused] == [2, 3, 1]  # dense 3.0 > text 1.5 > with_next 1.0
    assert dict(fused)[2] == pytest.approx(WEIGHTS["dense"] / 11)
    custom = fuse_messages({"a": [1], "b": [2]}, {"a": 1.0, "b": 5.0})
    assert [n for n, _ in custom] == [2, 1]


def test_fuse_messages_adds_up_every_ranking_that_names_a_message():
    fused = dict(fuse_messages({"text": [5, 6], "graph": [6]}))
    assert fused[6] == pytest.approx(WEIGHTS["text"] / 12 + WEIGHTS["graph"] / 11)


# Candidates


def test_top_scored_keeps_the_best_allowed_up_to_the_limit():
    scores = {0: 0.5, 1: 3.0, 2: 2.0, 3: 1.0}
    assert top_scored(scores, None) == [1, 2, 3, 0]
    assert top_scored(scores, {0, 2, 3}) == [2, 3, 0]
    assert top_scored(scores, None, limit=2) == [1, 2]
    assert top_scored({n: float(n) for n in range(POOL + 10)}, None)[-1] == 10


def test_top_scored_ties_keep_the_scores_order():
    assert top_scored({4: 1.0, 2: 1.0, 9: 1.0}, None) == [4, 2, 9]


def test_messages_of_a_speaker_or_of_everyone():
    speakers = ["Ann", "Bob", None, "Ann"]
    assert messages_of(speakers, "Ann") == {0, 3}
    assert messages_of(speakers, None) is None


def test_known_messages_skips_unknown_and_disallowed_ids_in_order():
    number = {"d0": 0, "d1": 1, "d2": 2}
    assert known_messages(["d2", "fact", "d0", "d1"], number, None) == [2, 0, 1]
    assert known_messages(["d2", "d0", "d1"], number, {0, 1}) == [0, 1]


# Speakers' names


def test_speakers_named_by_first_name_as_a_whole_word():
    speakers = ["Caroline Smith", "Melanie", None, "Mel"]
    assert speakers_named("What did caroline paint?", speakers) == {"Caroline Smith"}
    assert speakers_named("When did Melanie go camping?", speakers) == {"Melanie"}
    assert speakers_named("What do Mel and Caroline share?", speakers) == {"Mel", "Caroline Smith"}
    assert speakers_named("What is the weather like?", speakers) == set()


def test_without_names_takes_out_first_names_in_any_case():
    stripped = without_names("What did CAROLINE tell Melanie about Carolina?", ["Caroline Smith"])
    assert "caroline" not in stripped.lower()
    assert "Melanie" in stripped and "Carolina" in stripped
    assert without_names("Where did Mel go?", []) == "Where did Mel go?"


def test_asks_for_many():
    assert asks_for_many("What books has she read?")
    assert asks_for_many("In what ways does she help?")
    assert asks_for_many("How many children does he have?")
    assert not asks_for_many("What is her favourite book?")
    assert not asks_for_many("When did she move?")


# Facts


def test_rank_facts_puts_replaced_facts_after_current_ones():
    lexical = ["paris", "cat", "dog"]
    semantic = ["paris", "berlin"]
    assert rank_facts(lexical, semantic, set()) == ["paris", "cat", "berlin", "dog"]
    assert rank_facts(lexical, semantic, {"paris"}) == ["cat", "berlin", "dog", "paris"]


def test_fact_source_messages_lists_each_source_once_in_fact_order():
    sources_of = {"f1": ["m2", "m9"], "f2": ["m1", "m2"], "f3": ["m3"]}
    by_source = {"m1": 1, "m2": 2, "m3": 3}
    assert fact_source_messages(["f1", "f2", "f3"], sources_of, by_source, None) == [2, 1, 3]
    assert fact_source_messages(["f3", "f1"], sources_of, by_source, None) == [3, 2]
    assert fact_source_messages(["f1", "f2", "f3"], sources_of, by_source, {1, 3}) == [1, 3]


def test_fact_source_messages_reads_only_the_pool_of_facts():
    facts = [f"f{i}" for i in range(POOL + 5)]
    sources_of = {f: [f"m{i}"] for i, f in enumerate(facts)}
    by_source = {f"m{i}": i for i in range(len(facts))}
    assert fact_source_messages(facts, sources_of, by_source, None) == list(range(POOL))


# Episodes and time


def test_episode_order_groups_messages_by_episode_rank_then_fused_rank():
    episode_of = [0, 0, 1, 1, 2]
    fused = [(4, 0.9), (1, 0.8), (2, 0.7), (0, 0.6)]  # message 3 was not fused
    episode_scores = {1: 2.0, 0: 1.0}  # episode 2 matches no word: it comes last
    assert episode_order(fused, episode_of, episode_scores, [], None) == [2, 1, 0, 4]


def test_episode_order_ranks_episodes_by_the_messages_of_other_rankings_too():
    episode_of = [0, 0, 1, 1, 2]
    fused = [(4, 0.9), (1, 0.8), (2, 0.7), (0, 0.6)]
    # Episode 2 first in a ranking ties episode 1 first by words: words were named first.
    order = episode_order(fused, episode_of, {1: 2.0, 0: 1.0}, [[4]], None)
    assert order == [2, 4, 1, 0]
    # Two rankings naming episode 2 first put it ahead.
    order = episode_order(fused, episode_of, {1: 2.0, 0: 1.0}, [[4], [4, 3]], None)
    assert order == [4, 2, 1, 0]


def test_episode_order_keeps_allowed_messages_within_the_pool():
    episode_of = [0, 0, 1, 1, 2]
    fused = [(4, 0.9), (1, 0.8), (2, 0.7), (0, 0.6)]
    assert episode_order(fused, episode_of, {1: 2.0, 0: 1.0}, [], {0, 2}) == [2, 0]
    many = [(n, 1.0 / (n + 1)) for n in range(POOL + 20)]
    assert len(episode_order(many, [0] * len(many), {}, [], None)) == POOL


def test_said_within_keeps_fused_messages_said_in_the_window():
    may = datetime(2023, 5, 1, tzinfo=UTC)
    times = [may, None, may + timedelta(days=40), may + timedelta(days=3)]
    fused = [(3, 0.9), (1, 0.8), (2, 0.7), (0, 0.6)]
    window = Window(may, may + timedelta(days=31))
    assert said_within(fused, times, window) == [3, 0]
    assert said_within(fused, times, None) == []


# Blending the priors


def test_blend_adds_episode_fact_and_time_priors_to_the_fused_messages():
    ranked = dict(
        blend(messages=["a", "b"], by_episode=["b"], facts=["f"], in_window=["a"], many=False)
    )
    assert ranked["a"] == pytest.approx(1 / 11 + TIME_WEIGHT / 11)
    assert ranked["b"] == pytest.approx(1 / 12 + 1 / 11)
    assert ranked["f"] == pytest.approx(FACT_ITEM_WEIGHT / 11)


def test_blend_weakens_the_episode_prior_for_questions_asking_for_many_things():
    messages = ["a", *[f"x{i}" for i in range(18)], "b"]  # b twentieth by fusion
    prior = {"messages": messages, "by_episode": ["b"], "facts": [], "in_window": []}
    assert _ids(blend(**prior, many=False))[0] == "b"  # its episode ranks first
    assert _ids(blend(**prior, many=True))[0] == "a"


# Replaced statements


def test_replacements_map_old_statements_to_the_messages_replacing_them():
    replaced_by = {"f_paris": "m3", "f_gone": "m9"}  # m9 is not indexed: skipped
    sources_of = {"f_paris": ["m1", "m3"], "f_gone": ["m2"]}
    by_source = {"m1": 0, "m2": 1, "m3": 2}
    newer = replacements(replaced_by, sources_of, by_source, ["d0", "d1", "d2"])
    assert newer == {"d0": "d2"}  # m3 is a source and the replacement: not its own elder


def test_newest_first_moves_the_new_statement_just_before_the_old():
    ranked = [("paris", 0.9), ("other", 0.8), ("berlin", 0.1)]
    moved = newest_first(ranked, {"paris": "berlin"})
    assert moved == [("berlin", 0.1), ("paris", 0.9), ("other", 0.8)]


def test_newest_first_leaves_order_alone_when_new_is_ahead_or_absent():
    ranked = [("berlin", 0.9), ("paris", 0.5)]
    assert newest_first(ranked, {"paris": "berlin"}) == ranked
    assert newest_first(ranked, {"paris": "rome"}) == ranked
    assert newest_first(ranked, {}) == ranked


def test_newest_first_follows_chains_of_replacements():
    ranked = [("paris", 0.9), ("berlin", 0.8), ("other", 0.7), ("rome", 0.1)]
    moved = newest_first(ranked, {"paris": "berlin", "berlin": "rome"})
    assert _ids(moved) == ["rome", "berlin", "paris", "other"]


# Time order among what speaks to the same thing


@pytest.mark.parametrize(
    ("query", "asked"),
    [
        ("Where do I live?", "present"),
        ("What's my job now?", "present"),
        ("Who will be coaching the team?", "present"),
        ("How old is my nephew?", "present"),
        ("What is my last name?", "present"),
        ("What tools does she use to carve wood?", "present"),
        ("What did I say I do now?", "present"),
        ("Where did I use to live?", "past"),
        ("What car did I have before?", "past"),
        ("What was my old phone number?", "past"),
        ("Who was my previous landlord?", "past"),
        ("What was my last job?", "past"),
        ("Where did she work originally?", "past"),
        ("What don't I eat anymore?", "past"),
        ("When did I move?", None),
        ("What was the name of the hotel?", None),
    ],
)
def test_tense_tells_the_present_from_before_and_from_events(query: str, asked: str | None):
    assert tense(query) == asked


def test_same_topic_groups_alike_vectors_transitively_and_leaves_loners_out():
    vectors = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.8, 0.6, 0.0], [0.0, 1.0, 0.0]])
    # 0 ~ 2 (0.8) and 2 ~ 3 (0.6), though 0 and 3 are not alike; 1 is alike to none.
    assert same_topic(vectors, 0.5) == [[0, 2, 3]]
    assert same_topic(vectors, 0.7) == [[0, 2]]
    assert same_topic(np.zeros((2, 3)), 0.5) == []


def test_in_time_order_sorts_each_group_in_the_places_it_holds():
    day = datetime(2026, 1, 1, tzinfo=UTC)
    ids = ["cook", "weather", "chef", "sous"]
    times = {"cook": day, "chef": day + timedelta(days=40), "sous": day + timedelta(days=20)}
    groups = [[0, 2, 3]]
    assert in_time_order(ids, groups, times, "present") == ["chef", "weather", "sous", "cook"]
    assert in_time_order(ids, groups, times, "past") == ["cook", "weather", "sous", "chef"]


def test_in_time_order_keeps_the_order_of_ties():
    day = datetime(2026, 1, 1, tzinfo=UTC)
    times = {"fact": day, "message": day, "newer": day + timedelta(days=1)}
    ids = ["fact", "message", "newer"]
    assert in_time_order(ids, [[0, 1, 2]], times, "present") == ["newer", "fact", "message"]
    assert in_time_order(ids, [[0, 1, 2]], times, "past") == ids


def test_rescored_gives_each_place_its_score():
    ranked = [("a", 0.9), ("b", 0.5), ("c", 0.1)]
    assert rescored(["c", "a", "b"], ranked) == [("c", 0.9), ("a", 0.5), ("b", 0.1)]


def test_time_ordered_puts_the_newest_of_a_topic_first_and_scores_agree():
    day = datetime(2026, 1, 1, tzinfo=UTC)
    ranked = [("old job", 0.9), ("weather", 0.8), ("new job", 0.3), ("unseen", 0.2)]
    vectors = {"old job": [1.0, 0.1], "weather": [0.0, 1.0], "new job": [0.9, 0.2]}
    times = {"old job": day, "weather": day, "new job": day + timedelta(days=30)}
    present = time_ordered(ranked, vectors, times, "present", threshold=0.5)
    assert _ids(present) == ["new job", "weather", "old job", "unseen"]
    assert [score for _, score in present] == [0.9, 0.8, 0.3, 0.2]
    assert _ids(time_ordered(ranked, vectors, times, "past", threshold=0.5)) == _ids(ranked)
    # Without vectors or times there is nothing to compare.
    assert time_ordered(ranked, {}, times, "present") == ranked


# Selection


def test_select_keeps_found_documents_in_order_up_to_k():
    found = {d: Doc(d, "message", [d]) for d in ("a", "b", "c")}
    ranked = [("a", 3.0), ("missing", 2.5), ("b", 2.0), ("c", 1.0)]
    chosen = select(ranked, found, 2)
    assert [(doc.doc_id, score) for doc, score in chosen] == [("a", 3.0), ("b", 2.0)]
    assert len(select(ranked, found, 10)) == 3


def test_select_skips_facts_whose_sources_are_all_shown_already():
    found = {
        "m1": Doc("m1", "message", ["m1"]),
        "m2": Doc("m2", "message", ["m2"]),
        "f_old": Doc("f_old", "fact", ["m1", "m2"]),
        "f_new": Doc("f_new", "fact", ["m1", "m3"]),
        "f_again": Doc("f_again", "fact", ["m3"]),
    }
    ranked = [(d, 1.0) for d in ("m1", "m2", "f_old", "f_new", "f_again")]
    assert [doc.doc_id for doc, _ in select(ranked, found, 5)] == ["m1", "m2", "f_new"]


def test_select_counts_a_skipped_fact_against_nothing():
    found = {
        "m1": Doc("m1", "message", ["m1"]),
        "f1": Doc("f1", "fact", ["m1"]),
        "m2": Doc("m2", "message", ["m2"]),
    }
    ranked = [("m1", 1.0), ("f1", 0.9), ("m2", 0.8)]
    assert [doc.doc_id for doc, _ in select(ranked, found, 2)] == ["m1", "m2"]
