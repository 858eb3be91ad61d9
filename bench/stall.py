"""Small requests while large ones run: can one request stall the others?

Usage: .venv/bin/python bench/stall.py [--seconds 8] [--repeats 3] [--small-clients 4]
       [--large-clients 2] [--think-ms 20] [--seed-messages 1500]

A server in a child process runs the packaged embedder (the CPU-heavy part: embedding is what
a long query or a big import costs) and a scripted model (generation is not measured here; a
model server runs it elsewhere). Small clients, each pausing ``--think-ms`` on average between
requests, alternate a short ``POST /v1/memories/search`` and ``GET /v1/profile``. Each phase
adds ``--large-clients`` clients sending one kind of large request back to back, as big as the
server accepts:

- idle: no large requests (the floor);
- long search: a query at the length limit, ``k`` at its limit;
- big observe: an import of as many long messages as one request body holds;
- big chat: a chat turn whose message is at the length limit;
- export / memories: everything held about a user with ``--seed-messages`` messages.

Printed per phase: the small requests' p50, p95 and worst latency, and how many large requests
finished and their median latency. Medians over ``--repeats`` runs; figures are printed, never
asserted. Nothing is pinned: the server has every CPU, as it would in use, and the load
generator (a bare asyncio HTTP client) takes little of it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import random
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import stdlib_first  # noqa: F401  (before anything that imports transformers)
from percentiles import percentile
from serving import Connection, free_port, wait_ready

from confidante import AsyncAssistant, Settings
from confidante.serving.keys import KeyStore
from confidante.testing import ScriptedLLM

PHASES = ("idle", "long search", "big observe", "big chat", "export", "memories")
WORDS = (
    "garden market river piano kitchen weekend bicycle library coffee mountain letter "
    "friend doctor train summer window recipe project station morning"
).split()
Figures = dict[str, float]


def run_server(data_dir: str, port: int, default_switch: bool, background: int) -> None:
    """Child process: serve an assistant on ``port`` until terminated."""
    import uvicorn

    from confidante.serving.server import Service, freeze_startup_objects, share_the_interpreter

    # As `confidante serve` does, unless --no-background.
    settings = Settings(data_dir=Path(data_dir), background_processes=background)
    assistant = AsyncAssistant.open(settings=settings, llm=ScriptedLLM(["Noted."]))
    service = Service.build(assistant, host="127.0.0.1")
    assistant.start_background()
    freeze_startup_objects()
    if not default_switch:  # as `confidante serve` does
        share_the_interpreter()
    uvicorn.run(
        service.app, host="127.0.0.1", port=port, log_level="warning", timeout_keep_alive=120
    )


def prose(words: random.Random, chars: int) -> str:
    """Sentences of everyday words, about ``chars`` long."""
    parts: list[str] = []
    size = 0
    while size < chars:
        sentence = "I " + " ".join(words.choice(WORDS) for _ in range(9)) + "."
        parts.append(sentence)
        size += len(sentence) + 1
    return " ".join(parts)[:chars]


def body(**fields: object) -> bytes:
    return json.dumps(fields).encode()


class Load:
    """The requests of each kind, sized from the server's limits."""

    def __init__(self, settings: Settings) -> None:
        words = random.Random(7)
        self.long_query = prose(words, settings.max_query_chars)
        per_message = settings.max_message_chars - 100
        count = min(settings.server_max_messages, settings.server_max_body_bytes // per_message - 1)
        self.observe = body(
            messages=[{"role": "user", "content": prose(words, per_message)} for _ in range(count)]
        )
        self.chat_content = prose(words, settings.max_message_chars - 100)
        self.k = min(settings.max_recall_k, 100)

    def large(self, phase: str, connection: Connection, key: str, n: int) -> Awaitable[object]:
        if phase == "long search":
            search = body(query=f"{n} {self.long_query}"[: len(self.long_query)], k=self.k)
            return connection.request("POST", "/v1/memories/search", key, search)
        if phase == "big observe":
            return connection.request("POST", "/v1/observe", key, self.observe)
        if phase == "big chat":
            message = {"role": "user", "content": f"{n} {self.chat_content}"}
            chat = body(model="x", messages=[message], max_tokens=8)
            return connection.request("POST", "/v1/chat/completions", key, chat)
        if phase == "export":
            return connection.request("GET", "/v1/export", key)
        return connection.request("GET", "/v1/memories", key)


async def seed(port: int, keys: list[str], big_key: str, seed_messages: int) -> None:
    words = random.Random(3)
    connection = await Connection.open(port)
    for key in keys:
        messages = [{"role": "user", "content": prose(words, 120)} for _ in range(40)]
        await connection.request("POST", "/v1/observe", key, body(messages=messages))
    for start in range(0, seed_messages, 200):
        count = min(200, seed_messages - start)
        messages = [{"role": "user", "content": prose(words, 200)} for _ in range(count)]
        await connection.request("POST", "/v1/observe", big_key, body(messages=messages))
    connection.close()


async def phase_run(
    port: int,
    phase: str,
    load: Load,
    small_keys: list[str],
    large_keys: list[str],
    seconds: float,
    think_s: float,
) -> Figures:
    small: list[float] = []
    large: list[float] = []
    deadline = time.perf_counter() + seconds
    pauses = random.Random(len(phase))

    async def timed(call: Callable[[], Awaitable[object]], into: list[float]) -> None:
        started = time.perf_counter()
        await call()
        into.append(time.perf_counter() - started)

    async def small_client(slot: int) -> None:
        connection = await Connection.open(port)
        key = small_keys[slot % len(small_keys)]
        search = body(query="what did I do at the library last weekend?", k=5)
        n = 0
        while time.perf_counter() < deadline:
            await asyncio.sleep(pauses.expovariate(1 / think_s) if think_s else 0)
            if n % 2:
                await timed(lambda: connection.request("GET", "/v1/profile", key), small)
            else:
                await timed(
                    lambda: connection.request("POST", "/v1/memories/search", key, search), small
                )
            n += 1
        connection.close()

    async def large_client(slot: int) -> None:
        connection = await Connection.open(port)
        key = large_keys[slot % len(large_keys)]
        n = 0
        while time.perf_counter() < deadline:
            await timed(lambda n=n: load.large(phase, connection, key, n), large)
            n += 1
        connection.close()

    large_clients = 0 if phase == "idle" else len(large_keys)
    await asyncio.gather(
        *(small_client(s) for s in range(len(small_keys))),
        *(large_client(s) for s in range(large_clients)),
    )
    return {
        "p50": statistics.median(small) * 1000,
        "p95": percentile(small, 0.95) * 1000,
        "max": max(small) * 1000,
        "small": len(small),
        "large": len(large),
        "large p50": statistics.median(large) * 1000 if large else 0.0,
    }


def one_run(root: Path, args: argparse.Namespace) -> dict[str, Figures]:
    root.mkdir(parents=True)
    store = KeyStore.open(root)
    small_keys = [store.create(user_id=f"small{i}")[1] for i in range(args.small_clients)]
    big_key = store.create(user_id="big")[1]
    import_keys = [store.create(user_id=f"import{i}")[1] for i in range(args.large_clients)]
    store.close()
    port = free_port()
    background = 0 if args.no_background else 1
    # Not a daemon: a daemon process may not start the server's background process.
    child = multiprocessing.get_context("spawn").Process(
        target=run_server, args=(str(root), port, args.default_switch, background)
    )
    child.start()
    try:
        wait_ready(f"http://127.0.0.1:{port}", child)
        asyncio.run(seed(port, small_keys, big_key, args.seed_messages))
        load = Load(Settings(data_dir=root))
        results = {}
        for phase in PHASES:
            # Imports and chats write: each large client writes for a user of its own.
            writes = phase in ("big observe", "big chat")
            large_keys = import_keys if writes else [big_key] * args.large_clients
            results[phase] = asyncio.run(
                phase_run(
                    port,
                    phase,
                    load,
                    small_keys,
                    large_keys,
                    args.seconds,
                    args.think_ms / 1000,
                )
            )
        return results
    finally:
        child.terminate()
        child.join(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0, help="length of each phase")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--small-clients", type=int, default=4)
    parser.add_argument("--large-clients", type=int, default=2)
    parser.add_argument("--think-ms", type=float, default=20.0)
    parser.add_argument("--seed-messages", type=int, default=1500)
    parser.add_argument(
        "--default-switch",
        action="store_true",
        help="keep Python's GIL switch interval, instead of the shorter one the server sets",
    )
    parser.add_argument(
        "--no-background",
        action="store_true",
        help="extract and export in threads of the server, not in a background process",
    )
    args = parser.parse_args()
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        for run in range(args.repeats):
            runs.append(one_run(Path(tmp) / f"run{run}", args))
    print(
        f"{args.small_clients} small clients (think {args.think_ms:g} ms), "
        f"{args.large_clients} large clients per phase, {args.seconds:g} s each; "
        f"medians of {args.repeats} runs"
    )
    head = f"{'phase':<12} {'small p50':>9} {'p95':>7} {'max':>7} {'small n':>7}"
    print(head + f" {'large n':>7} {'large p50':>9}")
    for phase in PHASES:
        f = {key: statistics.median(run[phase][key] for run in runs) for key in runs[0][phase]}
        print(
            f"{phase:<12} {f['p50']:9.1f} {f['p95']:7.1f} {f['max']:7.0f} {f['small']:7.0f}"
            f" {f['large']:7.0f} {f['large p50']:9.0f}"
        )
    print("latencies in ms")


if __name__ == "__main__":
    main()
