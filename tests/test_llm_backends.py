"""Backends without a model: the server backend's faults over real loopback HTTP, the
LangChain wrapper, backend selection, the prompt layouts and the vLLM process manager."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage

from confidante import (
    AsyncAssistant,
    BackendUnavailableError,
    GenerationError,
    GenerationTimeoutError,
    InvalidInputError,
    ModelNotFoundError,
    Reply,
    Settings,
)
from confidante.cli.vllm_server import VLLMServer, free_port
from confidante.llm.factory import open_llm
from confidante.llm.langchain_chat import LangChainLLM
from confidante.llm.openai_server import OpenAIServerLLM
from confidante.testing import HashEmbedder

Handler = Callable[[str, dict, asyncio.StreamWriter], Awaitable[None]]
HELLO = [{"role": "user", "content": "hello"}]


async def _respond(writer: asyncio.StreamWriter, status: int, body: dict) -> None:
    data = json.dumps(body).encode()
    writer.write(
        f"HTTP/1.1 {status} X\r\ncontent-type: application/json\r\n"
        f"content-length: {len(data)}\r\nconnection: close\r\n\r\n".encode()
        + data
    )
    await writer.drain()
    writer.close()


def _chunk(text: str, finish: str | None = None) -> bytes:
    chunk = {
        "id": "c1",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": "m",
        "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": finish}],
    }
    return f"data: {json.dumps(chunk)}\n\n".encode()


@asynccontextmanager
async def openai_peer(handler: Handler) -> AsyncIterator[str]:
    """A minimal HTTP server on loopback whose chat endpoint misbehaves as ``handler`` says."""

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode()
        length = next(
            (
                int(line.split(":")[1])
                for line in head.split("\r\n")
                if line.lower().startswith("content-length")
            ),
            0,
        )
        body = json.loads(await reader.readexactly(length)) if length else {}
        path = head.split(" ")[1]
        if path.endswith("/models"):
            await _respond(
                writer, 200, {"object": "list", "data": [{"id": "m", "object": "model"}]}
            )
            return
        await handler(path, body, writer)

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        server.close()


async def _stream_head(writer: asyncio.StreamWriter) -> None:
    writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n")
    writer.write(_chunk("Hel") + _chunk("lo"))
    await writer.drain()


async def test_a_server_dying_mid_stream_ends_the_stream_with_an_error() -> None:
    async def die(path: str, body: dict, writer: asyncio.StreamWriter) -> None:
        await _stream_head(writer)
        writer.transport.abort()  # the connection drops, as when the server is killed

    async with openai_peer(die) as url:
        llm = OpenAIServerLLM(base_url=url, model="m", max_retries=0, timeout_s=5)
        received: list[str] = []
        with pytest.raises(GenerationError, match="still running"):
            async with asyncio.timeout(10):
                async for delta in llm.stream(HELLO, max_tokens=8, temperature=0):
                    received.append(delta)
        assert received == ["Hel", "lo"]
        await llm.aclose()


async def test_a_stream_that_stops_without_finishing_is_an_error_not_a_short_reply() -> None:
    async def stop_early(path: str, body: dict, writer: asyncio.StreamWriter) -> None:
        await _stream_head(writer)
        writer.close()  # a clean close, but no finish_reason and no [DONE]

    async with openai_peer(stop_early) as url:
        llm = OpenAIServerLLM(base_url=url, model="m", max_retries=0, timeout_s=5)
        with pytest.raises(GenerationError, match="before the reply was finished"):
            _ = [d async for d in llm.stream(HELLO, max_tokens=8, temperature=0)]


async def test_a_silent_server_times_out_with_a_typed_error() -> None:
    async def hang(path: str, body: dict, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(30)

    async with openai_peer(hang) as url:
        llm = OpenAIServerLLM(base_url=url, model="m", max_retries=0, timeout_s=0.5)
        with pytest.raises(GenerationTimeoutError, match="CONFIDANTE_LLM_TIMEOUT_S"):
            await llm.generate(HELLO, max_tokens=8, temperature=0)
        with pytest.raises(GenerationTimeoutError):
            _ = [d async for d in llm.stream(HELLO, max_tokens=8, temperature=0)]


async def test_a_refusal_and_a_cut_reply_are_reported() -> None:
    calls = 0

    async def answer(path: str, body: dict, writer: asyncio.StreamWriter) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            await _respond(writer, 400, {"error": {"message": "max_tokens is too large"}})
            return
        message = {"role": "assistant", "content": "Hello th"}
        await _respond(
            writer,
            200,
            {
                "id": "x",
                "object": "chat.completion",
                "created": 0,
                "model": "m",
                "choices": [{"index": 0, "message": message, "finish_reason": "length"}],
                "usage": {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7},
            },
        )

    async with openai_peer(answer) as url:
        llm = OpenAIServerLLM(base_url=url, max_retries=0, timeout_s=5)
        with pytest.raises(GenerationError, match="HTTP 400.*max_tokens is too large"):
            await llm.generate(HELLO, max_tokens=8, temperature=0)
        cut = await llm.generate(HELLO, max_tokens=2, temperature=0)
    # No model was named: the only one the server lists is used.
    assert (cut.model, cut.text, cut.finish_reason, cut.completion_tokens) == (
        "m",
        "Hello th",
        "length",
        2,
    )


async def test_no_server_wrong_root_and_wrong_model_name_say_what_to_fix() -> None:
    nothing = OpenAIServerLLM(base_url=f"http://127.0.0.1:{free_port()}/v1", max_retries=0)
    with pytest.raises(BackendUnavailableError, match="confidante models serve"):
        await nothing.generate(HELLO, max_tokens=4, temperature=0)

    async def not_found(path: str, body: dict, writer: asyncio.StreamWriter) -> None:
        await _respond(writer, 404, {"error": {"message": "Not Found"}})

    async with openai_peer(not_found) as url:
        wrong_name = OpenAIServerLLM(base_url=url, model="other", max_retries=0)
        with pytest.raises(ModelNotFoundError, match="does not serve 'other'.*it serves: m"):
            await wrong_name.check()
        root = url.removesuffix("/v1")
        wrong_root = OpenAIServerLLM(base_url=root, model="m", max_retries=0)
        with pytest.raises(BackendUnavailableError, match="usually ends in /v1"):
            await wrong_root.generate(HELLO, max_tokens=4, temperature=0)


async def test_a_langchain_chat_model_is_a_backend(tmp_path: Path) -> None:
    replies = iter([AIMessage(content="Nice to meet you, Ana."), AIMessage(content="In Porto.")])
    llm = LangChainLLM(GenericFakeChatModel(messages=replies), name="fake")
    settings = Settings(data_dir=tmp_path)
    async with AsyncAssistant.open(settings=settings, llm=llm, embeddings=HashEmbedder()) as a:
        reply = await a.chat("ana", [{"role": "user", "content": "I'm Ana and I live in Porto."}])
        assert reply.content == "Nice to meet you, Ana."
        streamed = [
            part
            async for part in a.chat_stream(
                "ana", [{"role": "user", "content": "Where do I live?"}]
            )
        ]
        *deltas, final = streamed
        assert isinstance(final, Reply)
        assert "".join(str(d) for d in deltas) == "In Porto." == final.content
        assert [m["content"] for m in (await a.export("ana"))["messages"]][-1] == "In Porto."


def test_backend_selection_from_settings(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="CONFIDANTE_LLM_URL"):
        open_llm(Settings(llm_backend="vllm"))
    server = open_llm(Settings(llm_backend="vllm", llm_url="http://127.0.0.1:9/v1/"))
    assert isinstance(server, OpenAIServerLLM) and server.base_url == "http://127.0.0.1:9/v1"
    # The prepared tokenizer counts exactly; a missing folder falls back to the estimate.
    assert server.count_tokens("hello world") == 2
    vllm_missing = "vllm" not in sys.modules and not _importable("vllm")
    if vllm_missing:
        with pytest.raises(ModelNotFoundError, match="confidante models serve"):
            open_llm(Settings(llm_backend="vllm-inprocess"))


def _importable(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None


async def test_the_prompt_layout_follows_the_backend(tmp_path: Path) -> None:
    """Backends with a prefix cache get the profile in the system message (a stable prefix)."""
    from confidante.testing import ScriptedLLM

    class CachingLLM(ScriptedLLM):
        prefix_caching = True

    for llm, layout, profile_in_system in [
        (ScriptedLLM(), "auto", False),
        (CachingLLM(), "auto", True),
        (ScriptedLLM(), "profile_first", True),
        (CachingLLM(), "profile_in_turn", False),
    ]:
        settings = Settings(
            data_dir=tmp_path / f"{layout}-{profile_in_system}", prompt_layout=layout
        )
        async with AsyncAssistant.open(settings=settings, llm=llm, embeddings=HashEmbedder()) as a:
            await a.chat("u", [{"role": "user", "content": "I live in Porto."}])
            await a.chat("u", [{"role": "user", "content": "What should I do this weekend?"}])
            system, *_, last = llm.prompts[-1]
            assert ("Porto" in system["content"]) is profile_in_system
            assert ("Porto" in last["content"]) is not profile_in_system


def test_a_vllm_server_that_cannot_start_reports_its_output(tmp_path: Path) -> None:
    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text("{}")
    # This environment's python has no vllm: the server exits at once, and says why.
    server = VLLMServer(Path(sys.executable), model, log_path=tmp_path / "vllm.log")
    assert "--enable-prefix-caching" in server.command()
    with pytest.raises(BackendUnavailableError, match="No module named 'vllm'"):
        with server:
            pass
    assert server.process is None
    with pytest.raises(BackendUnavailableError, match="models prepare"):
        VLLMServer(Path(sys.executable), tmp_path / "missing").start()


def test_lora_adapters_go_on_the_server_command_line(tmp_path: Path) -> None:
    server = VLLMServer(
        Path("python"), tmp_path, port=8123, lora_modules={"ana": tmp_path / "ana"}, gpu=True
    )
    command = server.command()
    assert command[command.index("--lora-modules") + 1] == f"ana={tmp_path / 'ana'}"
    assert "--enable-lora" in command and "--enforce-eager" not in command
    assert server.url == "http://127.0.0.1:8123/v1"


def test_readiness_over_http_follows_the_model_server(tmp_path: Path) -> None:
    """/ready answers 503 with an OpenAI error body while the model server is down."""
    import httpx

    from confidante.serving.server import BackgroundServer, Service

    settings = Settings(data_dir=tmp_path / "data", cache_dir=tmp_path / "cache")
    down = OpenAIServerLLM(base_url=f"http://127.0.0.1:{free_port()}/v1", max_retries=0)
    assistant = AsyncAssistant.open(settings=settings, llm=down, embeddings=HashEmbedder())
    service = Service.build(assistant, host="127.0.0.1")
    try:
        with BackgroundServer(service.app) as url:
            answer = httpx.get(f"{url}/ready", timeout=10)
            assert answer.status_code == 503
            assert "confidante models serve" in answer.json()["error"]["message"]
            assert httpx.get(f"{url}/health", timeout=10).status_code == 200
    finally:
        service.close()


def test_each_user_gets_their_newest_adapter_and_new_ones_are_seen(tmp_path: Path) -> None:
    from confidante.llm.adapters import UserAdapters

    root = tmp_path / "adapters"

    def adapter(name: str, user: str | None) -> Path:
        partial = root / f"{name}.partial"
        partial.mkdir(parents=True)
        (partial / "adapter_config.json").write_text("{}")
        (partial / "training.json").write_text(json.dumps({"user_id": user}))
        return partial.rename(root / name)  # as a training run puts it in place

    adapters = UserAdapters(Settings(data_dir=tmp_path))
    assert adapters.for_user("ana") is None  # no adapters folder yet
    adapter("ana-20261101T000000Z-aaaaaa", "ana")
    adapter("shared-20261101T000000Z-cccccc", None)
    assert adapters.for_user("ana") == root / "ana-20261101T000000Z-aaaaaa"
    assert adapters.for_user("rui") is None
    newer = adapter("ana-20261102T000000Z-bbbbbb", "ana")
    assert adapters.for_user("ana") == newer


async def test_models_endpoint_names_the_served_model_when_none_was_configured(
    tmp_path: Path,
) -> None:
    """Without CONFIDANTE_LLM_MODEL, /v1/models asks the model server for its one model."""
    from confidante.database import Database
    from confidante.serving.auth import Authenticator
    from confidante.serving.handlers import Handlers
    from confidante.serving.keys import KeyStore

    async def unused(path: str, body: dict, writer: asyncio.StreamWriter) -> None:
        await _respond(writer, 500, {})

    settings = Settings(data_dir=tmp_path / "data", cache_dir=tmp_path / "cache")
    async with openai_peer(unused) as url:
        llm = OpenAIServerLLM(base_url=url, max_retries=0)
        assistant = AsyncAssistant.open(settings=settings, llm=llm, embeddings=HashEmbedder())
        keys = KeyStore(Database(settings.resolved_data_dir() / "confidante.db"))
        try:
            handlers = Handlers(assistant, Authenticator(keys, local_mode=True))
            listed = await handlers.models()
            assert [card.id for card in listed.data] == ["m"]  # what the peer serves
        finally:
            keys.close()
            await assistant.close()
