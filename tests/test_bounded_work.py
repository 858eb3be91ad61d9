"""Bounded work: one request's learning, size or time cannot hold up the others."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import httpx
import pytest

from confidante import (
    AsyncAssistant,
    Client,
    InvalidInputError,
    RequestTimeoutError,
    Settings,
    UnknownMemoryError,
)
from confidante.graph.schema import FactCandidate
from confidante.memory.lexical import MAX_QUERY_TERMS, LexicalIndex
from confidante.serving.server import BackgroundServer, Service
from confidante.testing import HashEmbedder, ScriptedLLM


class BlockingExtractor:
    """Finds no facts, holding its thread until told to go on, as a long message's rules do."""

    def __init__(self, longest: float) -> None:
        self.longest = longest  # so that a failing test ends
        self.started = threading.Event()
        self.go_on = threading.Event()

    def extract(
        self, text: str, *, speaker: str, when: datetime | None = None
    ) -> list[FactCandidate]:
        """Nothing, once ``go_on`` is set (or ``longest`` seconds passed)."""
        self.started.set()
        self.go_on.wait(self.longest)
        return []


async def test_learning_does_not_hold_up_other_requests(tmp_path: Path) -> None:
    extractor = BlockingExtractor(longest=30)
    assistant = AsyncAssistant.open(
        tmp_path, llm=ScriptedLLM(["ok"]), embeddings=HashEmbedder(), extractor=extractor
    )
    async with assistant:
        importing = asyncio.create_task(
            assistant.observe("importer", [{"role": "user", "content": "A long import."}])
        )
        while not extractor.started.is_set():
            await asyncio.sleep(0.01)
        # In the event loop, learning would hold this recall until the import was learned.
        found = await assistant.recall("other", "anything at all", k=3)
        assert not importing.done()
        extractor.go_on.set()
        assert found == []
        assert len(await importing) == 1


async def test_memories_come_in_pages(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, max_page_size=3)
    async with AsyncAssistant.open(
        settings=settings, llm=ScriptedLLM(["ok"]), embeddings=HashEmbedder()
    ) as assistant:
        words = ["apples", "bridges", "candles", "dunes", "engines"]
        await assistant.observe(
            "maria", [{"role": "user", "content": f"I like {w}."} for w in words]
        )
        everything = await assistant.memories("maria")
        first = await assistant.memories("maria", limit=2)
        rest = await assistant.memories("maria", limit=3, after=first[-1].id)
        assert [m.id for m in first + rest] == [m.id for m in everything][:5]
        with pytest.raises(InvalidInputError, match="CONFIDANTE_MAX_PAGE_SIZE"):
            await assistant.memories("maria", limit=4)
        with pytest.raises(InvalidInputError):
            await assistant.memories("maria", limit=0)
        with pytest.raises(UnknownMemoryError):
            await assistant.memories("maria", limit=2, after="msg:no-such-memory")


@pytest.fixture
def paged(tmp_path: Path) -> Iterator[tuple[str, Service]]:
    settings = Settings(
        data_dir=tmp_path / "data",
        server_no_auth=True,
        max_page_size=2,
        server_request_timeout_s=0.5,
    )
    llm = ScriptedLLM(lambda messages: "late reply", delay=3.0)
    assistant = AsyncAssistant.open(settings=settings, llm=llm, embeddings=HashEmbedder())
    service = Service.build(assistant, host="127.0.0.1")
    try:
        with BackgroundServer(service.app) as url:
            yield url, service
    finally:
        service.close()


def test_http_pages_and_the_client_follows_them(paged: tuple[str, Service]) -> None:
    url, _ = paged
    messages = [{"role": "user", "content": f"Note number {n} about rivers."} for n in range(5)]
    with httpx.Client(base_url=url) as http:
        assert http.post("/v1/observe", json={"user": "ana", "messages": messages}).is_success
        page = http.get("/v1/memories", params={"user": "ana"}).json()
        assert len(page["data"]) == 2 and page["has_more"]
        assert page["last_id"] == page["data"][-1]["id"]
        after = {"user": "ana", "after": page["last_id"], "limit": 2}
        second = http.get("/v1/memories", params=after).json()
        assert second["first_id"] != page["first_id"]
        too_many = http.get("/v1/memories", params={"user": "ana", "limit": 3})
        assert too_many.status_code == 400
        assert "CONFIDANTE_MAX_PAGE_SIZE" in too_many.json()["error"]["message"]
    with Client(url) as client:
        every = client.memories("ana")
        assert len(every) == 5
        assert len({m.id for m in every}) == 5
        assert len(client.memories("ana", limit=1)) == 1


def test_a_request_past_its_time_gets_504_and_keeps_what_it_stored(
    paged: tuple[str, Service],
) -> None:
    url, _ = paged
    turn = {"model": "x", "user": "ben", "messages": [{"role": "user", "content": "I row."}]}
    with httpx.Client(base_url=url, timeout=10) as http:
        late = http.post("/v1/chat/completions", json=turn)
        assert late.status_code == 504
        error = late.json()["error"]
        assert (
            error["code"] == "request_timeout"
            and "CONFIDANTE_SERVER_REQUEST_TIMEOUT_S" in (error["message"])
        )
        # The person's words were stored before generation, and the connection still serves.
        stored = http.get("/v1/memories", params={"user": "ben"}).json()["data"]
        assert [m["text"] for m in stored if m["kind"] == "message"] == ["I row."]
    with Client(url) as client, pytest.raises(RequestTimeoutError):
        client.chat("ben", [{"role": "user", "content": "Still there?"}])


def test_long_queries_rank_by_their_rarest_terms() -> None:
    index = LexicalIndex()
    common = [f"word{n}" for n in range(MAX_QUERY_TERMS + 10)]
    for _ in range(20):
        index.add(common)
    target = index.add([*common, "zeppelin"])
    scores = index.scores([*common, "zeppelin"])
    assert max(scores, key=scores.__getitem__) == target


async def test_caches_hold_at_most_the_users_asked_for(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, cached_users=2)
    async with AsyncAssistant.open(
        settings=settings, llm=ScriptedLLM(["ok"]), embeddings=HashEmbedder()
    ) as assistant:
        for user, pet in [("ana", "hamster"), ("ben", "parrot"), ("cy", "lizard")]:
            await assistant.observe(user, [{"role": "user", "content": f"I have a {pet}."}])
            assert await assistant.recall(user, f"my {pet}", k=1)
            assert await assistant.chat(user, [{"role": "user", "content": "Hello!"}])
        assert len(assistant.memory._indexes) == 2
        assert "ana" not in assistant.memory._indexes
        assert len(assistant.graph._graphs) <= 2
        assert len(assistant._user_locks) == 0  # none held once their turns are done
        # A dropped user is loaded again from disk, whole.
        found = await assistant.recall("ana", "my hamster", k=1)
        assert found[0].text == "I have a hamster."
        assert "ana" in assistant.memory._indexes and len(assistant.memory._indexes) == 2


def test_chroma_holds_at_most_the_cached_users_indexes(tmp_path: Path) -> None:
    from chromadb.api import ServerAPI
    from chromadb.api.rust import RustBindingsAPI
    from chromadb.api.shared_system_client import SharedSystemClient

    from confidante.memory.chroma import ChromaVectorIndex

    index = ChromaVectorIndex(tmp_path / "chroma", cached_users=3)
    index.add("ana", ["d1"], [[1.0, 0.0]])
    assert index.search("ana", [1.0, 0.0], 1)[0][0] == "d1"
    system = SharedSystemClient._identifier_to_system[str(tmp_path / "chroma")]
    held = system.instance(ServerAPI)
    assert isinstance(held, RustBindingsAPI) and held.hnsw_cache_size == 3
