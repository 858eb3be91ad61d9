"""What each endpoint does, given the user it acts for: no HTTP here, so it is tested directly.

The router (``app.py``) authenticates, calls one method, and serializes what it returns.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncGenerator, AsyncIterator
from pathlib import Path
from typing import Any

from confidante.agent.assistant import AsyncAssistant
from confidante.errors import ConfidanteError, InvalidInputError, ModelNotFoundError
from confidante.llm.base import CheckableLLM
from confidante.records import Fact, Profile, Rating, Reply, new_id
from confidante.serving import protocol as p
from confidante.serving.auth import Authenticator
from confidante.serving.wire import SERVER_ERROR_MESSAGE, describe, error_body

logger = logging.getLogger("confidante.serving")
DEFAULT_PAGE_SIZE = 100  # memories per page when a request names no limit


def sse(data: dict[str, Any] | str) -> str:
    """One server-sent event."""
    payload = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"))
    return f"data: {payload}\n\n"


def log_ignored(request: p.OpenRequest, where: str) -> None:
    """Say which fields a client sent that this server does not use."""
    if ignored := request.ignored_fields():
        logger.info("Ignored fields in %s: %s", where, ", ".join(ignored))


def extension(reply: Reply) -> p.Extension:
    """Confidante's additions to a completion."""
    return p.Extension(
        interaction_id=reply.interaction_id, message_id=reply.message_id, context=reply.context
    )


class Handlers:
    """Every endpoint's work for one ``AsyncAssistant``."""

    def __init__(self, assistant: AsyncAssistant, auth: Authenticator) -> None:
        self.assistant = assistant
        self.settings = assistant.settings
        self.auth = auth
        self._exporting = asyncio.Lock()

    def authenticate(self, authorization: str | None, requested_user: str | None) -> str:
        """The user this request acts for (see ``Authenticator``)."""
        return self.auth.user_for(authorization, requested_user)

    @property
    def model_name(self) -> str:
        """The name of the assistant's model."""
        return self.assistant.llm.model_name

    def _turn(self, request: p.ChatCompletionRequest) -> tuple[list[dict[str, Any]], int | None]:
        """Checked messages and reply length limit of a chat request."""
        log_ignored(request, "chat request")
        limit = self.settings.server_max_messages
        if len(request.messages) > limit:
            raise InvalidInputError(
                f"{len(request.messages)} messages in one request, over the limit of {limit}; "
                "send fewer or raise CONFIDANTE_SERVER_MAX_MESSAGES."
            )
        max_tokens = request.requested_max_tokens()
        if max_tokens is not None and max_tokens > self.settings.server_max_tokens:
            raise InvalidInputError(
                f"max_tokens {max_tokens} is over this server's limit of "
                f"{self.settings.server_max_tokens}; ask for fewer or raise "
                "CONFIDANTE_SERVER_MAX_TOKENS."
            )
        for message in request.messages:
            log_ignored(message, "message")
        return [m.to_input(i) for i, m in enumerate(request.messages)], max_tokens

    async def chat(self, user_id: str, request: p.ChatCompletionRequest) -> p.ChatCompletion:
        """A whole reply."""
        messages, max_tokens = self._turn(request)
        reply = await self.assistant.chat(user_id, messages, max_tokens=max_tokens)
        usage = (
            p.Usage(
                prompt_tokens=reply.prompt_tokens,
                completion_tokens=reply.completion_tokens,
                total_tokens=reply.prompt_tokens + reply.completion_tokens,
            )
            if reply.prompt_tokens is not None and reply.completion_tokens is not None
            else None
        )
        return p.ChatCompletion(
            id=f"chatcmpl-{reply.interaction_id}",
            model=self.model_name,
            choices=[
                p.Choice(
                    message=p.AssistantMessage(content=reply.content),
                    finish_reason=reply.finish_reason,
                )
            ],
            usage=usage,
            confidante=extension(reply),
        )

    async def chat_stream(
        self, user_id: str, request: p.ChatCompletionRequest
    ) -> AsyncIterator[str]:
        """Server-sent events of one reply; bad input raises here, before any event is sent."""
        messages, max_tokens = self._turn(request)
        stream = self.assistant.chat_stream(user_id, messages, max_tokens=max_tokens)
        try:
            first = await anext(stream)
        except BaseException:
            await stream.aclose()
            raise
        return self._events(stream, first)

    async def _events(
        self, stream: AsyncGenerator[str | Reply, None], first: str | Reply
    ) -> AsyncIterator[str]:
        completion_id, model = new_id("chatcmpl"), self.model_name

        def chunk(delta: p.Delta, **extra: Any) -> str:
            choice = p.ChunkChoice(delta=delta, finish_reason=extra.pop("finish_reason", None))
            event = p.ChatCompletionChunk(id=completion_id, model=model, choices=[choice], **extra)
            return sse(event.model_dump(mode="json", exclude_none=True))

        yield chunk(p.Delta(role="assistant", content=""))
        try:
            item = first
            while not isinstance(item, Reply):
                yield chunk(p.Delta(content=item))
                item = await anext(stream)
            yield chunk(p.Delta(), finish_reason=item.finish_reason, confidante=extension(item))
        except Exception as exc:  # the status is sent already: report in the stream
            yield sse(stream_error(exc))
            return
        finally:
            await stream.aclose()
        yield sse("[DONE]")

    async def models(self) -> p.ModelList:
        """The one model this server answers with.

        A model server is asked (``check``): when no model name was configured, its name is
        known only from there, and a server that is down is a 503 here, as on ``/ready``.
        """
        llm = self.assistant.llm
        name = await llm.check() if isinstance(llm, CheckableLLM) else self.model_name
        return p.ModelList(data=[p.ModelCard(id=name)])

    async def search(self, user_id: str, request: p.SearchRequest) -> p.RecollectionList:
        """The memories that best fit a query."""
        log_ignored(request, "search request")
        found = await self.assistant.recall(user_id, request.query, request.k)
        return p.RecollectionList(data=found)

    async def memories(self, user_id: str, limit: int | None, after: str | None) -> p.MemoryPage:
        """A page of the user's memories (``limit`` defaults to ``DEFAULT_PAGE_SIZE``)."""
        limit = min(DEFAULT_PAGE_SIZE, self.settings.max_page_size) if limit is None else limit
        data = await self.assistant.memories(user_id, limit=limit, after=after)
        more = len(data) == limit and bool(
            await self.assistant.memories(user_id, limit=1, after=data[-1].id)
        )
        return p.MemoryPage(
            data=data,
            has_more=more,
            first_id=data[0].id if data else None,
            last_id=data[-1].id if data else None,
        )

    async def delete_memory(self, user_id: str, memory_id: str) -> p.Deleted:
        """Delete one of the user's memories."""
        await self.assistant.delete_memory(user_id, memory_id)
        return p.Deleted(id=memory_id, object="memory")

    async def preferences(self, user_id: str) -> p.PreferenceList:
        """How the user asked to be answered."""
        return p.PreferenceList(data=await self.assistant.preferences(user_id))

    async def remove_preference(self, user_id: str, preference_id: str) -> Fact:
        """Stop applying one preference; the closed fact (kept as history)."""
        return await self.assistant.remove_preference(user_id, preference_id)

    async def profile(self, user_id: str) -> Profile:
        """The user's current facts."""
        return await self.assistant.profile(user_id)

    async def export_json(self, user_id: str) -> bytes:
        """Everything held about the user as JSON, made off the event loop (it may be large)."""
        # One at a time: each is seconds of Python for a long history, and two at once would
        # leave every other request a third of the interpreter instead of half.
        async with self._exporting:
            return await self.assistant.export_json(user_id)

    async def forget(self, user_id: str) -> p.Deleted:
        """Erase the user from every store."""
        await self.assistant.forget(user_id)
        return p.Deleted(id=user_id, object="user")

    async def observe(self, user_id: str, request: p.ObserveRequest) -> p.Observed:
        """Record and learn from messages without replying."""
        log_ignored(request, "observe request")
        messages = [m.to_input(i) for i, m in enumerate(request.messages)]
        return p.Observed(data=await self.assistant.observe(user_id, messages))

    async def feedback(self, user_id: str, request: p.FeedbackRequest) -> Rating:
        """Rate one of the user's own interactions."""
        log_ignored(request, "feedback request")
        return await self.assistant.rate(request.to_feedback(user_id))

    async def ready(self) -> dict[str, str]:
        """Whether the stores answer and the model is there (its files, or its server)."""
        self.assistant.journal.has_user("")  # a read: fails if the database is gone
        llm = self.assistant.llm
        model_dir = getattr(llm, "model_dir", None)
        if isinstance(model_dir, Path) and not (model_dir / "config.json").exists():
            raise ModelNotFoundError(f"The model folder {model_dir} is gone; prepare it again.")
        if isinstance(llm, CheckableLLM):
            await llm.check()  # a model server that is down or lacks the model: 503
        return {"status": "ready", "model": self.model_name}


def stream_error(exc: Exception) -> dict[str, Any]:
    """The error event of a stream that failed after it started."""
    described = describe(exc) if isinstance(exc, ConfidanteError) else None
    if described is None:
        logger.exception("A streamed reply failed", exc_info=exc)
        return error_body(SERVER_ERROR_MESSAGE, "server_error", None)
    return described[1]
