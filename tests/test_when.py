"""Time windows named in queries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from confidante.memory.when import time_window

NOW = datetime(2024, 6, 15, 12, 0, tzinfo=UTC)


def day(y: int, m: int, d: int) -> datetime:
    return datetime(y, m, d, tzinfo=UTC)


@pytest.mark.parametrize(
    ("query", "inside", "outside"),
    [
        ("What did I do on 8 May 2023?", day(2023, 5, 8), day(2023, 5, 9)),
        ("what happened on May 8th, 2023", day(2023, 5, 8), day(2023, 5, 7)),
        ("Where was I in March 2022?", day(2022, 3, 31), day(2022, 4, 1)),
        ("Which trips did I take in 2021?", day(2021, 7, 1), day(2022, 1, 1)),
        ("What did I cook yesterday?", NOW - timedelta(days=1), NOW - timedelta(days=5)),
        ("What did I read last week?", NOW - timedelta(days=10), NOW - timedelta(days=20)),
        ("Where did I go two weeks ago?", NOW - timedelta(days=14), NOW - timedelta(days=30)),
        ("What did we do this month?", NOW - timedelta(days=20), NOW - timedelta(days=40)),
    ],
)
def test_windows(query: str, inside: datetime, outside: datetime):
    window = time_window(query, NOW)
    assert window is not None
    assert inside in window and outside not in window


@pytest.mark.parametrize("query", ["Where do I live?", "What is 2 + 2?", "I have 2023 stamps"])
def test_no_time_named(query: str):
    assert time_window(query, NOW) is None
