"""Local mode's guard: requests must name a loopback Host, and any Origin must be loopback too.

A server without keys trusts whoever reaches it, so it must be reachable from this machine only.
Binding to loopback is not enough: a web page can make the browser send it requests, either
directly (its Origin is then the page's site) or through DNS rebinding (its Host is then the
page's name). Both are refused with 403.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Receive, Scope, Send

from confidante.errors import PermissionDeniedError
from confidante.serving.limits import send_error


def is_loopback(host: str) -> bool:
    """Whether ``host`` is reachable from this machine only."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a host name: it may resolve to anything
        return False


def host_name(authority: str) -> str:
    """The name in a ``Host`` header value (``[::1]:8000`` -> ``::1``)."""
    parsed = urlsplit("//" + authority)
    try:
        return parsed.hostname or ""
    except ValueError:
        return ""


def loopback_origin(origin: str) -> bool:
    """Whether an ``Origin`` header names a loopback site (``null`` does not)."""
    parsed = urlsplit(origin)
    return parsed.scheme in ("http", "https") and is_loopback(host_name(parsed.netloc))


class LoopbackOnly:
    """Refuses HTTP requests whose Host is not a loopback name or whose Origin is not loopback."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on if it comes from this machine's own names."""
        if scope["type"] == "http":
            headers = dict(scope["headers"])
            host = headers.get(b"host", b"").decode("latin-1")
            origin = headers.get(b"origin")
            problem = None
            if not is_loopback(host_name(host)):
                problem = f"the Host header {host!r} is not a loopback name"
            elif origin is not None and not loopback_origin(origin.decode("latin-1")):
                problem = f"the Origin {origin.decode('latin-1')!r} is not this machine"
            if problem is not None:
                await self._refuse(send, problem)
                return
        await self.app(scope, receive, send)

    async def _refuse(self, send: Send, problem: str) -> None:
        await send_error(
            send,
            PermissionDeniedError(
                f"In local mode (no API keys) only this machine may call the server, and "
                f"{problem}; call it as http://127.0.0.1 or http://localhost, or use API keys."
            ),
        )
