"""Hostile strings at the SDK and HTTP edges: a typed error or a 400, never a raw exception or
a 500, nothing stored, and the assistant (and the HTTP connection) still usable after."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
import test_serving_helpers as helpers
from test_serving_helpers import Live

from confidante import Assistant, Feedback, InvalidInputError, Settings
from confidante.testing import HashEmbedder, ScriptedLLM

SURROGATES = ["\ud800", "ok\udfffok", "\udc00" * 3]
JSON = {"Content-Type": "application/json"}


@pytest.fixture
def a(settings: Settings) -> Iterator[Assistant]:
    with Assistant.open(
        settings=settings, llm=ScriptedLLM(["Noted."]), embeddings=HashEmbedder()
    ) as it:
        yield it


def message(**fields: Any) -> list[dict[str, Any]]:
    return [{"role": "user", "content": "I live in Oslo.", **fields}]


def sdk_calls(a: Assistant, bad: Any) -> list[Callable[[], object]]:
    reply = a.chat("kim", message())
    return [
        lambda: a.chat(bad, message()),
        lambda: a.observe("kim", [{"role": "user", "content": f"hello {bad}"}]),
        lambda: a.observe("kim", message(id=bad)),
        lambda: a.observe("kim", message(name=bad)),
        lambda: a.recall("kim", f"where {bad}"),
        lambda: a.recall(bad, "where"),
        lambda: a.rate(Feedback(interaction_id=bad, score=5)),
        lambda: a.rate(Feedback(interaction_id=reply.interaction_id, score=5, comment=bad)),
        lambda: a.delete_memory("kim", bad),
        lambda: a.profile(bad),
        lambda: a.forget(bad),
    ]


@pytest.mark.parametrize("bad", [*SURROGATES, None, 7, "", "x" * 100_001])
def test_the_sdk_raises_typed_errors_and_stores_nothing(a: Assistant, bad: Any):
    for call in sdk_calls(a, bad):
        try:
            call()
        except InvalidInputError as exc:
            str(exc).encode("utf-8")  # the message itself can be sent
        except Exception as exc:  # noqa: BLE001
            pytest.fail(f"untyped {type(exc).__name__}: {exc!r}")
    memories = a.memories("kim")
    assert all(m.text.encode("utf-8") for m in memories)
    assert not any("\udfff" in m.text or "\ud800" in m.text for m in memories)
    assert a.recall("kim", "Oslo")  # still usable


def test_a_long_query_or_a_huge_k_is_refused_with_the_limit(a: Assistant):
    a.observe("kim", message())
    with pytest.raises(InvalidInputError, match="limit of 2000"):
        a.recall("kim", "where " * 1000)
    with pytest.raises(InvalidInputError, match="from 1 to 100"):
        a.recall("kim", "where", k=10_000)


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    yield from helpers.start(tmp_path_factory.mktemp("hostile"), users=("kim",))


@pytest.mark.parametrize("bad", SURROGATES)
def test_http_answers_400_and_keeps_the_connection(live: Live, bad: str):
    with httpx.Client(base_url=f"{live.url}/v1", headers=live.headers("kim")) as http:
        chat = {"model": "x", "messages": [{"role": "user", "content": "hi there"}]}
        requests = [
            (
                "POST",
                "/chat/completions",
                {"model": "x", "messages": [{"role": "user", "content": bad}]},
            ),
            ("POST", "/observe", {"messages": [{"role": "user", "content": "hi", "name": bad}]}),
            ("POST", "/observe", {"messages": [{"role": "user", "content": "hi", "id": bad}]}),
            ("POST", "/memories/search", {"query": bad}),
            ("POST", "/feedback", {"interaction_id": bad, "score": 5}),
            ("POST", "/feedback", {"interaction_id": "int_x", "score": 5, "comment": bad}),
        ]
        for method, path, body in requests:
            # json.dumps escapes the surrogate ("\\ud800"), as a hostile client would send it
            sent = json.dumps(body)
            answer = http.request(method, path, content=sent, headers=JSON)
            assert answer.status_code == 400, (path, body, answer.text)
            assert answer.json()["error"]["type"] == "invalid_request_error"
        assert (
            http.post(
                "/chat/completions", content=json.dumps({**chat, "user": bad}), headers=JSON
            ).status_code
            == 403
        )  # a user key names no one else
        assert http.delete("/memories/%ED%A0%80").status_code in (400, 404)
        assert http.get("/profile").status_code in (200, 404)  # same connection, still served
        assert (
            http.post(
                "/observe", json={"messages": [{"role": "user", "content": "ok"}]}
            ).status_code
            == 200
        )


def test_a_long_search_query_gets_400_over_http(live: Live):
    with httpx.Client(base_url=f"{live.url}/v1", headers=live.headers("kim")) as http:
        answer = http.post("/memories/search", json={"query": "word " * 1000})
        assert answer.status_code == 400 and "CONFIDANTE_MAX_QUERY_CHARS" in answer.text
