"""LangChain: a retriever over ``recall``, for an embedded assistant or a remote client.

    retriever = MemoryRetriever(source=assistant, user_id="maria", k=5)
    retriever.invoke("where do I live?")  # [Document(page_content, metadata={id, kind, ...})]

Sync sources (``Assistant``, ``Client``) serve ``invoke``; async ones (``AsyncAssistant``,
``AsyncClient``) serve ``ainvoke``, and sync sources serve it too, in a worker thread.
"""

from __future__ import annotations

import asyncio
import inspect
from typing import Any, Protocol, runtime_checkable

from langchain_core.callbacks import (
    AsyncCallbackManagerForRetrieverRun,
    CallbackManagerForRetrieverRun,
)
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict, Field

from confidante.errors import InvalidInputError
from confidante.records import Recollection


@runtime_checkable
class Recaller(Protocol):
    """Anything with ``recall(user_id, query, k)``, blocking or as a coroutine."""

    def recall(self, user_id: str, query: str, k: int = 10) -> Any:
        """Recollections (or a coroutine of them) that fit ``query``."""
        ...


def to_document(recollection: Recollection) -> Document:
    """A recollection as a LangChain ``Document``; provenance goes in the metadata."""
    created = recollection.created_at.isoformat() if recollection.created_at else None
    return Document(
        id=recollection.id,
        page_content=recollection.text,
        metadata={
            "id": recollection.id,
            "kind": recollection.kind,
            "score": recollection.score,
            "source_ids": list(recollection.source_ids),
            "created_at": created,
        },
    )


class MemoryRetriever(BaseRetriever):
    """The ``k`` memories of ``user_id`` that best fit the query, as ``Document``s."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    source: Recaller
    user_id: str
    k: int = Field(default=5, ge=1)

    def _is_async(self) -> bool:
        return inspect.iscoroutinefunction(self.source.recall)

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[Document]:
        if self._is_async():
            raise InvalidInputError(
                f"{type(self.source).__name__} is async; call ainvoke(), or give the retriever "
                "an Assistant or Client."
            )
        return [to_document(r) for r in self.source.recall(self.user_id, query, self.k)]

    async def _aget_relevant_documents(
        self, query: str, *, run_manager: AsyncCallbackManagerForRetrieverRun
    ) -> list[Document]:
        if self._is_async():
            found = await self.source.recall(self.user_id, query, self.k)
        else:
            found = await asyncio.to_thread(self.source.recall, self.user_id, query, self.k)
        return [to_document(r) for r in found]
