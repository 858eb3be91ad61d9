"""Who is calling: an API key decides the user; admin keys and local mode may name one.

Authentication fails closed: without a key a request is refused, unless the server was started
in local mode (``--no-auth``), and local mode ends for good once any key exists.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable

from confidante.errors import (
    AuthenticationError,
    InvalidInputError,
    PermissionDeniedError,
    RateLimitExceededError,
)
from confidante.records import validate_user_id
from confidante.serving.keys import ApiKey, KeyStore

CREATE_KEY_HINT = "create one with `confidante keys create --user NAME`"
RATE_WINDOW_S = 60.0


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, if there is one."""
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthenticationError(
            "The Authorization header must be `Bearer <key>`; " + CREATE_KEY_HINT + "."
        )
    return token.strip()


class RateLimiter:
    """Requests per key over a sliding minute; refuses those beyond the key's limit."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._seen: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def admit(self, key: ApiKey) -> None:
        """Count one request of ``key``; raises ``RateLimitExceededError`` past its limit."""
        limit = key.rate_limit_per_minute
        if limit is None:
            return
        now = self._clock()
        with self._lock:
            seen = self._seen.setdefault(key.id, deque())
            while seen and seen[0] <= now - RATE_WINDOW_S:
                seen.popleft()
            if len(seen) >= limit:
                wait = max(1, math.ceil(seen[0] + RATE_WINDOW_S - now))
                refused = RateLimitExceededError(
                    f"This API key allows {limit} requests per minute; try again in {wait} s."
                )
                refused.retry_after_s = wait
                raise refused
            seen.append(now)


class Authenticator:
    """Resolves each request to exactly one user whose memory it may touch.

    - a user key acts for its own user; naming anyone else is refused (403);
    - an admin key acts for the user the request names (``user``);
    - revoked and expired keys are refused (401), and keys over their rate limit (429);
    - ``local_mode`` (chosen at start, loopback only): the request names its user and needs no
      key, but only while no key was ever created in this data dir; after that, never again.
    """

    def __init__(self, keys: KeyStore, *, local_mode: bool) -> None:
        self.keys = keys
        self.local_mode = local_mode
        self.rate_limiter = RateLimiter()
        self._keys_seen = False

    def in_local_mode(self) -> bool:
        """Whether requests need no key: local mode, and no key was ever created."""
        if not self.local_mode or self._keys_seen:
            return False
        self._keys_seen = self.keys.any_ever()
        return not self._keys_seen

    def user_for(self, authorization: str | None, requested_user: str | None) -> str:
        """The user id this request acts for; raises if the key may not act at all or for them."""
        if self.in_local_mode():
            return _named(requested_user, "In local mode (no API keys) requests name their user")
        key = self._key(authorization)
        if key.admin:
            return _named(requested_user, "An admin key acts for the user the request names")
        if requested_user is not None and requested_user != key.user_id:
            raise PermissionDeniedError(
                "This API key may only act for its own user; drop the `user` field or use "
                "that user's key."
            )
        assert key.user_id is not None
        return key.user_id

    def check_key(self, authorization: str | None) -> None:
        """Any active key (or local mode) may read what is not per user, such as the models."""
        if not self.in_local_mode():
            self._key(authorization)

    def _key(self, authorization: str | None) -> ApiKey:
        token = bearer_token(authorization)
        if token is None:
            raise AuthenticationError(
                "No API key; send `Authorization: Bearer <key>` (" + CREATE_KEY_HINT + ")."
            )
        key = self.keys.verify(token)
        if key is None:
            raise AuthenticationError(
                "Unknown, revoked or expired API key; " + CREATE_KEY_HINT + "."
            )
        self.rate_limiter.admit(key)
        return key


def _named(requested_user: str | None, why: str) -> str:
    if requested_user is None:
        raise InvalidInputError(f"{why}: set `user` (the request field or ?user= parameter).")
    return validate_user_id(requested_user)
