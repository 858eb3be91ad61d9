"""Per-request reply length: a backend wrapper that applies the ``max_tokens`` a request asked for.

``AsyncAssistant`` passes ``Settings.max_new_tokens`` to its backend on every call. The HTTP
handler sets ``requested_max_tokens`` around one request, and ``RequestTokenLimit`` passes that
value instead; a context variable keeps concurrent requests apart.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from confidante.agent.llm import ChatLLM, ChatMessages, Completion, StreamingLLM

_requested: ContextVar[int | None] = ContextVar("confidante_max_tokens", default=None)


@contextmanager
def requested_max_tokens(value: int | None) -> Iterator[None]:
    """Within this block (this task's context), replies are limited to ``value`` tokens."""
    token = _requested.set(value)
    try:
        yield
    finally:
        _requested.reset(token)


class RequestTokenLimit:
    """A ``ChatLLM`` around another that honours the current request's ``max_tokens``.

    Everything else (``count_tokens``, ...) is the inner backend's.
    """

    def __init__(self, inner: ChatLLM) -> None:
        self.inner = inner

    @property
    def model_name(self) -> str:
        """The inner backend's name."""
        return self.inner.model_name

    def __getattr__(self, name: str) -> Any:
        if name == "inner":  # not set yet (copying, unpickling): no recursion
            raise AttributeError(name)
        return getattr(self.inner, name)

    async def generate(
        self, messages: ChatMessages, *, max_tokens: int, temperature: float
    ) -> Completion:
        """The inner backend's reply, limited to the request's ``max_tokens`` if it set one."""
        limit = _requested.get() or max_tokens
        return await self.inner.generate(messages, max_tokens=limit, temperature=temperature)

    async def stream(
        self, messages: ChatMessages, *, max_tokens: int, temperature: float
    ) -> AsyncIterator[str]:
        """The inner backend's deltas (one whole-reply delta if it cannot stream)."""
        limit = _requested.get() or max_tokens
        if isinstance(self.inner, StreamingLLM):
            async for delta in self.inner.stream(
                messages, max_tokens=limit, temperature=temperature
            ):
                yield delta
        else:
            completion = await self.inner.generate(
                messages, max_tokens=limit, temperature=temperature
            )
            yield completion.text
