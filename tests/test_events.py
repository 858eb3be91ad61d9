"""Event extraction: what people did, dated from relative times."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from confidante.extraction.base import ExtractorChain
from confidante.extraction.events import EventExtractor, days_back
from confidante.extraction.rules import RuleExtractor
from confidante.graph.schema import SELF

SAID = datetime(2023, 7, 10, 15, 0)  # a Monday


@pytest.mark.parametrize(
    ("text", "event", "back"),
    [
        ("I just signed up for a pottery class yesterday.", "signed up for a pottery class", 1),
        ("Last week I went to a pride parade. It was fun", "went to a pride parade", 7),
        ("We adopted a puppy two weeks ago!", "adopted a puppy", 14),
        ("I finished my first marathon, so proud", "finished my first marathon", 0),
        ("I visited Rome last Friday and loved it", "visited Rome", 3),
        ("I've started learning the violin.", "started learning the violin", 0),
        ("Busy week. Took a short trip last week to Rome.", "took a short trip to Rome", 7),
    ],
)
def test_events_and_their_dates(text: str, event: str, back: int):
    found = EventExtractor().extract(text, speaker="Mel", when=SAID)
    assert [(c.subject, c.predicate, c.object) for c in found] == [("Mel", "did", event)]
    assert found[0].valid_from == SAID - timedelta(days=back)


@pytest.mark.parametrize(
    "text", ["Did you go to the park?", "I went.", "Where did we go last year?", "Hello there!"]
)
def test_no_events(text: str):
    assert EventExtractor().extract(text, speaker="Mel", when=SAID) == []


def test_relative_times():
    assert days_back("a few days ago", SAID) == timedelta(days=3)
    assert days_back("3 months ago", SAID) == timedelta(days=90)
    assert days_back("last night", SAID) == timedelta(days=1)
    assert days_back("last Monday", SAID) == timedelta(days=7)
    assert days_back("nothing here", SAID) == timedelta(0)


def test_chain_runs_every_extractor_in_order():
    chain = ExtractorChain(RuleExtractor(), EventExtractor())
    found = chain.extract("I live in Oslo. I went hiking yesterday.", speaker=SELF, when=SAID)
    assert [(c.predicate, c.object) for c in found] == [
        ("lives_in", "Oslo"),
        ("did", "went hiking"),
    ]
    assert EventExtractor().extract("I went hiking", speaker=SELF)[0].valid_from is None
