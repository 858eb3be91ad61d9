"""Confidante: a personal AI assistant that learns who you are and remembers it."""

from confidante.agent.assistant import AsyncAssistant
from confidante.agent.sync import Assistant
from confidante.config import Settings
from confidante.errors import (
    ConfidanteError,
    DataDirNotWritableError,
    GenerationError,
    InvalidInputError,
    InvalidMessageError,
    InvalidRatingError,
    MessageTooLargeError,
    ModelError,
    ModelNotFoundError,
    NotFoundError,
    StorageError,
    UnknownInteractionError,
    UnknownMemoryError,
    UnknownUserError,
)
from confidante.records import Fact, Message, Profile, Rating, Recollection, Reply

__all__ = [
    "Assistant",
    "AsyncAssistant",
    "ConfidanteError",
    "DataDirNotWritableError",
    "Fact",
    "GenerationError",
    "InvalidInputError",
    "InvalidMessageError",
    "InvalidRatingError",
    "Message",
    "MessageTooLargeError",
    "ModelError",
    "ModelNotFoundError",
    "NotFoundError",
    "Profile",
    "Rating",
    "Recollection",
    "Reply",
    "Settings",
    "StorageError",
    "UnknownInteractionError",
    "UnknownMemoryError",
    "UnknownUserError",
]
