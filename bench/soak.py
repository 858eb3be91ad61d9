"""Memory over many users: does the server's RSS level off once its working set is cached?

Usage: .venv/bin/python bench/soak.py [--users 3000] [--cached 64] [--every 500]

Each column is a fresh process with an assistant on real SQLite and Chroma (hashing embedder
and scripted model, so the measure is what the stores and caches hold, not model weights).
Users arrive one after another, each observes 20 messages and then asks twice (a chat turn and
a search), as a server with a long tail of users sees them. Printed: the process's resident
memory (RSS, MiB) after every ``--every`` users, with ``CONFIDANTE_CACHED_USERS`` at
``--cached`` and at a limit higher than the user count (nothing ever dropped), side by side.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import random
import tempfile
from pathlib import Path

import stdlib_first  # noqa: F401  (before anything that imports transformers)

from confidante import AsyncAssistant, Settings
from confidante.testing import HashEmbedder, ScriptedLLM

WORDS = (
    "garden market river piano kitchen weekend bicycle library coffee mountain letter friend "
    "doctor train summer window recipe project station morning sister office museum harbour"
).split()


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def soak(data_dir: str, users: int, cached: int, every: int, out: multiprocessing.Queue) -> None:
    """Child process: serve ``users`` users in turn; put (users so far, RSS) on ``out``."""

    async def go() -> None:
        settings = Settings(data_dir=Path(data_dir), cached_users=cached)
        words = random.Random(5)
        llm = ScriptedLLM(["Noted."])
        async with AsyncAssistant.open(settings=settings, llm=llm, embeddings=HashEmbedder()) as a:
            for n in range(users):
                user = f"user{n}"
                said = [
                    {"role": "user", "content": " ".join(words.choices(WORDS, k=12)) + "."}
                    for _ in range(20)
                ]
                await a.observe(user, said)
                await a.chat(user, [{"role": "user", "content": "What did I say about coffee?"}])
                await a.recall(user, "the river in summer", k=5)
                if (n + 1) % every == 0:
                    out.put((n + 1, rss_mib()))

    asyncio.run(go())


def column(root: Path, users: int, cached: int, every: int) -> dict[int, float]:
    context = multiprocessing.get_context("spawn")
    out = context.Queue()
    child = context.Process(target=soak, args=(str(root), users, cached, every, out))
    child.start()
    figures = {}
    for _ in range(users // every):
        served, rss = out.get(timeout=3600)
        figures[served] = rss
    child.join(60)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--users", type=int, default=3000)
    parser.add_argument("--cached", type=int, default=64, help="CONFIDANTE_CACHED_USERS")
    parser.add_argument("--every", type=int, default=500, help="users between two readings")
    args = parser.parse_args()
    unbounded = args.users + 1
    with tempfile.TemporaryDirectory() as tmp:
        bounded_rss = column(Path(tmp) / "bounded", args.users, args.cached, args.every)
        unbounded_rss = column(Path(tmp) / "unbounded", args.users, unbounded, args.every)
    print(f"{'users served':>12} | {f'cached {args.cached}':>12} | {'nothing dropped':>15}")
    for served in bounded_rss:
        print(f"{served:>12} | {bounded_rss[served]:12.0f} | {unbounded_rss[served]:15.0f}")
    print("resident memory of the process, MiB")


if __name__ == "__main__":
    main()
