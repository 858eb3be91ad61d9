"""Confidante: a personal AI assistant that learns who you are and remembers it.

The names below are imported when first used, not with the package: ``import confidante``
(and so every ``confidante`` command) does not pay for the assistant's dependencies until it
needs them. The errors have no dependencies and are imported at once.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from confidante.errors import (
    AuthenticationError,
    BackendUnavailableError,
    BatchNotFoundError,
    ConfidanteError,
    CorruptBatchError,
    DataDirInUseError,
    DataDirNotFoundError,
    DataDirNotWritableError,
    EncryptionError,
    EncryptionKeyError,
    ExtractionError,
    GenerationError,
    GenerationTimeoutError,
    InsecureBindError,
    InvalidInputError,
    InvalidMessageError,
    InvalidRatingError,
    MessageTooLargeError,
    ModelError,
    ModelIntegrityError,
    ModelNotFoundError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitExceededError,
    RemoteError,
    RequestTimeoutError,
    RequestTooLargeError,
    StorageError,
    TooFewExamplesError,
    TrainingError,
    UnknownInteractionError,
    UnknownMemoryError,
    UnknownPreferenceError,
    UnknownUserError,
)

if TYPE_CHECKING:
    from confidante.agent.assistant import AsyncAssistant
    from confidante.agent.sync import Assistant
    from confidante.client import AsyncClient, Client
    from confidante.config import Settings
    from confidante.records import Fact, Feedback, Message, Profile, Rating, Recollection, Reply

_LAZY = {
    "AsyncAssistant": "confidante.agent.assistant",
    "Assistant": "confidante.agent.sync",
    "AsyncClient": "confidante.client",
    "Client": "confidante.client",
    "Settings": "confidante.config",
    **{
        name: "confidante.records"
        for name in ("Fact", "Feedback", "Message", "Profile", "Rating", "Recollection", "Reply")
    },
}

__all__ = [
    "Assistant",
    "AsyncAssistant",
    "AsyncClient",
    "AuthenticationError",
    "BackendUnavailableError",
    "BatchNotFoundError",
    "Client",
    "ConfidanteError",
    "CorruptBatchError",
    "DataDirInUseError",
    "DataDirNotFoundError",
    "DataDirNotWritableError",
    "EncryptionError",
    "EncryptionKeyError",
    "ExtractionError",
    "Fact",
    "Feedback",
    "GenerationError",
    "GenerationTimeoutError",
    "InsecureBindError",
    "InvalidInputError",
    "InvalidMessageError",
    "InvalidRatingError",
    "Message",
    "MessageTooLargeError",
    "ModelError",
    "ModelIntegrityError",
    "ModelNotFoundError",
    "NotFoundError",
    "PermissionDeniedError",
    "Profile",
    "RateLimitExceededError",
    "Rating",
    "Recollection",
    "RemoteError",
    "Reply",
    "RequestTimeoutError",
    "RequestTooLargeError",
    "Settings",
    "StorageError",
    "TooFewExamplesError",
    "TrainingError",
    "UnknownInteractionError",
    "UnknownMemoryError",
    "UnknownPreferenceError",
    "UnknownUserError",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'confidante' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
