"""The LangChain retriever over recall: embedded (sync and async) and remote."""

from __future__ import annotations

import asyncio

import pytest
import test_serving_helpers as helpers
from test_serving_helpers import Live

from confidante import Assistant, AsyncAssistant, Client, InvalidInputError, Settings
from confidante.retriever import MemoryRetriever
from confidante.testing import HashEmbedder, ScriptedLLM

keyed = helpers.keyed  # a module-scoped fixture


def test_retriever_over_an_assistant(assistant: Assistant):
    assistant.observe("maria", [{"role": "user", "content": "I live in Lisbon.", "id": "m1"}])
    documents = MemoryRetriever(source=assistant, user_id="maria", k=2).invoke("where do I live")
    assert documents and any("Lisbon" in d.page_content for d in documents)
    first = documents[0]
    assert set(first.metadata) == {"id", "kind", "score", "source_ids", "created_at"}
    assert first.id == first.metadata["id"]
    assert any("m1" in d.metadata["source_ids"] for d in documents)
    both = asyncio.run(MemoryRetriever(source=assistant, user_id="maria").ainvoke("Lisbon"))
    assert both


def test_retriever_over_an_async_assistant(settings: Settings):
    async def go() -> list[str]:
        async with AsyncAssistant.open(
            settings=settings, llm=ScriptedLLM(), embeddings=HashEmbedder()
        ) as assistant:
            await assistant.observe("kim", [{"role": "user", "content": "I work at Acme."}])
            retriever = MemoryRetriever(source=assistant, user_id="kim")
            with pytest.raises(InvalidInputError, match="ainvoke"):
                retriever.invoke("work")
            return [d.page_content for d in await retriever.ainvoke("where do I work")]

    assert any("Acme" in text for text in asyncio.run(go()))


def test_retriever_over_a_remote_client(keyed: Live):
    with Client(keyed.url, api_key=keyed.keys["maria"]) as client:
        client.observe("maria", [{"role": "user", "content": "I have a dog named Rex."}])
        documents = MemoryRetriever(source=client, user_id="maria", k=3).invoke("my dog")
    assert any("Rex" in d.page_content for d in documents)
