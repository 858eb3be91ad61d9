"""Confidante: a personal AI assistant that learns who you are and remembers it."""

from confidante.agent.assistant import AsyncAssistant
from confidante.agent.sync import Assistant
from confidante.client import AsyncClient, Client
from confidante.config import Settings
from confidante.errors import (
    AuthenticationError,
    ConfidanteError,
    DataDirNotWritableError,
    ExtractionError,
    GenerationError,
    InsecureBindError,
    InvalidInputError,
    InvalidMessageError,
    InvalidRatingError,
    MessageTooLargeError,
    ModelError,
    ModelNotFoundError,
    NotFoundError,
    PermissionDeniedError,
    RemoteError,
    RequestTooLargeError,
    StorageError,
    UnknownInteractionError,
    UnknownMemoryError,
    UnknownUserError,
)
from confidante.records import Fact, Message, Profile, Rating, Recollection, Reply

__all__ = [
    "Assistant",
    "AsyncAssistant",
    "AsyncClient",
    "AuthenticationError",
    "Client",
    "ConfidanteError",
    "DataDirNotWritableError",
    "ExtractionError",
    "Fact",
    "GenerationError",
    "InsecureBindError",
    "InvalidInputError",
    "InvalidMessageError",
    "InvalidRatingError",
    "Message",
    "MessageTooLargeError",
    "ModelError",
    "ModelNotFoundError",
    "NotFoundError",
    "PermissionDeniedError",
    "Profile",
    "Rating",
    "Recollection",
    "RemoteError",
    "Reply",
    "RequestTooLargeError",
    "Settings",
    "StorageError",
    "UnknownInteractionError",
    "UnknownMemoryError",
    "UnknownUserError",
]
