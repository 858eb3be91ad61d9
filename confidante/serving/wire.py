"""Errors on the wire: ``ConfidanteError`` <-> OpenAI-format error bodies, both directions.

The server and the remote client share this table, so a client raises the very class the
server caught. ``code`` names the class (``UnknownInteractionError`` -> ``unknown_interaction``).
No web framework is imported here.
"""

from __future__ import annotations

import re
from typing import Any

import confidante.errors as errors
from confidante.errors import ConfidanteError

# Most specific first: the first row whose class matches decides status and type.
STATUS_TABLE: tuple[tuple[type[ConfidanteError], int, str], ...] = (
    (errors.RequestTooLargeError, 413, "invalid_request_error"),
    (errors.InvalidInputError, 400, "invalid_request_error"),
    (errors.AuthenticationError, 401, "authentication_error"),
    (errors.PermissionDeniedError, 403, "permission_error"),
    (errors.NotFoundError, 404, "not_found_error"),
    (errors.RateLimitExceededError, 429, "requests"),
    (errors.RequestTimeoutError, 504, "timeout_error"),
    (errors.ModelError, 503, "service_unavailable_error"),
    (errors.StorageError, 503, "service_unavailable_error"),
)
SERVER_ERROR_MESSAGE = "The server failed to handle this request; the error is logged there."


def error_code(cls: type[ConfidanteError]) -> str:
    """The wire code of an error class: its name in snake case, without ``Error``."""
    name = cls.__name__.removesuffix("Error")
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _all_errors(root: type[ConfidanteError]) -> list[type[ConfidanteError]]:
    found = [root]
    for sub in root.__subclasses__():
        found.extend(_all_errors(sub))
    return found


ERRORS_BY_CODE: dict[str, type[ConfidanteError]] = {
    error_code(cls): cls for cls in _all_errors(ConfidanteError) if cls is not errors.RemoteError
}


def error_body(message: str, kind: str, code: str | None, param: str | None = None) -> dict:
    """The OpenAI error envelope."""
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}


def describe(exc: ConfidanteError) -> tuple[int, dict[str, Any]] | None:
    """Status and body for an error the caller can act on; ``None`` for a server-side one."""
    for cls, status, kind in STATUS_TABLE:
        if isinstance(exc, cls):
            return status, error_body(str(exc), kind, error_code(type(exc)))
    return None


_STATUS_FALLBACK: dict[int, type[ConfidanteError]] = {
    status: cls for cls, status, _ in reversed(STATUS_TABLE)
}


def to_exception(status: int, body: Any, text: str = "") -> ConfidanteError:
    """The error a client raises for an error response (``RemoteError`` when unmapped)."""
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return errors.RemoteError(
            f"The server answered {status} without an error body.", status_code=status, body=text
        )
    message = str(error.get("message") or f"HTTP {status}")
    cls = ERRORS_BY_CODE.get(str(error.get("code"))) or _STATUS_FALLBACK.get(status)
    if cls is None:
        return errors.RemoteError(message, status_code=status, body=text)
    return cls(message)
