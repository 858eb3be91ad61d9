from __future__ import annotations

from datetime import UTC, datetime

import pytest

from confidante import InvalidMessageError, Message, MessageTooLargeError
from confidante.records import coerce_messages


def coerce(raw, max_chars=100, max_count=10):
    return coerce_messages(raw, max_chars=max_chars, max_count=max_count)


def test_accepts_dicts_and_messages_and_keeps_fields():
    when = datetime(2023, 5, 8, 13, 56)
    out = coerce(
        [
            {"role": "user", "content": "hi", "name": "Caroline", "id": "D1:1", "created_at": when},
            Message(role="assistant", content="hello"),
        ]
    )
    assert out[0].name == "Caroline" and out[0].id == "D1:1"
    assert out[0].created_at == when.replace(tzinfo=UTC)  # naive times are taken as UTC
    assert out[1].role == "assistant"


@pytest.mark.parametrize(
    ("raw", "needle"),
    [
        ([{"role": "user", "content": ""}], "empty"),
        ([{"role": "user", "content": "   "}], "empty"),
        ([{"role": "user", "content": 42}], "must be a string"),
        ([{"role": "user", "content": None}], "must be a string"),
        ([{"role": "user", "content": ["a"]}], "must be a string"),
        ([{"role": "wizard", "content": "hi"}], "role 'wizard'"),
        ([{"content": "hi"}], "role None"),
        (["hello"], "pass a dict"),
        ([], "empty"),
        ({"role": "user", "content": "hi"}, "list of messages"),
        (
            [
                {"role": "user", "content": "hi", "id": "a"},
                {"role": "user", "content": "x", "id": "a"},
            ],
            "share an id",
        ),
        ([{"role": "user", "content": "hi", "created_at": "not a date"}], "created_at"),
        ([{"role": "user", "content": "hi", "colour": "red"}], "colour"),
    ],
)
def test_bad_messages_raise_invalid_message(raw, needle):
    with pytest.raises(InvalidMessageError, match=needle):
        coerce(raw)


def test_oversized_message_names_the_setting():
    with pytest.raises(MessageTooLargeError, match="CONFIDANTE_MAX_MESSAGE_CHARS"):
        coerce([{"role": "user", "content": "x" * 101}])


def test_too_many_messages():
    with pytest.raises(InvalidMessageError, match="over the limit of 10"):
        coerce([{"role": "user", "content": "hi"}] * 11)
