"""Pure ASGI middlewares that bound a request: its body's size (413) and its time (504)."""

from __future__ import annotations

import asyncio
import json
import logging

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from confidante.errors import ConfidanteError, RequestTimeoutError, RequestTooLargeError
from confidante.serving.wire import describe

logger = logging.getLogger("confidante.serving")


def _too_large(limit: int) -> RequestTooLargeError:
    return RequestTooLargeError(
        f"The request body is over {limit} bytes; send less or raise "
        "CONFIDANTE_SERVER_MAX_BODY_BYTES."
    )


class BodySizeLimit:
    """Checks ``Content-Length`` up front and counts the bytes of bodies sent without one."""

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on, unless its body is too large."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit():
            if int(declared) > self.max_bytes:
                await self._refuse(send)
                return
            await self.app(scope, receive, send)
            return
        # No declared length (chunked): read it here, counting, and hand it on whole.
        body = await self._read(receive)
        if body is None:
            await self._refuse(send)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)

    async def _read(self, receive: Receive) -> bytes | None:
        """The whole body, or ``None`` as soon as it passes the limit."""
        parts: list[bytes] = []
        size, more = 0, True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                break
            parts.append(message.get("body", b""))
            size += len(parts[-1])
            if size > self.max_bytes:
                return None
            more = message.get("more_body", False)
        return b"".join(parts)

    async def _refuse(self, send: Send) -> None:
        await send_error(send, _too_large(self.max_bytes))


class RequestTimeout:
    """Answers 504 for a request whose response has not started within ``seconds``.

    The request's task is cancelled; work it handed to a thread finishes there, and what it
    stored stays stored. A response already started (a stream) is left to finish.
    """

    def __init__(self, app: ASGIApp, *, seconds: float) -> None:
        self.app = app
        self.seconds = seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run the request, giving up on it after ``seconds`` if nothing was sent yet."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracked(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        task = asyncio.ensure_future(self.app(scope, receive, tracked))
        try:
            await asyncio.wait({task}, timeout=self.seconds)
        except BaseException:  # this request was cancelled (the client went away)
            task.cancel()
            raise
        if task.done() or started:
            await task  # its result, its exception, or the rest of its stream
            return
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            pass
        logger.warning(
            "%s %s ran past %g s; answered 504", scope["method"], scope["path"], self.seconds
        )
        await send_error(
            send,
            RequestTimeoutError(
                f"The request took longer than {self.seconds:g} s and was stopped; what it "
                "stored is kept. Retry, send less, or raise CONFIDANTE_SERVER_REQUEST_TIMEOUT_S."
            ),
        )


async def send_error(send: Send, error: ConfidanteError) -> None:
    """Answer with ``error``'s status and OpenAI error body, from a middleware."""
    status, body = describe(error) or (500, {})
    payload = json.dumps(body).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", b"%d" % len(payload)),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})
