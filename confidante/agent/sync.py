"""``Assistant``: the synchronous face of ``AsyncAssistant``, one event loop per instance."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Iterable, Iterator
from pathlib import Path
from typing import Any, Self, TypeVar

from langchain_core.embeddings import Embeddings

from confidante.agent.assistant import AsyncAssistant
from confidante.agent.llm import ChatLLM
from confidante.config import Settings
from confidante.errors import ConfidanteError
from confidante.graph.extraction import FactExtractor
from confidante.memory.vector import VectorIndex
from confidante.records import MessageInput, Profile, Rating, Recollection, Reply

T = TypeVar("T")


class Assistant:
    """Blocking wrapper: each method runs the ``AsyncAssistant`` coroutine of the same name."""

    def __init__(self, inner: AsyncAssistant) -> None:
        self.inner = inner
        self._runner = asyncio.Runner()

    @classmethod
    def open(
        cls,
        data_dir: Path | str | None = None,
        settings: Settings | None = None,
        *,
        llm: ChatLLM | None = None,
        embeddings: Embeddings | None = None,
        vectors: VectorIndex | None = None,
        extractor: FactExtractor | None = None,
    ) -> Self:
        """Open an assistant on embedded stores; see ``AsyncAssistant.open``."""
        return cls(
            AsyncAssistant.open(
                data_dir,
                settings,
                llm=llm,
                embeddings=embeddings,
                vectors=vectors,
                extractor=extractor,
            )
        )

    def _run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return self._runner.run(coroutine)
        coroutine.close()
        raise ConfidanteError(
            "Assistant was called from inside a running event loop; use AsyncAssistant there."
        )

    def chat(
        self, user_id: str, messages: Iterable[MessageInput], *, max_tokens: int | None = None
    ) -> Reply:
        """See ``AsyncAssistant.chat``."""
        return self._run(self.inner.chat(user_id, messages, max_tokens=max_tokens))

    def observe(self, user_id: str, messages: Iterable[MessageInput]) -> list[str]:
        """See ``AsyncAssistant.observe``."""
        return self._run(self.inner.observe(user_id, messages))

    def recall(self, user_id: str, query: str, k: int = 10) -> list[Recollection]:
        """See ``AsyncAssistant.recall``."""
        return self._run(self.inner.recall(user_id, query, k))

    def profile(self, user_id: str) -> Profile:
        """See ``AsyncAssistant.profile``."""
        return self._run(self.inner.profile(user_id))

    def chat_stream(
        self, user_id: str, messages: Iterable[MessageInput], *, max_tokens: int | None = None
    ) -> Iterator[str | Reply]:
        """See ``AsyncAssistant.chat_stream``: text deltas, then the ``Reply``."""
        stream = self.inner.chat_stream(user_id, messages, max_tokens=max_tokens)

        async def step() -> str | Reply | None:
            return await anext(stream, None)

        try:
            while (item := self._run(step())) is not None:
                yield item
        finally:
            self._run(stream.aclose())

    def rate(
        self,
        interaction_id: str,
        score: int,
        comment: str | None = None,
        *,
        user_id: str | None = None,
    ) -> Rating:
        """See ``AsyncAssistant.rate``."""
        return self._run(self.inner.rate(interaction_id, score, comment, user_id=user_id))

    def memories(self, user_id: str) -> list[Recollection]:
        """See ``AsyncAssistant.memories``."""
        return self._run(self.inner.memories(user_id))

    def delete_memory(self, user_id: str, memory_id: str) -> None:
        """See ``AsyncAssistant.delete_memory``."""
        self._run(self.inner.delete_memory(user_id, memory_id))

    def forget(self, user_id: str) -> None:
        """See ``AsyncAssistant.forget``."""
        self._run(self.inner.forget(user_id))

    def export(self, user_id: str) -> dict[str, Any]:
        """See ``AsyncAssistant.export``."""
        return self._run(self.inner.export(user_id))

    def close(self) -> None:
        """Close the stores and the event loop."""
        self._run(self.inner.close())
        self._runner.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
