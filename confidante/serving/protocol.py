"""The wire format: OpenAI chat-completion models plus Confidante's memory endpoints.

Request models accept fields they do not know (``extra="allow"``), because OpenAI clients
send new ones all the time; ``ignored_fields`` names them so the handler can log them.
Responses carry Confidante's additions under ``confidante``, which OpenAI clients ignore.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from confidante.errors import InvalidMessageError
from confidante.records import Fact, Feedback, Recollection


class OpenRequest(BaseModel):
    """A request model that keeps unknown fields instead of rejecting them."""

    model_config = ConfigDict(extra="allow")

    def ignored_fields(self) -> list[str]:
        """Fields the client sent that this server does not use."""
        return sorted(self.model_extra or {})


class TextPart(BaseModel):
    """One part of a multi-part message; only text parts are accepted."""

    model_config = ConfigDict(extra="allow")

    type: str
    text: str | None = None


class ChatMessage(OpenRequest):
    """An OpenAI chat message; ``id`` and ``created_at`` are Confidante's optional additions."""

    role: str
    content: str | list[TextPart] | None = None
    name: str | None = None
    id: str | None = None
    created_at: datetime | None = None

    def text(self, index: int) -> str:
        """The content as one string (text parts joined)."""
        if isinstance(self.content, list):
            if any(part.type != "text" or part.text is None for part in self.content):
                raise InvalidMessageError(
                    f"messages[{index}] has a non-text part; this server accepts text only."
                )
            return "".join(part.text or "" for part in self.content)
        return self.content or ""

    def to_input(self, index: int) -> dict[str, Any]:
        """The message as ``AsyncAssistant`` takes it (``developer`` is a system message)."""
        role = "system" if self.role == "developer" else self.role
        known = {"name": self.name, "id": self.id, "created_at": self.created_at}
        given = {key: value for key, value in known.items() if value is not None}
        return {"role": role, "content": self.text(index), **given}


class ChatCompletionRequest(OpenRequest):
    """``POST /v1/chat/completions``; ``user`` names the user for admin keys and local mode."""

    messages: list[ChatMessage] = Field(min_length=1)
    model: str | None = None
    stream: bool = False
    max_tokens: int | None = Field(default=None, ge=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)
    n: Literal[1] = 1
    user: str | None = None

    def requested_max_tokens(self) -> int | None:
        """The reply length limit the client asked for, if any."""
        return self.max_completion_tokens or self.max_tokens


class Extension(BaseModel):
    """Confidante's part of a reply: the interaction to rate and what was recalled."""

    interaction_id: str
    message_id: str
    context: list[Recollection]


class AssistantMessage(BaseModel):
    """The reply message."""

    role: Literal["assistant"] = "assistant"
    content: str


class Choice(BaseModel):
    """The one choice of a completion."""

    index: int = 0
    message: AssistantMessage
    finish_reason: str = "stop"
    logprobs: None = None


def _created() -> int:
    return int(time.time())


class Usage(BaseModel):
    """Tokens a completion used."""

    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class ChatCompletion(BaseModel):
    """A non-streamed chat completion."""

    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int = Field(default_factory=_created)
    model: str
    choices: list[Choice]
    usage: Usage | None = None
    confidante: Extension


class Delta(BaseModel):
    """What a chunk adds to the reply."""

    role: Literal["assistant"] | None = None
    content: str | None = None


class ChunkChoice(BaseModel):
    """The one choice of a chunk."""

    index: int = 0
    delta: Delta
    finish_reason: str | None = None
    logprobs: None = None


class ChatCompletionChunk(BaseModel):
    """One server-sent event of a streamed completion; the last one carries ``confidante``."""

    id: str
    object: Literal["chat.completion.chunk"] = "chat.completion.chunk"
    created: int = Field(default_factory=_created)
    model: str
    choices: list[ChunkChoice]
    confidante: Extension | None = None


class ModelCard(BaseModel):
    """One entry of ``GET /v1/models``."""

    id: str
    object: Literal["model"] = "model"
    created: int = Field(default_factory=_created)
    owned_by: str = "confidante"


class ModelList(BaseModel):
    """``GET /v1/models``."""

    object: Literal["list"] = "list"
    data: list[ModelCard]


class SearchRequest(OpenRequest):
    """``POST /v1/memories/search``."""

    query: str
    k: int = Field(default=10, ge=1, le=100)
    user: str | None = None


class ObserveRequest(OpenRequest):
    """``POST /v1/observe``: record and learn from messages without replying."""

    messages: list[ChatMessage] = Field(min_length=1)
    user: str | None = None


class FeedbackRequest(OpenRequest):
    """``POST /v1/feedback``: rate one of the caller's interactions (score, thumbs or both)."""

    interaction_id: str
    score: int | None = None
    thumbs: bool | None = None
    comment: str | None = None
    correction: str | None = None
    user: str | None = None

    def to_feedback(self, user_id: str) -> Feedback:
        """The feedback record for ``user_id``, who may rate only their own interactions."""
        return Feedback(
            interaction_id=self.interaction_id,
            score=self.score,
            thumbs=self.thumbs,
            comment=self.comment,
            correction=self.correction,
            source="http",
            user_id=user_id,
        )


class RecollectionList(BaseModel):
    """A list of memories or recollections."""

    object: Literal["list"] = "list"
    data: list[Recollection]


class MemoryPage(BaseModel):
    """A page of memories, oldest first: ask for the next with ``after=last_id``."""

    object: Literal["list"] = "list"
    data: list[Recollection]
    has_more: bool
    first_id: str | None
    last_id: str | None


class ErrorDetail(BaseModel):
    """What went wrong, OpenAI's way; ``code`` names the Confidante error."""

    message: str
    type: str
    param: str | None
    code: str | None


class ErrorBody(BaseModel):
    """Every error response: ``{"error": {...}}``."""

    error: ErrorDetail


# Every status an endpoint can answer with besides its success, declared in the OpenAPI schema.
ERROR_STATUSES = {
    400: "The request is malformed or over a limit (the message names the limit).",
    401: "No API key, or an unknown, revoked or expired one.",
    403: "The key may not act for that user, or (local mode) the Host or Origin is not loopback.",
    404: "No such user, interaction, memory or route.",
    405: "The route does not take this method.",
    413: "The request body is over CONFIDANTE_SERVER_MAX_BODY_BYTES.",
    429: "The key's requests per minute are used up (see Retry-After).",
    500: "Something failed unexpectedly; details are only in the server's log.",
    503: "The model or a store is unavailable.",
    504: "The request ran past CONFIDANTE_SERVER_REQUEST_TIMEOUT_S.",
}


class PreferenceList(BaseModel):
    """The user's current instructions about replies, oldest first."""

    object: Literal["list"] = "list"
    data: list[Fact]


class Deleted(BaseModel):
    """What a delete returns."""

    id: str
    object: str
    deleted: bool = True


class Observed(BaseModel):
    """What ``POST /v1/observe`` returns: the ids of the stored messages."""

    object: Literal["list"] = "list"
    data: list[str]
