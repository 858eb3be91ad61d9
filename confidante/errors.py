"""Every error Confidante raises on purpose.

One tree, so callers can catch ``ConfidanteError`` and the HTTP layer can map
exactly these to 4xx and anything else to a sanitized 500::

    ConfidanteError
    ├── InvalidInputError            the caller's mistake; fix the call
    │   ├── InvalidMessageError      empty/non-string content, unknown role, bad field
    │   ├── MessageTooLargeError     content over ``Settings.max_message_chars``
    │   ├── InvalidRatingError       score outside the rating scale
    │   ├── TooFewExamplesError      a batch has too few rows to train on
    │   └── RequestTooLargeError     HTTP body over ``Settings.server_max_body_bytes``
    ├── NotFoundError
    │   ├── UnknownUserError         nothing is stored for this user
    │   ├── UnknownInteractionError  no interaction with this id (for this user)
    │   ├── UnknownMemoryError       no memory with this id for this user
    │   ├── UnknownPreferenceError   no current reply preference with this id for this user
    │   ├── BatchNotFoundError       no training batch with this id
    │   └── DataDirNotFoundError     a read-only command named a data dir that is not there
    ├── StorageError                 a store could not be read or written
    │   ├── DataDirNotWritableError
    │   ├── CorruptBatchError        a training batch on disk is unreadable or inconsistent
    │   └── EncryptionError          stored text cannot be sealed or opened (erased key,
    │       │                        damage, plain text in an encrypted data dir)
    │       └── EncryptionKeyError   the master key is missing, malformed, exposed or wrong
    ├── ModelError
    │   ├── ModelNotFoundError       weights missing or not prepared
    │   ├── ModelIntegrityError      a packaged model's bytes do not match their sha256 pin
    │   ├── BackendUnavailableError  the model server is not running or not reachable
    │   ├── GenerationError          the backend failed while generating
    │   │   └── GenerationTimeoutError   the backend did not answer in time
    │   ├── ExtractionError          a reply is not the JSON that fact extraction asked for
    │   └── TrainingError            fine-tuning an adapter failed
    ├── AuthenticationError          no API key, or an unknown, revoked or expired one
    ├── PermissionDeniedError        the API key may not act for that user (or, in local
    │                                mode, the request's Host or Origin is not loopback)
    ├── RateLimitExceededError       the key's requests per minute are used up (HTTP 429)
    ├── RequestTimeoutError          the server did not finish a request in time (HTTP 504)
    ├── InsecureBindError            asked to serve without auth beyond loopback or with keys
    └── RemoteError                  the server was unreachable or answered unexpectedly

Every message says how to fix the problem.
"""

from __future__ import annotations


class ConfidanteError(Exception):
    """Root of every error Confidante raises on purpose."""


class InvalidInputError(ConfidanteError):
    """The caller passed something Confidante cannot accept."""


class InvalidMessageError(InvalidInputError):
    """A message is malformed: empty or non-string content, unknown role, bad field."""


class MessageTooLargeError(InvalidInputError):
    """A message's content is longer than the configured limit."""


class InvalidRatingError(InvalidInputError):
    """A rating has neither score nor thumbs, a score off the scale, or a malformed field."""


class TooFewExamplesError(InvalidInputError):
    """A training batch (or one user's share of it) has fewer rows than training needs."""


class NotFoundError(ConfidanteError):
    """Something the caller named does not exist."""


class UnknownUserError(NotFoundError):
    """No data is stored for this user id."""


class UnknownInteractionError(NotFoundError):
    """No interaction has this id."""


class UnknownMemoryError(NotFoundError):
    """The user has no memory with this id."""


class UnknownPreferenceError(NotFoundError):
    """The user has no current reply preference with this id."""


class BatchNotFoundError(NotFoundError):
    """No training batch has this id under the data directory."""


class DataDirNotFoundError(NotFoundError):
    """A command that reads an existing data directory was given one that does not exist."""


class StorageError(ConfidanteError):
    """A store (SQLite, Chroma) could not be opened, read or written."""


class DataDirNotWritableError(StorageError):
    """The data directory cannot be created or written."""


class DataDirInUseError(StorageError):
    """Another assistant, in this process or another, has the data directory open for writing."""


class CorruptBatchError(StorageError):
    """A training batch directory has a missing or unreadable manifest or file."""


class EncryptionError(StorageError):
    """Stored text cannot be sealed or opened: an erased key, damage, or mixed plain text."""


class EncryptionKeyError(EncryptionError):
    """The master key is missing, malformed, readable by others, kept in the data dir, or wrong."""


class ModelError(ConfidanteError):
    """A model could not be loaded or run."""


class ModelNotFoundError(ModelError):
    """Model weights are missing or were not prepared."""


class ModelIntegrityError(ModelError):
    """A packaged model's files do not match the sha256 they are pinned to; they are refused."""


class GenerationError(ModelError):
    """The generation backend failed."""


class GenerationTimeoutError(GenerationError):
    """The generation backend did not answer within the configured timeout."""


class BackendUnavailableError(ModelError):
    """The model server could not be reached (not running, wrong URL) or is not ready."""


class ExtractionError(ModelError):
    """A model's reply could not be read as the facts JSON that was asked for."""


class TrainingError(ModelError):
    """Fine-tuning an adapter failed; nothing was written."""


class RequestTooLargeError(InvalidInputError):
    """An HTTP request body is larger than the server accepts."""


class AuthenticationError(ConfidanteError):
    """The request carries no API key, or one that is unknown, revoked or expired."""


class PermissionDeniedError(ConfidanteError):
    """The API key is valid but may not act for the user named in the request."""


class RateLimitExceededError(ConfidanteError):
    """The API key made more requests in the last minute than its limit allows."""

    retry_after_s: int | None = None  # when known: the seconds until a request is admitted


class RequestTimeoutError(ConfidanteError):
    """The server gave up on a request that ran past ``Settings.server_request_timeout_s``."""


class InsecureBindError(ConfidanteError):
    """The server was asked to run without authentication where that is not safe."""


class RemoteError(ConfidanteError):
    """The Confidante server was unreachable or gave an answer the client cannot map.

    ``status_code`` is ``None`` when no response arrived; ``body`` is the raw response text.
    """

    def __init__(self, message: str, *, status_code: int | None = None, body: str = "") -> None:
        super().__init__(message)
        self.status_code = status_code
        self.body = body
