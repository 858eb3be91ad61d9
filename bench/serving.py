"""HTTP serving: requests/s and latency p50/p95 at 1, 8 and 32 concurrent clients.

Usage: .venv/bin/python bench/serving.py [--requests 256] [--real-requests 4 8 32]
       [--real-max-tokens 16] [--skip-real]

Four columns, side by side:
- ``GET /v1/models`` on the scripted server: HTTP, authentication (key lookup) and JSON only;
- direct: ``AsyncAssistant.chat`` in process with the scripted model (no HTTP), the floor;
- scripted: the server with ``ScriptedLLM`` + ``HashEmbedder``: its own overhead, everything
  but generation (real SQLite, Chroma, graph, auth, HTTP, JSON);
- real: the server with ``TransformersLLM`` on the prepared SmolLM2 and the packaged embedder.

The server runs in a child process (its own GIL); clients are httpx in this process, one user
key per client slot, spread over 8 users. Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import socket
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from multiprocessing.process import BaseProcess
from pathlib import Path

import httpx

from confidante import AsyncAssistant, Settings
from confidante.serving.keys import KeyStore
from confidante.testing import HashEmbedder, ScriptedLLM

LEVELS = (1, 8, 32)
USERS = 8


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def run_server(data_dir: str, port: int, real: bool) -> None:
    """Child process: serve an assistant on ``port`` until terminated."""
    import uvicorn

    from confidante.serving.server import Service

    settings = Settings(data_dir=Path(data_dir))
    if real:
        from confidante.agent.llm_transformers import TransformersLLM
        from confidante.agent.weights import prepared_model_dir

        llm = TransformersLLM(prepared_model_dir(settings.cache_dir))
        assistant = AsyncAssistant.open(settings=settings, llm=llm)
    else:
        llm = ScriptedLLM(["Noted, thank you."])
        assistant = AsyncAssistant.open(settings=settings, llm=llm, embeddings=HashEmbedder())
    service = Service.build(assistant, host="127.0.0.1")
    uvicorn.run(service.app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def load(
    call: Callable[[int, int], Awaitable[None]], concurrency: int, total: int
) -> dict[str, float]:
    """``total`` calls from ``concurrency`` workers; each call is ``call(worker, n)``."""
    latencies: list[float] = []
    counter = iter(range(total))

    async def worker(slot: int) -> None:
        for n in counter:
            started = time.perf_counter()
            await call(slot, n)
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(worker(slot) for slot in range(concurrency)))
    wall = time.perf_counter() - started
    return {
        "rps": total / wall,
        "p50": statistics.median(latencies) * 1000,
        "p95": percentile(latencies, 0.95) * 1000,
    }


def message(n: int) -> list[dict[str, str]]:
    return [{"role": "user", "content": f"I went to the market today, visit number {n}."}]


async def bench_http(
    url: str, keys: list[str], levels: dict[int, int], max_tokens: int | None, *, chat: bool = True
) -> dict[int, dict[str, float]]:
    results = {}
    async with httpx.AsyncClient(
        base_url=url, timeout=600, limits=httpx.Limits(max_connections=64)
    ) as http:

        async def call(slot: int, n: int) -> None:
            body: dict[str, object] = {"model": "x", "messages": message(n)}
            if max_tokens:
                body["max_tokens"] = max_tokens
            headers = {"Authorization": f"Bearer {keys[slot % len(keys)]}"}
            if chat:
                response = await http.post("/v1/chat/completions", json=body, headers=headers)
            else:  # authentication, routing and JSON only
                response = await http.get("/v1/models", headers=headers)
            response.raise_for_status()

        await load(call, 1, 4)  # warm up (model load, first connections)
        for concurrency, total in levels.items():
            results[concurrency] = await load(call, concurrency, total)
    return results


def with_server(
    root: Path, real: bool, levels: dict[int, int], max_tokens: int | None
) -> tuple[dict[int, dict[str, float]], dict[int, dict[str, float]] | None]:
    data_dir = root / ("real" if real else "scripted")
    data_dir.mkdir(parents=True)
    store = KeyStore.open(data_dir)
    keys = [store.create(user_id=f"user{i}")[1] for i in range(USERS)]
    store.close()
    port = free_port()
    child = multiprocessing.get_context("spawn").Process(
        target=run_server, args=(str(data_dir), port, real), daemon=True
    )
    child.start()
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url, child)
        chats = asyncio.run(bench_http(url, keys, levels, max_tokens))
        models = None if real else asyncio.run(bench_http(url, keys, levels, None, chat=False))
        return chats, models
    finally:
        child.terminate()
        child.join(10)


def wait_ready(url: str, child: BaseProcess) -> None:
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if not child.is_alive():
            raise SystemExit("The server process died; see its output above.")
        try:
            if httpx.get(f"{url}/ready", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise SystemExit("The server did not become ready in 300 s.")


def bench_direct(root: Path, levels: dict[int, int]) -> dict[int, dict[str, float]]:
    async def go() -> dict[int, dict[str, float]]:
        settings = Settings(data_dir=root / "direct")
        llm = ScriptedLLM(["Noted, thank you."])
        async with AsyncAssistant.open(settings=settings, llm=llm, embeddings=HashEmbedder()) as a:

            async def call(slot: int, n: int) -> None:
                await a.chat(f"user{slot % USERS}", message(n))

            await load(call, 1, 4)
            return {c: await load(call, c, total) for c, total in levels.items()}

    return asyncio.run(go())


def show(columns: dict[str, dict[int, dict[str, float]]]) -> None:
    names = list(columns)
    print(f"{'clients':>7} | " + " | ".join(f"{n:^26}" for n in names))
    print(f"{'':>7} | " + " | ".join(f"{'req/s':>8} {'p50 ms':>8} {'p95 ms':>8}" for _ in names))
    for level in LEVELS:
        cells = []
        for name in names:
            r = columns[name].get(level)
            cells.append(f"{r['rps']:8.1f} {r['p50']:8.1f} {r['p95']:8.1f}" if r else f"{'-':>26}")
        print(f"{level:>7} | " + " | ".join(cells))


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--requests", type=int, default=256, help="per level, scripted/direct")
    parser.add_argument("--real-requests", type=int, nargs=3, default=[4, 8, 32])
    parser.add_argument("--real-max-tokens", type=int, default=16)
    parser.add_argument("--skip-real", action="store_true")
    args = parser.parse_args()
    scripted_levels = {level: max(args.requests, level) for level in LEVELS}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        chats, models = with_server(root, False, scripted_levels, None)
        columns = {
            "GET /v1/models (auth)": models or {},
            "chat, direct (no HTTP)": bench_direct(root, scripted_levels),
            "chat, HTTP, scripted": chats,
        }
        if not args.skip_real:
            real_levels: dict[int, int] = dict(zip(LEVELS, args.real_requests, strict=True))
            real, _ = with_server(root, True, real_levels, args.real_max_tokens)
            columns[f"chat, HTTP, SmolLM2 {args.real_max_tokens} tok"] = real
    show(columns)


if __name__ == "__main__":
    main()
