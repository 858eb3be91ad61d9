"""The blocking face of an async memory API, written once for ``Assistant`` and ``Client``.

Each method runs the async method of the same name on a private event loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Coroutine, Generator, Iterable
from typing import Any, Generic, Protocol, Self, TypeVar

from confidante.errors import ConfidanteError
from confidante.records import (
    Fact,
    Feedback,
    MessageInput,
    Profile,
    Rating,
    Recollection,
    Reply,
)

T = TypeVar("T")


class AsyncMemoryAPI(Protocol):
    """What ``AsyncAssistant`` (embedded) and ``AsyncClient`` (remote) both offer."""

    async def chat(
        self, user_id: str, messages: Iterable[MessageInput], *, max_tokens: int | None = None
    ) -> Reply: ...

    def chat_stream(
        self, user_id: str, messages: Iterable[MessageInput], *, max_tokens: int | None = None
    ) -> AsyncGenerator[str | Reply, None]: ...

    async def observe(self, user_id: str, messages: Iterable[MessageInput]) -> list[str]: ...

    async def recall(self, user_id: str, query: str, k: int = 10) -> list[Recollection]: ...

    async def profile(self, user_id: str) -> Profile: ...

    async def rate(self, feedback: Feedback) -> Rating: ...

    async def memories(
        self, user_id: str, *, limit: int | None = None, after: str | None = None
    ) -> list[Recollection]: ...

    async def delete_memory(self, user_id: str, memory_id: str) -> None: ...

    async def preferences(self, user_id: str) -> list[Fact]: ...

    async def remove_preference(self, user_id: str, preference_id: str) -> Fact: ...

    async def forget(self, user_id: str) -> None: ...

    async def export(self, user_id: str) -> dict[str, Any]: ...

    async def close(self) -> None: ...


InnerT = TypeVar("InnerT", bound=AsyncMemoryAPI)


class Blocking(Generic[InnerT]):
    """Blocking wrapper: each method runs the ``inner`` coroutine of the same name."""

    def __init__(self, inner: InnerT) -> None:
        self.inner = inner
        self._runner = asyncio.Runner()

    def _run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return self._runner.run(coroutine)
        coroutine.close()
        raise ConfidanteError(
            f"{type(self).__name__} was called from inside a running event loop; use "
            f"{type(self.inner).__name__} there."
        )

    def chat(
        self, user_id: str, messages: Iterable[MessageInput], *, max_tokens: int | None = None
    ) -> Reply:
        """See ``AsyncAssistant.chat``."""
        return self._run(self.inner.chat(user_id, messages, max_tokens=max_tokens))

    def chat_stream(
        self, user_id: str, messages: Iterable[MessageInput], *, max_tokens: int | None = None
    ) -> Generator[str | Reply, None, None]:
        """See ``AsyncAssistant.chat_stream``: text deltas, then the ``Reply``."""
        stream = self.inner.chat_stream(user_id, messages, max_tokens=max_tokens)

        async def step() -> str | Reply | None:
            return await anext(stream, None)

        try:
            while (item := self._run(step())) is not None:
                yield item
        finally:
            self._run(stream.aclose())

    def observe(self, user_id: str, messages: Iterable[MessageInput]) -> list[str]:
        """See ``AsyncAssistant.observe``."""
        return self._run(self.inner.observe(user_id, messages))

    def recall(self, user_id: str, query: str, k: int = 10) -> list[Recollection]:
        """See ``AsyncAssistant.recall``."""
        return self._run(self.inner.recall(user_id, query, k))

    def profile(self, user_id: str) -> Profile:
        """See ``AsyncAssistant.profile``."""
        return self._run(self.inner.profile(user_id))

    def rate(self, feedback: Feedback) -> Rating:
        """See ``AsyncAssistant.rate``."""
        return self._run(self.inner.rate(feedback))

    def memories(
        self, user_id: str, *, limit: int | None = None, after: str | None = None
    ) -> list[Recollection]:
        """See ``AsyncAssistant.memories``."""
        return self._run(self.inner.memories(user_id, limit=limit, after=after))

    def delete_memory(self, user_id: str, memory_id: str) -> None:
        """See ``AsyncAssistant.delete_memory``."""
        self._run(self.inner.delete_memory(user_id, memory_id))

    def preferences(self, user_id: str) -> list[Fact]:
        """See ``AsyncAssistant.preferences``."""
        return self._run(self.inner.preferences(user_id))

    def remove_preference(self, user_id: str, preference_id: str) -> Fact:
        """See ``AsyncAssistant.remove_preference``."""
        return self._run(self.inner.remove_preference(user_id, preference_id))

    def forget(self, user_id: str) -> None:
        """See ``AsyncAssistant.forget``."""
        self._run(self.inner.forget(user_id))

    def export(self, user_id: str) -> dict[str, Any]:
        """See ``AsyncAssistant.export``."""
        return self._run(self.inner.export(user_id))

    def close(self) -> None:
        """Close what the inner object holds, then the event loop."""
        self._run(self.inner.close())
        self._runner.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
