"""The remote SDK: ``AsyncClient`` and ``Client`` talk to ``confidante serve`` over HTTP.

They have the methods of ``AsyncAssistant``/``Assistant`` with the same signatures, return the
same records and raise the same ``ConfidanteError`` subclasses, so code moves between embedded
and remote by changing the line that builds the assistant::

    assistant = Assistant.open("./my-data")
    assistant = Client("http://127.0.0.1:8000", api_key="cfd_...")

With a user's key, ``user_id`` must be that user; with an admin key (or a local server without
keys) it names the user to act for.
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, Iterable
from typing import Any, Self, TypeVar
from urllib.parse import quote

import httpx

from confidante.blocking import Blocking
from confidante.errors import RemoteError
from confidante.records import (
    Fact,
    Feedback,
    Message,
    MessageInput,
    Profile,
    Rating,
    Recollection,
    Reply,
)
from confidante.serving.wire import to_exception

T = TypeVar("T")


def _chat_body(
    user_id: str, messages: Iterable[MessageInput], max_tokens: int | None
) -> dict[str, Any]:
    body: dict[str, Any] = {"messages": [_wire_message(m) for m in messages], "user": user_id}
    if max_tokens is not None:
        body["max_tokens"] = max_tokens
    return body


def _wire_message(message: MessageInput) -> dict[str, Any]:
    if isinstance(message, Message):
        return message.model_dump(mode="json", exclude_none=True)
    return {k: v.isoformat() if hasattr(v, "isoformat") else v for k, v in dict(message).items()}


def _raise_for_error(response: httpx.Response) -> None:
    if response.is_success:
        return
    try:
        body: Any = response.json()
    except ValueError:
        body = None
    raise to_exception(response.status_code, body, response.text)


def _reply(completion: dict[str, Any], content: str) -> Reply:
    extra = completion.get("confidante")
    if not isinstance(extra, dict):
        raise RemoteError("The server's reply has no `confidante` field; is it Confidante?")
    choices = completion.get("choices") or [{}]
    usage = completion.get("usage") or {}
    return Reply(
        content=content,
        interaction_id=extra["interaction_id"],
        message_id=extra["message_id"],
        context=[Recollection.model_validate(r) for r in extra["context"]],
        finish_reason="length" if choices[0].get("finish_reason") == "length" else "stop",
        prompt_tokens=usage.get("prompt_tokens"),
        completion_tokens=usage.get("completion_tokens"),
    )


class AsyncClient:
    """A Confidante server, with the methods of ``AsyncAssistant`` as coroutines."""

    def __init__(
        self,
        base_url: str,
        api_key: str | None = None,
        *,
        timeout: float = 120.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"), headers=headers, timeout=timeout, transport=transport
        )

    async def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = await self._http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise RemoteError(
                f"Cannot reach the Confidante server at {self._http.base_url}: {exc}"
            ) from exc
        _raise_for_error(response)
        return response.json()

    async def chat(
        self, user_id: str, messages: Iterable[MessageInput], *, max_tokens: int | None = None
    ) -> Reply:
        """See ``AsyncAssistant.chat``."""
        body = _chat_body(user_id, messages, max_tokens)
        completion = await self._call("POST", "/v1/chat/completions", json=body)
        return _reply(completion, completion["choices"][0]["message"]["content"])

    async def chat_stream(
        self, user_id: str, messages: Iterable[MessageInput], *, max_tokens: int | None = None
    ) -> AsyncGenerator[str | Reply, None]:
        """See ``AsyncAssistant.chat_stream``: text deltas, then the ``Reply``."""
        body = {**_chat_body(user_id, messages, max_tokens), "stream": True}
        parts: list[str] = []
        try:
            async with self._http.stream("POST", "/v1/chat/completions", json=body) as response:
                if not response.is_success:
                    await response.aread()
                    _raise_for_error(response)
                async for line in response.aiter_lines():
                    if not line.startswith("data: ") or line == "data: [DONE]":
                        continue
                    event = json.loads(line.removeprefix("data: "))
                    if "error" in event:
                        raise to_exception(500, event, line)
                    delta = event["choices"][0]["delta"].get("content")
                    if delta:
                        parts.append(delta)
                        yield delta
                    if event.get("confidante"):
                        yield _reply(event, "".join(parts).strip())
                        return
        except httpx.TransportError as exc:
            raise RemoteError(f"The stream from {self._http.base_url} broke: {exc}") from exc
        raise RemoteError("The stream ended without a reply; the server may have restarted.")

    async def observe(self, user_id: str, messages: Iterable[MessageInput]) -> list[str]:
        """See ``AsyncAssistant.observe``."""
        body = {"messages": [_wire_message(m) for m in messages], "user": user_id}
        return (await self._call("POST", "/v1/observe", json=body))["data"]

    async def recall(self, user_id: str, query: str, k: int = 10) -> list[Recollection]:
        """See ``AsyncAssistant.recall``."""
        body = {"query": query, "k": k, "user": user_id}
        found = await self._call("POST", "/v1/memories/search", json=body)
        return [Recollection.model_validate(r) for r in found["data"]]

    async def profile(self, user_id: str) -> Profile:
        """See ``AsyncAssistant.profile``."""
        return Profile.model_validate(
            await self._call("GET", "/v1/profile", params={"user": user_id})
        )

    async def rate(self, feedback: Feedback) -> Rating:
        """See ``AsyncAssistant.rate``; without ``feedback.user_id``, the key's own user rates.

        The server records feedback sent over HTTP with source "http", whatever
        ``feedback.source`` says.
        """
        body = {
            "interaction_id": feedback.interaction_id,
            "score": feedback.score,
            "thumbs": feedback.thumbs,
            "comment": feedback.comment,
            "correction": feedback.correction,
            "user": feedback.user_id,
        }
        return Rating.model_validate(await self._call("POST", "/v1/feedback", json=body))

    async def memories(
        self, user_id: str, *, limit: int | None = None, after: str | None = None
    ) -> list[Recollection]:
        """See ``AsyncAssistant.memories``; without ``limit``, every page is fetched in turn."""
        params: dict[str, str | int] = {"user": user_id}
        if limit is not None:
            params["limit"] = limit
        found: list[Recollection] = []
        while True:
            if after is not None:
                params["after"] = after
            page = await self._call("GET", "/v1/memories", params=params)
            found += [Recollection.model_validate(r) for r in page["data"]]
            if limit is not None or not page.get("has_more") or not found:
                return found
            after = found[-1].id

    async def delete_memory(self, user_id: str, memory_id: str) -> None:
        """See ``AsyncAssistant.delete_memory``."""
        path = f"/v1/memories/{quote(memory_id, safe='')}"
        await self._call("DELETE", path, params={"user": user_id})

    async def preferences(self, user_id: str) -> list[Fact]:
        """See ``AsyncAssistant.preferences``."""
        listed = await self._call("GET", "/v1/preferences", params={"user": user_id})
        return [Fact.model_validate(f) for f in listed["data"]]

    async def remove_preference(self, user_id: str, preference_id: str) -> Fact:
        """See ``AsyncAssistant.remove_preference``."""
        path = f"/v1/preferences/{quote(preference_id, safe='')}"
        return Fact.model_validate(await self._call("DELETE", path, params={"user": user_id}))

    async def forget(self, user_id: str) -> None:
        """See ``AsyncAssistant.forget``."""
        await self._call("DELETE", "/v1/users/me", params={"user": user_id})

    async def export(self, user_id: str) -> dict[str, Any]:
        """See ``AsyncAssistant.export``."""
        return await self._call("GET", "/v1/export", params={"user": user_id})

    async def close(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


class Client(Blocking[AsyncClient]):
    """Blocking wrapper: each method runs the ``AsyncClient`` coroutine of the same name."""

    def __init__(
        self,
        base_url: str,
        api_key: str | None = None,
        *,
        timeout: float = 120.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        super().__init__(AsyncClient(base_url, api_key, timeout=timeout, transport=transport))
