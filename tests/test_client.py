"""The remote SDK against a live server: same methods, records and errors as the Assistant."""

from __future__ import annotations

import asyncio
import inspect

import pytest
import test_serving_helpers as helpers
from test_serving_helpers import Live

from confidante import (
    Assistant,
    AsyncAssistant,
    AsyncClient,
    AuthenticationError,
    Client,
    Feedback,
    InvalidMessageError,
    InvalidRatingError,
    PermissionDeniedError,
    RemoteError,
    Reply,
    UnknownInteractionError,
    UnknownMemoryError,
    UnknownUserError,
)
from confidante.records import ChatMessages

keyed = helpers.keyed  # a module-scoped fixture


def say(text: str) -> ChatMessages:
    return [{"role": "user", "content": text}]


@pytest.mark.parametrize(
    ("remote", "embedded"), [(Client, Assistant), (AsyncClient, AsyncAssistant)]
)
def test_clients_mirror_the_assistants_methods(remote: type, embedded: type):
    for name in (
        "chat",
        "chat_stream",
        "observe",
        "recall",
        "profile",
        "rate",
        "memories",
        "delete_memory",
        "preferences",
        "remove_preference",
        "forget",
        "export",
    ):
        assert inspect.signature(getattr(remote, name)) == inspect.signature(
            getattr(embedded, name)
        ), name


def test_sync_client_round_trip(keyed: Live):
    with Client(keyed.url, api_key=keyed.keys["maria"]) as client:
        reply = client.chat("maria", say("My name is Maria and I live in Lisbon."))
        assert isinstance(reply, Reply) and reply.content == "You said Lisbon."
        items = list(client.chat_stream("maria", say("where do I live? now")))
        assert "".join(i for i in items if isinstance(i, str)) == "You said now"
        streamed = items[-1]
        assert isinstance(streamed, Reply) and streamed.content == "You said now"
        assert any("Lisbon" in r.text for r in streamed.context)
        assert client.observe(
            "maria", [{"role": "user", "content": "I like tea.", "id": "obs-1"}]
        ) == ["obs-1"]
        assert any("Lisbon" in r.text for r in client.recall("maria", "where does Maria live", k=3))
        assert "Maria lives in Lisbon" in client.profile("maria").lines()
        rating = client.rate(Feedback(interaction_id=reply.interaction_id, score=4, comment="good"))
        assert rating.user_id == "maria" and rating.score == 4
        memories = client.memories("maria")
        client.delete_memory("maria", memories[0].id)
        assert memories[0].id not in {m.id for m in client.memories("maria")}
        exported = client.export("maria")
        assert reply.interaction_id in {i["id"] for i in exported["interactions"]}


def test_sync_client_raises_the_assistants_errors(keyed: Live):
    with Client(keyed.url, api_key=keyed.keys["sam"]) as client:
        client.chat("sam", say("hello"))
        with pytest.raises(InvalidMessageError):
            client.chat("sam", say("   "))
        with pytest.raises(InvalidRatingError):
            client.rate(Feedback(interaction_id="int_nope", score=9))
        with pytest.raises(UnknownInteractionError):
            client.rate(Feedback(interaction_id="int_nope", score=3))
        with pytest.raises(UnknownMemoryError):
            client.delete_memory("sam", "doc:nope/with slash")
        with pytest.raises(PermissionDeniedError):
            client.export("maria")
        client.forget("sam")
        with pytest.raises(UnknownUserError):
            client.profile("sam")
    with Client(keyed.url, api_key="cfd_wrong") as client, pytest.raises(AuthenticationError):
        client.memories("sam")
    with Client("http://127.0.0.1:9", api_key="x") as client, pytest.raises(RemoteError):
        client.memories("sam")


def test_async_client_with_admin_key(keyed: Live):
    async def go() -> None:
        async with AsyncClient(keyed.url, api_key=keyed.keys["admin"]) as client:
            reply = await client.chat("pat", say("I live in Rome."))
            items = [i async for i in client.chat_stream("pat", say("hi again"))]
            assert isinstance(items[-1], Reply) and items[-1].content == "You said again"
            assert (
                await client.rate(
                    Feedback(interaction_id=reply.interaction_id, score=5, user_id="pat")
                )
            ).user_id == "pat"
            assert (await client.profile("pat")).user_id == "pat"
            assert await client.recall("pat", "Rome")
            await client.forget("pat")
            with pytest.raises(UnknownUserError):
                await client.export("pat")

    asyncio.run(go())
