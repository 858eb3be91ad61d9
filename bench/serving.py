"""HTTP serving: requests/s and latency p50/p95 at 1, 8 and 32 concurrent clients.

Usage: .venv/bin/python bench/serving.py [--requests 256] [--repeats 3] [--skip-real]
       [--real-requests 4 8 32] [--real-max-tokens 16] [--no-pin] [--think-ms 0]
       [--generation-ms 0] [--users 8]

Columns, side by side:
- ``GET /v1/models`` on the scripted server: HTTP, authentication (key lookup) and JSON only;
- direct: ``AsyncAssistant.chat`` in process with the scripted model (no HTTP), the floor;
- scripted: the server with ``ScriptedLLM`` + ``HashEmbedder``: its own overhead, everything
  but generation (real SQLite, Chroma, graph, auth, HTTP, JSON);
- real: the server with ``TransformersLLM`` on the prepared SmolLM2 and the packaged embedder.

For each HTTP column two latencies are shown: what the client observed, and the server's own
time (its ``Server-Timing: app`` header: from the app receiving the parsed request to the
response starting; with the scripted model, generation is a list lookup, so this is the
server's overhead). Under closed-loop load both hold queueing: 32 clients that each send the
next request as soon as a reply comes keep 32 requests in the server, so its latency is about
32 / throughput (Little's law). ``--think-ms`` gives each client a pause between requests, as
people have, to measure 32 clients below saturation. ``--generation-ms`` makes the scripted
model take that long to reply (an ``asyncio.sleep``, no CPU), as a real model does: 32 clients
then keep 32 conversations in the server while each waits for its model, and the scripted
columns show the overhead, latency minus the generation time.

The server runs in a child process; the load generator is this process, a bare asyncio
HTTP/1.1 keep-alive client (httpx costs about as much CPU per request as the server's own
work, which would blur the two). With two or more CPUs, the server is pinned to the first and
the client to the second (``os.sched_setaffinity``; ``--no-pin`` to share them). Each level runs
``--repeats`` times on fresh data; figures are medians of the runs, printed, never asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import random
import socket
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from multiprocessing.process import BaseProcess
from pathlib import Path

import httpx
import stdlib_first  # noqa: F401  (before anything that imports transformers)
from percentiles import percentile

from confidante import AsyncAssistant, Settings
from confidante.serving.keys import KeyStore
from confidante.testing import HashEmbedder, ScriptedLLM

LEVELS = (1, 8, 32)
USERS = 8  # default; clients share them in turn (a user's turns are answered in order)
Figures = dict[str, float]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def pin(cpus: set[int] | None) -> None:
    if cpus:
        os.sched_setaffinity(0, cpus)


def run_server(
    data_dir: str, port: int, real: bool, cpus: set[int] | None, generation_s: float
) -> None:
    """Child process: serve an assistant on ``port`` until terminated."""
    pin(cpus)
    import uvicorn

    from confidante.serving.server import Service, freeze_startup_objects

    settings = Settings(data_dir=Path(data_dir))
    if real:
        from confidante.llm.transformers_engine import TransformersLLM
        from confidante.llm.weights import prepared_model_dir

        llm = TransformersLLM(prepared_model_dir(settings.cache_dir))
        assistant = AsyncAssistant.open(settings=settings, llm=llm)
    else:
        llm = ScriptedLLM(["Noted, thank you."], delay=generation_s)
        assistant = AsyncAssistant.open(settings=settings, llm=llm, embeddings=HashEmbedder())
    service = Service.build(assistant, host="127.0.0.1")
    freeze_startup_objects()  # as `confidante serve` does
    # Keep-alive past uvicorn's 5 s default: with --think-ms, clients may pause longer.
    uvicorn.run(
        service.app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
        timeout_keep_alive=120,
    )


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux ``/proc``), all its threads."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def summary(total: int, wall: float, latencies: list[float], server: list[float]) -> Figures:
    figures = {
        "rps": total / wall,
        "p50": statistics.median(latencies) * 1000,
        "p95": percentile(latencies, 0.95) * 1000,
    }
    if server:
        figures |= {"s50": statistics.median(server), "s95": percentile(server, 0.95)}
    return figures


class Connection:
    """One keep-alive HTTP/1.1 connection: a request at a time, replies with Content-Length."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, port: int) -> Connection:
        return cls(*await asyncio.open_connection("127.0.0.1", port))

    async def request(self, method: str, path: str, token: str, body: bytes = b"") -> float | None:
        """Send one request; returns the server's ``Server-Timing`` app time in ms, if sent."""
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer {token}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        self.writer.write(head.encode() + body)
        status_line, *lines = (await self.reader.readuntil(b"\r\n\r\n")).decode().split("\r\n")
        headers = dict(line.lower().split(": ", 1) for line in lines if line)
        payload = await self.reader.readexactly(int(headers["content-length"]))
        if " 200 " not in status_line:
            raise SystemExit(f"{method} {path}: {status_line} {payload[:300]!r}")
        timing = headers.get("server-timing")  # absent from servers before it was added
        return float(timing.partition("dur=")[2]) if timing else None

    def close(self) -> None:
        self.writer.close()


async def load(
    call: Callable[[int, int], Awaitable[float | None]],
    concurrency: int,
    total: int,
    think_s: float = 0.0,
    generation_s: float = 0.0,
) -> Figures:
    """``total`` calls from ``concurrency`` workers; each call is ``call(worker, n)``.

    With ``think_s``, each worker pauses that long on average (exponential) after each reply.
    ``generation_s`` (the scripted model's delay) is taken off every latency.
    """
    latencies: list[float] = []
    server: list[float] = []
    counter = iter(range(total))
    pauses = random.Random(concurrency)

    async def worker(slot: int) -> None:
        if think_s:  # as if each had just been answered: 32 requests at one instant are not
            await asyncio.sleep(pauses.expovariate(1 / think_s))  # how people arrive
        for n in counter:
            started = time.perf_counter()
            took = await call(slot, n)
            latencies.append(time.perf_counter() - started - generation_s)
            if took is not None:
                server.append(took - generation_s * 1000)
            if think_s:
                await asyncio.sleep(pauses.expovariate(1 / think_s))

    started = time.perf_counter()
    await asyncio.gather(*(worker(slot) for slot in range(concurrency)))
    return summary(total, time.perf_counter() - started, latencies, server)


def chat_body(n: int, max_tokens: int | None) -> bytes:
    message = {"role": "user", "content": f"I went to the market today, visit number {n}."}
    body: dict[str, object] = {"model": "x", "messages": [message]}
    if max_tokens:
        body["max_tokens"] = max_tokens
    return json.dumps(body).encode()


def caller(
    connections: list[Connection], keys: list[str], max_tokens: int | None, *, chat: bool
) -> Callable[[int, int], Awaitable[float | None]]:
    async def call(slot: int, n: int) -> float | None:
        token = keys[slot % len(keys)]
        if chat:
            body = chat_body(n, max_tokens)
            return await connections[slot].request("POST", "/v1/chat/completions", token, body)
        return await connections[slot].request("GET", "/v1/models", token)

    return call


async def bench_http(
    server: BaseProcess,
    port: int,
    keys: list[str],
    levels: dict[int, int],
    max_tokens: int | None,
    think_s: float,
    *,
    chat: bool,
    generation_s: float = 0.0,
) -> dict[int, Figures]:
    assert server.pid is not None
    results = {}
    for concurrency, total in levels.items():
        connections = [await Connection.open(port) for _ in range(concurrency)]
        call = caller(connections, keys, max_tokens, chat=chat)
        await load(call, concurrency, min(total, 4 * concurrency))  # warm up connections
        cpu = cpu_seconds(server.pid)
        results[concurrency] = await load(call, concurrency, total, think_s, generation_s)
        # Background work (vector writes) of these requests may finish a little later.
        results[concurrency]["cpu"] = (cpu_seconds(server.pid) - cpu) / total * 1000
        for connection in connections:
            connection.close()
    return results


def with_server(
    data_dir: Path,
    real: bool,
    levels: dict[int, int],
    max_tokens: int | None,
    cpus: Cpus,
    think_s: float,
    generation_s: float = 0.0,
    users: int = USERS,
) -> tuple[dict[int, Figures], dict[int, Figures] | None]:
    data_dir.mkdir(parents=True)
    store = KeyStore.open(data_dir)
    keys = [store.create(user_id=f"user{i}")[1] for i in range(users)]
    store.close()
    port = free_port()
    child = multiprocessing.get_context("spawn").Process(
        target=run_server,
        args=(str(data_dir), port, real, cpus.server, generation_s),
        daemon=True,
    )
    child.start()
    try:
        wait_ready(f"http://127.0.0.1:{port}", child)
        first = {1: 4} if real else {1: 16}  # model load, first user collections
        asyncio.run(bench_http(child, port, keys, first, max_tokens, 0.0, chat=True))
        chats = asyncio.run(
            bench_http(
                child, port, keys, levels, max_tokens, think_s, chat=True, generation_s=generation_s
            )
        )
        models = None
        if not real:
            models = asyncio.run(bench_http(child, port, keys, levels, None, think_s, chat=False))
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


def bench_direct(
    data_dir: Path,
    levels: dict[int, int],
    think_s: float,
    generation_s: float = 0.0,
    users: int = USERS,
) -> dict[int, Figures]:
    async def go() -> dict[int, Figures]:
        settings = Settings(data_dir=data_dir)
        llm = ScriptedLLM(["Noted, thank you."], delay=generation_s)
        async with AsyncAssistant.open(settings=settings, llm=llm, embeddings=HashEmbedder()) as a:

            async def call(slot: int, n: int) -> None:
                message = {"role": "user", "content": f"I went to the market today, visit {n}."}
                await a.chat(f"user{slot % users}", [message])

            await load(call, 1, 16)
            results = {}
            for concurrency, total in levels.items():
                cpu = time.process_time()
                results[concurrency] = await load(call, concurrency, total, think_s, generation_s)
                results[concurrency]["cpu"] = (time.process_time() - cpu) / total * 1000
            return results

    return asyncio.run(go())


class Cpus:
    """Which CPUs the server (and the in-process direct run) and the load generator use."""

    def __init__(self, enabled: bool) -> None:
        available = sorted(os.sched_getaffinity(0))
        split = enabled and len(available) >= 2
        self.server = {available[0]} if split else None
        self.client = set(available[1:]) if split else None

    def describe(self) -> str:
        if self.server is None or self.client is None:
            return "server and load generator share every CPU (not pinned)"
        return (
            f"server pinned to CPU {sorted(self.server)}, load generator to {sorted(self.client)}"
        )


def medians(runs: list[dict[int, Figures]]) -> dict[int, Figures]:
    return {
        level: {key: statistics.median(run[level][key] for run in runs) for key in runs[0][level]}
        for level in runs[0]
    }


def show(columns: dict[str, dict[int, Figures]]) -> None:
    names = list(columns)
    width = 50
    print(f"{'clients':>7} | " + " | ".join(f"{n:^{width}}" for n in names))
    head = f"{'req/s':>7} {'cpu/req':>7} {'p50':>6} {'p95':>6} {'srv p50':>8} {'srv p95':>8}"
    print(f"{'':>7} | " + " | ".join(f"{head:>{width}}" for _ in names))
    for level in sorted({level for column in columns.values() for level in column}):
        cells = []
        for name in names:
            r = columns[name].get(level)
            if r is None:
                cells.append(f"{'-':>{width}}")
                continue
            server = f"{r['s50']:8.1f} {r['s95']:8.1f}" if "s50" in r else f"{'':>17}"
            cells.append(
                f"{r['rps']:7.1f} {r['cpu']:7.2f} {r['p50']:6.1f} {r['p95']:6.1f} {server}"
            )
        print(f"{level:>7} | " + " | ".join(cells))
    print(
        "latencies in ms; cpu/req = server process CPU ms per request (all threads); srv = the"
        " server's own time (Server-Timing app); medians of runs"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--requests", type=int, default=256, help="per level, scripted/direct")
    parser.add_argument("--repeats", type=int, default=3, help="runs per column; medians shown")
    parser.add_argument("--real-requests", type=int, nargs=3, default=[4, 8, 32])
    parser.add_argument("--real-max-tokens", type=int, default=16)
    parser.add_argument("--skip-real", action="store_true")
    parser.add_argument("--no-pin", action="store_true", help="let server and client share CPUs")
    parser.add_argument("--levels", type=int, nargs="+", default=list(LEVELS), help="clients")
    parser.add_argument(
        "--think-ms",
        type=float,
        default=0.0,
        help="mean pause (exponential) of each client between a reply and its next request; "
        "0 (default) = closed loop, every client always waiting on the server",
    )
    parser.add_argument(
        "--generation-ms",
        type=float,
        default=0.0,
        help="the scripted model's reply time (a sleep, no CPU), taken off the scripted "
        "columns' latencies: their overhead with that many conversations held at once",
    )
    parser.add_argument(
        "--users",
        type=int,
        default=USERS,
        help="distinct users the clients speak for, in turn; a user's turns are answered one "
        "at a time, so use as many as clients with --generation-ms",
    )
    args = parser.parse_args()
    think_s = args.think_ms / 1000
    generation_s = args.generation_ms / 1000
    cpus = Cpus(enabled=not args.no_pin)
    print(cpus.describe())
    if think_s:
        print(f"clients pause {args.think_ms:g} ms on average between requests (open-ish loop)")
    if generation_s:
        print(
            f"the scripted model takes {args.generation_ms:g} ms per reply (no CPU); scripted "
            "latencies below are overhead: latency minus that"
        )
    scripted_levels = {level: max(args.requests, level) for level in args.levels}
    chats, models, direct = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for run in range(args.repeats):
            pin(cpus.client)
            chat, model = with_server(
                root / f"scripted{run}",
                False,
                scripted_levels,
                None,
                cpus,
                think_s,
                generation_s,
                args.users,
            )
            chats.append(chat)
            models.append(model or {})
            pin(cpus.server)  # the direct run is the server's work, on the server's CPU
            direct.append(
                bench_direct(
                    root / f"direct{run}", scripted_levels, think_s, generation_s, args.users
                )
            )
        columns = {
            "GET /v1/models (auth)": medians(models),
            "chat, direct (no HTTP)": medians(direct),
            "chat, HTTP, scripted": medians(chats),
        }
        if not args.skip_real:
            pin(cpus.client)
            real_levels: dict[int, int] = dict(zip(LEVELS, args.real_requests, strict=True))
            tokens = args.real_max_tokens
            real, _ = with_server(root / "real", True, real_levels, tokens, cpus, think_s)
            columns[f"chat, HTTP, SmolLM2 {tokens} tok"] = real
    show(columns)


if __name__ == "__main__":
    main()
