"""Live servers for the serving tests: real uvicorn on a loopback port, scripted model.

Fixtures are imported by name into the test modules that use them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from langchain_core.embeddings import Embeddings

from confidante import AsyncAssistant, GenerationError, Settings
from confidante.records import ChatMessages
from confidante.serving.server import BackgroundServer, Service
from confidante.testing import HashEmbedder, ScriptedLLM


def echo(messages: ChatMessages) -> str:
    """Repeat the last word of the prompt (the user's own token), or fail on request."""
    last = messages[-1]["content"].split()[-1]
    if last == "explode":
        raise RuntimeError("secret internal detail /etc/passwd")
    if last == "unavailable":
        raise GenerationError("The backend is down; try again later.")
    if last == "long":
        return "one two three four five six seven eight nine ten eleven twelve"
    return f"You said {last}"


@dataclass
class Live:
    """A running server and what the tests need to reach it."""

    url: str
    service: Service
    llm: ScriptedLLM
    keys: dict[str, str] = field(default_factory=dict)

    def key(self, *, user: str | None = None, admin: bool = False) -> str:
        return self.service.keys.create(user_id=user, admin=admin)[1]

    def headers(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[who]}"}


def start(
    root: Path,
    *,
    users: tuple[str, ...] = (),
    admin: bool = False,
    no_auth: bool = False,
    embeddings: Embeddings | None = None,
) -> Iterator[Live]:
    settings = Settings(
        data_dir=root / "data",
        cache_dir=root / "cache",
        server_no_auth=no_auth,
        server_max_body_bytes=20_000,
        server_max_messages=8,
        server_max_tokens=64,
    )
    llm = ScriptedLLM(echo)
    assistant = AsyncAssistant.open(
        settings=settings, llm=llm, embeddings=embeddings or HashEmbedder()
    )
    service = Service.build(assistant, host="127.0.0.1")
    live = Live(url="", service=service, llm=llm)
    for user in users:
        live.keys[user] = live.key(user=user)
    if admin:
        live.keys["admin"] = live.key(admin=True)
    try:
        with BackgroundServer(service.app) as url:
            live.url = url
            yield live
    finally:
        service.close()


@pytest.fixture(scope="module")
def keyed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """A server with keys for maria, sam and an admin."""
    yield from start(tmp_path_factory.mktemp("keyed"), users=("maria", "sam"), admin=True)


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """A loopback server started in local mode (no keys): requests name their user."""
    yield from start(tmp_path_factory.mktemp("local"), no_auth=True)
