"""A pure ASGI middleware that reports the time a request spent in the app (``Server-Timing``).

Measured from when the app receives the request (parsed by the HTTP server) to when the
response starts, so it is the server's own time for a whole reply, and the time to the first
event for a stream. Clients (``bench/serving.py``) read it next to the latency they observe,
which also holds the network, the HTTP parsing and their own scheduling.
"""

from __future__ import annotations

import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class ServerTiming:
    """Adds ``Server-Timing: app;dur=<milliseconds>`` to every HTTP response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on; stamp the response's start with the time taken so far."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()

        async def timed(message: Message) -> None:
            if message["type"] == "http.response.start":
                elapsed = (time.perf_counter() - started) * 1000
                headers = [
                    *message.get("headers", ()),
                    (b"server-timing", b"app;dur=%.3f" % elapsed),
                ]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, timed)
