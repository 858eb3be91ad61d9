"""Who is calling: an API key decides the user; admin keys and local mode may name one."""

from __future__ import annotations

from confidante.errors import AuthenticationError, InvalidInputError, PermissionDeniedError
from confidante.records import validate_user_id
from confidante.serving.keys import KeyStore

CREATE_KEY_HINT = "create one with `confidante keys create --user NAME`"


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


class Authenticator:
    """Resolves each request to exactly one user whose memory it may touch.

    - a user key acts for its own user; naming anyone else is refused (403);
    - an admin key acts for the user the request names (``user``);
    - with no active key at all and ``local_mode`` (a loopback server), the request names its
      user and any key (or none) is accepted: a development convenience, never on a network.
    """

    def __init__(self, keys: KeyStore, *, local_mode: bool) -> None:
        self.keys = keys
        self.local_mode = local_mode

    def user_for(self, authorization: str | None, requested_user: str | None) -> str:
        """The user id this request acts for; raises if the key may not act at all or for them."""
        if self.local_mode and not self.keys.any_active():
            return _named(requested_user, "In local mode (no API keys) requests name their user")
        token = bearer_token(authorization)
        if token is None:
            raise AuthenticationError(
                "No API key; send `Authorization: Bearer <key>` (" + CREATE_KEY_HINT + ")."
            )
        key = self.keys.verify(token)
        if key is None:
            raise AuthenticationError("Unknown or revoked API key; " + CREATE_KEY_HINT + ".")
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
        if self.local_mode and not self.keys.any_active():
            return
        token = bearer_token(authorization)
        if token is None or self.keys.verify(token) is None:
            raise AuthenticationError("No valid API key; " + CREATE_KEY_HINT + ".")


def _named(requested_user: str | None, why: str) -> str:
    if requested_user is None:
        raise InvalidInputError(f"{why}: set `user` (the request field or ?user= parameter).")
    return validate_user_id(requested_user)
