"""Records shared by every layer: messages in, replies and recollections out, facts, ratings."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ModelWrapValidatorHandler,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from confidante.errors import InvalidMessageError, InvalidRatingError, MessageTooLargeError

Role = Literal["system", "user", "assistant"]
ROLES: tuple[str, ...] = ("system", "user", "assistant")

RecollectionKind = Literal["fact", "message", "profile"]

# Messages as chat models and OpenAI's API take them: [{"role": ..., "content": ...}, ...].
ChatMessages = list[dict[str, str]]

FeedbackSource = Literal["sdk", "http", "cli"]
FEEDBACK_SOURCES: tuple[str, ...] = ("sdk", "http", "cli")
RATING_SCALE = (1, 5)


def utc_now() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


def new_id(prefix: str) -> str:
    """A fresh, sortable-enough unique id such as ``msg_3f2a...``."""
    return f"{prefix}_{uuid.uuid4().hex}"


class Message(BaseModel):
    """One chat message, OpenAI-style, plus what a memory needs: id, speaker name, time."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    role: Role
    content: str
    name: str | None = None
    id: str | None = None
    created_at: datetime | None = None


class Recollection(BaseModel):
    """Something recalled from memory, traceable to the messages it came from."""

    model_config = ConfigDict(frozen=True)

    id: str
    text: str
    kind: RecollectionKind
    score: float
    source_ids: list[str]
    created_at: datetime | None = None


class Fact(BaseModel):
    """A statement in the knowledge graph: ``subject --predicate--> object`` with time and sources.

    ``valid_from``/``valid_to`` say when it was true in the world; ``created_at``/``expired_at``
    when Confidante learned it and when a newer statement replaced it.
    """

    model_config = ConfigDict(frozen=True)

    id: str
    user_id: str
    subject: str
    predicate: str
    object: str
    role: str | None = None
    statement: str
    source_ids: list[str]
    confidence: float = 1.0
    valid_from: datetime | None = None
    valid_to: datetime | None = None
    created_at: datetime
    expired_at: datetime | None = None
    closed_by: str | None = None  # the message whose newer statement retired this fact

    @property
    def is_current(self) -> bool:
        """True while no newer statement has closed this fact."""
        return self.valid_to is None and self.expired_at is None


class Reply(BaseModel):
    """What ``chat`` returns: the reply, its interaction id and exactly what was recalled for it."""

    model_config = ConfigDict(frozen=True)

    content: str
    interaction_id: str
    context: list[Recollection]
    message_id: str
    finish_reason: Literal["stop", "length"] = "stop"  # "length": cut at max_tokens
    prompt_tokens: int | None = None
    completion_tokens: int | None = None


class Rating(BaseModel):
    """A person's feedback on one reply: a score (1-5), thumbs, or both; maybe a correction.

    ``correction`` is the reply the person wanted; ``source`` is where the feedback came from.
    """

    model_config = ConfigDict(frozen=True)

    interaction_id: str
    user_id: str
    score: int | None = None
    thumbs: bool | None = None
    comment: str | None = None
    correction: str | None = None
    source: FeedbackSource = "sdk"
    created_at: datetime


class Feedback(BaseModel):
    """What ``rate`` takes: a person's feedback on one reply, a score (1-5), thumbs, or both.

    ``correction`` is the reply the person wanted; ``source`` says where the feedback came
    from ("sdk", "http", "cli"). With ``user_id``, only that user's interactions can be rated:
    any other id is reported as unknown, so one user cannot probe another's. Every check
    raises ``InvalidRatingError`` (never pydantic's ``ValidationError``); the length limit,
    which is a setting, is checked by ``rate`` (see ``check_length``).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    interaction_id: str
    score: int | None = None
    thumbs: bool | None = None
    comment: str | None = None
    correction: str | None = None
    source: FeedbackSource = "sdk"
    user_id: str | None = None

    @model_validator(mode="wrap")
    @classmethod
    def _typed_errors(cls, data: Any, handler: ModelWrapValidatorHandler[Feedback]) -> Feedback:
        """Report what the field validators below do not check as ``InvalidRatingError``."""
        try:
            return handler(data)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(part) for part in first["loc"]) or "feedback"
            raise InvalidRatingError(f"{where}: {first['msg']}") from None

    @field_validator("score", mode="before")
    @classmethod
    def _score_on_scale(cls, score: object) -> object:
        low, high = RATING_SCALE
        # Checked before pydantic's coercion, which would take True as 1 and 5.0 as 5.
        if score is not None and (
            isinstance(score, bool) or not isinstance(score, int) or not low <= score <= high
        ):
            raise InvalidRatingError(
                f"score must be an integer from {low} to {high}; got {score!r}."
            )
        return score

    @field_validator("thumbs", mode="before")
    @classmethod
    def _thumbs_is_bool(cls, thumbs: object) -> object:
        if thumbs is not None and not isinstance(thumbs, bool):
            raise InvalidRatingError(f"thumbs must be True, False or None; got {thumbs!r}.")
        return thumbs

    @field_validator("source", mode="before")
    @classmethod
    def _known_source(cls, source: object) -> object:
        if source not in FEEDBACK_SOURCES:
            raise InvalidRatingError(
                f"source must be one of {', '.join(FEEDBACK_SOURCES)}; got {source!r}."
            )
        return source

    @field_validator("comment", "correction", mode="before")
    @classmethod
    def _text_or_none(cls, text: object, info: ValidationInfo) -> object:
        if text is not None and not isinstance(text, str):
            raise InvalidRatingError(f"{info.field_name} must be a string or None.")
        return text

    @field_validator("correction")
    @classmethod
    def _correction_not_blank(cls, correction: str | None) -> str | None:
        if correction is not None and not correction.strip():
            raise InvalidRatingError("correction is empty; give the reply you wanted, or None.")
        return correction

    @model_validator(mode="after")
    def _score_or_thumbs(self) -> Feedback:
        if self.score is None and self.thumbs is None:
            low, high = RATING_SCALE
            raise InvalidRatingError(
                f"Give a score from {low} to {high}, thumbs=True/False, or both."
            )
        return self

    @field_validator("interaction_id", "user_id")
    @classmethod
    def _valid_id(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:  # user_id only: interaction_id is a str by now
            return None
        try:
            return validate_id(value, str(info.field_name))
        except InvalidMessageError as exc:
            raise InvalidRatingError(str(exc)) from None

    @field_validator("comment", "correction")
    @classmethod
    def _valid_text(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return None
        try:
            return valid_unicode(value, str(info.field_name))
        except InvalidMessageError as exc:
            raise InvalidRatingError(str(exc)) from None

    def check_length(self, max_chars: int) -> None:
        """Raise ``InvalidRatingError`` if the comment or correction is over ``max_chars``."""
        for name, text in (("comment", self.comment), ("correction", self.correction)):
            if text is not None and len(text) > max_chars:
                raise InvalidRatingError(f"{name} is longer than CONFIDANTE_MAX_MESSAGE_CHARS.")


MessageInput = Message | Mapping[str, Any]


def _coerce_one(raw: MessageInput, index: int, max_chars: int) -> Message:
    if isinstance(raw, Message):
        data: dict[str, Any] = raw.model_dump()
    elif isinstance(raw, Mapping):
        data = dict(raw)
    else:
        raise InvalidMessageError(
            f"messages[{index}] is a {type(raw).__name__}; pass a dict like "
            "{'role': 'user', 'content': '...'} or a confidante.Message."
        )
    role, content = data.get("role"), data.get("content")
    if role not in ROLES:
        raise InvalidMessageError(
            f"messages[{index}] has role {role!r}; use one of {', '.join(ROLES)}."
        )
    if not isinstance(content, str):
        raise InvalidMessageError(
            f"messages[{index}] content is {type(content).__name__}; it must be a string."
        )
    if not content.strip():
        raise InvalidMessageError(f"messages[{index}] content is empty; send some text.")
    if len(content) > max_chars:
        raise MessageTooLargeError(
            f"messages[{index}] has {len(content)} characters, over the limit of {max_chars}; "
            "split it or raise CONFIDANTE_MAX_MESSAGE_CHARS."
        )
    valid_unicode(content, f"messages[{index}] content")
    for field in ("id", "name"):
        if data.get(field) is not None:
            validate_id(data[field], f"messages[{index}].{field}")
    try:
        message = Message.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise InvalidMessageError(f"messages[{index}].{where}: {first['msg']}") from None
    if message.created_at is not None and message.created_at.tzinfo is None:
        # Naive timestamps are taken as UTC so that every stored time compares.
        message = message.model_copy(update={"created_at": message.created_at.replace(tzinfo=UTC)})
    return message


def coerce_messages(
    raw: Iterable[MessageInput], *, max_chars: int, max_count: int
) -> list[Message]:
    """Validate OpenAI-style dicts or ``Message``s, raising ``InvalidInputError`` subclasses."""
    if isinstance(raw, (str, bytes, Mapping)):
        raise InvalidMessageError("messages must be a list of messages, not a single value.")
    items = list(raw)
    if not items:
        raise InvalidMessageError("messages is empty; pass at least one message.")
    if len(items) > max_count:
        raise InvalidMessageError(
            f"{len(items)} messages in one call, over the limit of {max_count}; send them in "
            "batches or raise CONFIDANTE_MAX_MESSAGES_PER_CALL."
        )
    messages = [_coerce_one(item, i, max_chars) for i, item in enumerate(items)]
    ids = [m.id for m in messages if m.id is not None]
    if len(ids) != len(set(ids)):
        raise InvalidMessageError("two messages in one call share an id; ids must be unique.")
    return messages


def stamp(message: Message, *, default_time: datetime) -> Message:
    """Give a message an id and a time if the caller did not."""
    return message.model_copy(
        update={
            "id": message.id or new_id("msg"),
            "created_at": message.created_at or default_time,
        }
    )


MAX_ID_CHARS = 200  # user ids, message ids, speaker names, interaction and memory ids


def valid_unicode(text: str, what: str) -> str:
    """``text``, if it can be stored and sent as UTF-8: no lone surrogates (``"\ud800"``).

    The error never repeats ``text``: an error body holding a lone surrogate cannot be sent.
    """
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidMessageError(
            f"{what} is not valid Unicode: a lone surrogate at character {exc.start}; send "
            "text as UTF-8."
        ) from None
    return text


def validate_id(value: object, what: str) -> str:
    """An id or name: a non-empty string of valid Unicode, at most ``MAX_ID_CHARS`` long."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidMessageError(f"{what} must be a non-empty string.")
    if len(value) > MAX_ID_CHARS:
        raise InvalidMessageError(f"{what} is longer than {MAX_ID_CHARS} characters.")
    return valid_unicode(value, what)


def validate_user_id(user_id: object) -> str:
    """User ids are non-empty strings of valid Unicode, at most 200 characters."""
    return validate_id(user_id, "user_id")


class Profile(BaseModel):
    """The current facts about a user, newest knowledge applied.

    Who they are and what they like; the events they told of ("went hiking") are in their
    memory and export, recalled when a message calls for them, not listed here.
    """

    model_config = ConfigDict(frozen=True)

    user_id: str
    facts: list[Fact] = Field(default_factory=list)

    def lines(self) -> list[str]:
        """One readable statement per fact."""
        return [fact.statement for fact in self.facts]
