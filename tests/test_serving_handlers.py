"""Handlers, auth, keys and the error table, called directly: no HTTP."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from test_serving_helpers import echo

from confidante import (
    AsyncAssistant,
    AuthenticationError,
    InsecureBindError,
    InvalidInputError,
    PermissionDeniedError,
    Settings,
    UnknownInteractionError,
    errors,
)
from confidante.database import Database
from confidante.serving.auth import Authenticator
from confidante.serving.handlers import Handlers
from confidante.serving.keys import KeyStore
from confidante.serving.protocol import ChatCompletionRequest, FeedbackRequest
from confidante.serving.server import check_bind, is_loopback
from confidante.serving.wire import ERRORS_BY_CODE, describe, error_code, to_exception
from confidante.testing import HashEmbedder, ScriptedLLM


@pytest.fixture
async def handlers(settings: Settings) -> AsyncIterator[Handlers]:
    settings = settings.model_copy(update={"server_max_messages": 3, "server_max_tokens": 10})
    assistant = AsyncAssistant.open(
        settings=settings, llm=ScriptedLLM(echo), embeddings=HashEmbedder()
    )
    keys = KeyStore(Database(settings.resolved_data_dir() / "confidante.db"))
    yield Handlers(assistant, Authenticator(keys, local_mode=True))
    keys.close()
    await assistant.close()


def chat_request(text: str, **extra) -> ChatCompletionRequest:
    return ChatCompletionRequest.model_validate(
        {"messages": [{"role": "user", "content": text}], **extra}
    )


async def test_chat_completion_carries_interaction_and_context(handlers: Handlers):
    await handlers.chat("maria", chat_request("I live in Lisbon."))
    completion = await handlers.chat("maria", chat_request("Where do I live? here"))
    assert completion.choices[0].message.content == "You said here"
    assert completion.model == "scripted"
    assert completion.confidante.interaction_id.startswith("int_")
    assert any("Lisbon" in r.text for r in completion.confidante.context)


async def test_max_tokens_is_honoured_per_request_and_limited(handlers: Handlers):
    short = await handlers.chat("maria", chat_request("say long", max_tokens=3))
    assert short.choices[0].message.content == "one two three"
    newer = await handlers.chat("maria", chat_request("say long", max_completion_tokens=5))
    assert newer.choices[0].message.content.split() == ["one", "two", "three", "four", "five"]
    default = await handlers.chat("maria", chat_request("say long"))
    assert len(default.choices[0].message.content.split()) == 12  # max_new_tokens is 96
    with pytest.raises(InvalidInputError, match="over this server's limit of 10"):
        await handlers.chat("maria", chat_request("say long", max_tokens=11))


async def test_message_count_is_limited(handlers: Handlers):
    request = ChatCompletionRequest.model_validate(
        {"messages": [{"role": "user", "content": f"m{i}"} for i in range(4)]}
    )
    with pytest.raises(InvalidInputError, match="over the limit of 3"):
        await handlers.chat("maria", request)


async def test_unknown_fields_are_accepted_and_logged(
    handlers: Handlers, caplog: pytest.LogCaptureFixture
):
    request = chat_request("hello there", temperature=0.3, seed=7, logit_bias={})
    with caplog.at_level(logging.INFO, logger="confidante.serving"):
        completion = await handlers.chat("maria", request)
    assert completion.choices[0].message.content == "You said there"
    assert "logit_bias, seed, temperature" in caplog.text


async def test_stream_events_end_with_the_reply_then_done(handlers: Handlers):
    events = [e async for e in await handlers.chat_stream("maria", chat_request("hi you"))]
    assert events[-1] == "data: [DONE]\n\n"
    chunks = [json.loads(e.removeprefix("data: ")) for e in events[:-1]]
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks)
    assert text == "You said you"
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"
    assert chunks[-1]["confidante"]["interaction_id"].startswith("int_")
    assert all("confidante" not in c for c in chunks[:-1])


async def test_stream_rejects_bad_input_before_any_event(handlers: Handlers):
    request = ChatCompletionRequest.model_validate({"messages": [{"role": "tool", "content": "x"}]})
    with pytest.raises(errors.InvalidMessageError):
        await handlers.chat_stream("maria", request)


class BreaksMidStream(ScriptedLLM):
    async def stream(self, messages, *, max_tokens, temperature):  # noqa: ANN001, ANN201
        yield "partial"
        raise RuntimeError("secret internal detail")


async def test_stream_failure_after_start_is_an_error_event(settings: Settings):
    assistant = AsyncAssistant.open(
        settings=settings, llm=BreaksMidStream(), embeddings=HashEmbedder()
    )
    keys = KeyStore(Database(settings.resolved_data_dir() / "confidante.db"))
    handlers = Handlers(assistant, Authenticator(keys, local_mode=True))
    events = [e async for e in await handlers.chat_stream("maria", chat_request("hi"))]
    assert '"content":"partial"' in events[1]
    last = json.loads(events[-1].removeprefix("data: "))
    assert last["error"]["type"] == "server_error"
    assert "secret" not in events[-1]
    keys.close()
    await assistant.close()


async def test_stream_failure_before_the_first_delta_raises(handlers: Handlers):
    with pytest.raises(RuntimeError):
        await handlers.chat_stream("maria", chat_request("please explode"))


async def test_feedback_only_rates_the_callers_interactions(handlers: Handlers):
    completion = await handlers.chat("maria", chat_request("hello"))
    theirs = FeedbackRequest(interaction_id=completion.confidante.interaction_id, score=5)
    with pytest.raises(UnknownInteractionError):
        await handlers.feedback("sam", theirs)
    rating = await handlers.feedback("maria", theirs)
    assert rating.user_id == "maria" and rating.score == 5


def test_keys_are_stored_hashed_and_revocable(tmp_path: Path):
    keys = KeyStore.open(tmp_path)
    key, secret = keys.create(user_id="maria")
    assert secret.startswith(key.prefix) and len(secret) > 40
    assert keys.verify(secret) == key
    assert keys.verify(secret + "x") is None
    keys.database.checkpoint()
    assert secret.encode() not in (tmp_path / "confidante.db").read_bytes()
    assert keys.revoke(key.prefix).revoked_at is not None
    assert keys.verify(secret) is None and not keys.any_active()
    with pytest.raises(InvalidInputError):
        keys.create(user_id="maria", admin=True)
    keys.close()


def test_authenticator_binds_each_key_to_its_user(tmp_path: Path):
    keys = KeyStore.open(tmp_path)
    auth = Authenticator(keys, local_mode=True)
    assert auth.user_for(None, "anyone") == "anyone"  # local mode: no keys yet
    with pytest.raises(InvalidInputError):
        auth.user_for(None, None)
    _, maria = keys.create(user_id="maria")
    _, admin = keys.create(admin=True)
    assert auth.user_for(f"Bearer {maria}", None) == "maria"
    assert auth.user_for(f"Bearer {maria}", "maria") == "maria"
    with pytest.raises(PermissionDeniedError):
        auth.user_for(f"Bearer {maria}", "sam")
    assert auth.user_for(f"Bearer {admin}", "sam") == "sam"
    with pytest.raises(InvalidInputError):
        auth.user_for(f"Bearer {admin}", None)
    for header in (None, "Bearer nope", f"Basic {maria}", "Bearer "):
        with pytest.raises(AuthenticationError):
            auth.user_for(header, "maria")
    keys.close()


def test_no_keys_means_loopback_only(tmp_path: Path):
    keys = KeyStore.open(tmp_path)
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    check_bind("127.0.0.1", keys)
    with pytest.raises(InsecureBindError, match="keys create"):
        check_bind("0.0.0.0", keys)
    keys.create(user_id="maria")
    check_bind("0.0.0.0", keys)
    keys.close()


def test_every_error_class_round_trips_through_the_wire():
    for code, cls in ERRORS_BY_CODE.items():
        assert error_code(cls) == code
        described = describe(cls("why"))
        status, body = described if described else (500, {"error": {"code": code}})
        if described:
            body["error"]["code"] = code
        again = to_exception(status, body)
        assert type(again) is cls or described is None, code
    assert error_code(errors.UnknownInteractionError) == "unknown_interaction"
    assert describe(errors.ConfidanteError("x")) is None  # not the caller's fault: a 500
    assert isinstance(to_exception(502, None, "bad gateway"), errors.RemoteError)
