"""What encryption at rest costs: ingest and recall with and without it, side by side.

Usage: .venv/bin/python bench/encryption.py [--users 20] [--messages 40] [--embedder both]

Two data dirs, one plain and one encrypted (a master key in a temporary file), take the same
workload in alternating order, on real SQLite and Chroma with a scripted model: each user
observes ``--messages`` messages one call at a time (ingest), then is asked ten questions
(recall, warm), then, after both assistants are reopened, the user's first question (cold
recall: the user's documents are read and opened again) and their profile. Printed per
embedder: the median milliseconds of each step, plain and encrypted, and their ratio. The
hashing embedder shows the stores' share at its largest; the packaged MiniLM is the default
install's embedder.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import stdlib_first  # noqa: F401  (before anything that imports transformers)
from langchain_core.embeddings import Embeddings

from confidante import AsyncAssistant, Settings
from confidante.encryption import new_master_key
from confidante.testing import HashEmbedder, ScriptedLLM

SENTENCES = [
    "I live in {place} with my partner {name}.",
    "My sister {name} works as a nurse in {place}.",
    "We went hiking near {place} last weekend and it rained.",
    "I'm allergic to peanuts, so {name} always checks the menu.",
    "The {thing} in my kitchen broke again this morning.",
    "I started learning the piano because {name} plays so well.",
    "Our dog {name} loves the beach at {place}.",
    "I work at the {thing} factory on the edge of {place}.",
]
QUESTIONS = [
    "Where do I live?",
    "What does my sister do?",
    "What am I allergic to?",
    "What is my dog called?",
    "Where do I work?",
    "What broke in my kitchen?",
    "Why did I start the piano?",
    "Where did we go hiking?",
    "Who checks the menu for me?",
    "What does my partner do?",
]
PLACES = ["Lisbon", "Braga", "Porto", "Faro", "Coimbra", "Évora", "Aveiro", "Sintra"]
NAMES = ["Ana", "Tiago", "Marta", "Rui", "Inês", "Bruno", "Sofia", "Pedro"]
THINGS = ["toaster", "kettle", "fridge", "oven", "mixer", "blender"]
MODES = ("plain", "encrypted")


def history(user: int, messages: int) -> list[str]:
    pick = random.Random(user)
    return [
        pick.choice(SENTENCES).format(
            place=pick.choice(PLACES), name=pick.choice(NAMES), thing=pick.choice(THINGS)
        )
        for _ in range(messages)
    ]


async def timed(step: Awaitable[object]) -> float:
    """Milliseconds to finish ``step`` (a coroutine does nothing until awaited)."""
    start = time.perf_counter()
    await step
    return (time.perf_counter() - start) * 1000


def settings_for(root: Path, mode: str, key_file: Path) -> Settings:
    return Settings(
        data_dir=root / mode,
        cache_dir=root / "cache",
        encryption_key_file=key_file if mode == "encrypted" else None,
    )


async def run(embeddings: Embeddings, users: int, messages: int) -> dict[str, dict[str, float]]:
    times: dict[str, dict[str, list[float]]] = {
        m: {"ingest": [], "recall": [], "cold recall": [], "profile": []} for m in MODES
    }
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        key_file = root / "secrets" / "master.key"
        key_file.parent.mkdir()
        key_file.write_text(new_master_key())
        key_file.chmod(0o600)

        def opened() -> dict[str, AsyncAssistant]:
            return {
                m: AsyncAssistant.open(
                    settings=settings_for(root, m, key_file),
                    llm=ScriptedLLM(["Noted."]),
                    embeddings=embeddings,
                )
                for m in MODES
            }

        assistants = opened()
        for user in range(users):
            said = history(user, messages)
            order = MODES if user % 2 == 0 else MODES[::-1]
            for text in said:
                for m in order:
                    message = [{"role": "user", "content": text}]
                    observe = assistants[m].observe
                    times[m]["ingest"].append(await timed(observe(f"u{user}", message)))
            for question in QUESTIONS:
                for m in order:
                    recall = assistants[m].recall
                    times[m]["recall"].append(await timed(recall(f"u{user}", question)))
        for a in assistants.values():
            await a.close()
        assistants = opened()
        for user in range(users):
            order = MODES if user % 2 == 0 else MODES[::-1]
            for m in order:
                a = assistants[m]
                times[m]["cold recall"].append(await timed(a.recall(f"u{user}", QUESTIONS[0])))
                times[m]["profile"].append(await timed(a.profile(f"u{user}")))
        for a in assistants.values():
            await a.close()
    return {m: {k: statistics.median(v) for k, v in steps.items()} for m, steps in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--messages", type=int, default=40)
    parser.add_argument("--embedder", choices=["hash", "minilm", "both"], default="both")
    args = parser.parse_args()
    embedders: dict[str, Callable[[], Embeddings]] = {}
    if args.embedder in ("hash", "both"):
        embedders["hashing embedder"] = HashEmbedder
    if args.embedder in ("minilm", "both"):

        def minilm() -> Embeddings:
            from confidante.memory.embeddings import SentenceTransformerEmbeddings

            return SentenceTransformerEmbeddings(None)

        embedders["MiniLM (default)"] = minilm
    print(f"{args.users} users x {args.messages} messages; medians in ms")
    for label, make in embedders.items():
        figures = asyncio.run(run(make(), args.users, args.messages))
        print(f"\n{label:<18} {'plain':>9} {'encrypted':>10} {'ratio':>7}")
        for step in figures["plain"]:
            plain, sealed = figures["plain"][step], figures["encrypted"][step]
            print(f"{step:<18} {plain:>9.2f} {sealed:>10.2f} {sealed / plain:>7.2f}")


if __name__ == "__main__":
    main()
