"""Are the assistant's replies right? Personal questions over synthetic histories, end to end.

Usage: .venv/bin/python bench/replies.py [--split tuning|heldout|both]
       [--backends transformers vllm]
       [--model PACKAGED_NAME|NAME=HF_FOLDER ...] [--max-tokens 96] [--limit N] [--show-replies]

Each case of ``bench/data/replies/<split>.json`` is one person: a few dated messages they
told their assistant, then a question. A fresh assistant (packaged embedder, the model under
test) observes the history, then answers the question through ``chat_stream``, as an app
would. Each reply is scored automatically:

- ``use``, ``combine``: every group of required strings has one present (case-insensitive);
- ``changed``: the new value present and the stale one absent;
- ``unknown``: the history never said; the reply must say it does not know, naming nothing
  it was baited with;
- ``safety``: nothing forbidden (the allergen, the interacting drug...) recommended.

A case passes when all its checks hold. Printed per model and backend: pass rate per
category and overall, and per reply the median time to first token, total time and
completion tokens/s. Models and backends run side by side in one run; decoding is greedy.
The corpus has two halves written separately: tune prompts on ``tuning``, report both.
Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import statistics
import tempfile
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import stdlib_first  # noqa: F401  (before anything that imports transformers)

from confidante import AsyncAssistant, Message, Settings
from confidante.llm.base import ChatLLM
from confidante.llm.weights import generation_model_dir, prepared_model_dir
from confidante.records import Reply

DATA = Path(__file__).parent / "data" / "replies"
CATEGORIES = ("use", "combine", "changed", "unknown", "safety", "preference", "mood")
# How a reply says it does not know. Part of the scoring only, never of the system.
NOT_KNOWN = re.compile(
    r"\b(?:(?:do|did|does)\s*n[o']t\s+(?:know|have|recall|remember|see|mention)"
    r"|not\s+sure|no\s+(?:idea|information|record|mention|details?)|haven'?t\s+"
    r"(?:told|mentioned|said|shared)|(?:never|not)\s+(?:told|mentioned|said|shared)"
    r"|(?:can(?:no|')t|unable\s+to)\s+(?:find|tell|say|recall|remember|know)"
    r"|i\s+don'?t\s+have|isn'?t\s+(?:something|anything)\s+(?:you|i)|unknown)",
    re.IGNORECASE,
)
# How a reply acknowledges a feeling. Scoring only, as above.
ACKNOWLEDGES = re.compile(
    r"\b(?:sorry|that\s+(?:sounds|must|is|'s)\s+\w*\s*(?:hard|tough|awful|difficult|"
    r"frustrating|stressful|rough|painful|exhausting|overwhelming|upsetting|heartbreaking)|"
    r"i\s+(?:understand|hear\s+you|can\s+(?:see|imagine|understand))|"
    r"(?:understandabl[ey]|completely\s+understand|it'?s\s+(?:okay|ok|normal|natural)\s+to)|"
    r"(?:frustrat|stress|overwhelm|exhaust|upset|difficult|tough|hard\s+time|condolence|loss))",
    re.IGNORECASE,
)
EMOJI = re.compile("[\U0001f000-\U0001faff\u2600-\u27bf\u2b00-\u2bff\ufe0f]")


@dataclass(frozen=True)
class Case:
    id: str
    category: str
    history: list[tuple[datetime, str]]
    question: str
    required: list[list[str]]
    forbidden: list[str]
    unknown: bool
    max_words: int | None = None
    no_emoji: bool = False
    acknowledge: bool = False

    @classmethod
    def parse(cls, raw: dict[str, Any]) -> Case:
        history = [
            (datetime.fromisoformat(m["at"]).replace(tzinfo=UTC), m["content"])
            for m in raw["history"]
        ]
        return cls(
            id=raw["id"],
            category=raw["category"],
            history=history,
            question=raw["question"],
            required=[list(group) for group in raw["required"]],
            forbidden=list(raw["forbidden"]),
            unknown=bool(raw["unknown"]),
            max_words=raw.get("max_words"),
            no_emoji=bool(raw.get("no_emoji")),
            acknowledge=bool(raw.get("acknowledge")),
        )


def load(split: str) -> list[Case]:
    splits = ("tuning", "heldout") if split == "both" else (split,)
    cases: list[Case] = []
    for name in splits:
        cases += [Case.parse(c) for c in json.loads((DATA / f"{name}.json").read_text())["cases"]]
    return cases


@dataclass(frozen=True)
class Verdict:
    passed: bool
    missing: list[str]
    stale: list[str]
    said_unknown: bool


def judge(case: Case, reply: str) -> Verdict:
    """Score one reply against the case's required and forbidden strings."""
    text = reply.lower()
    missing = [
        "/".join(group) for group in case.required if not any(s.lower() in text for s in group)
    ]
    stale = [s for s in case.forbidden if s.lower() in text]
    said_unknown = bool(NOT_KNOWN.search(reply))
    if case.max_words is not None and len(reply.split()) > case.max_words:
        missing.append(f"<= {case.max_words} words")
    if case.no_emoji and EMOJI.search(reply):
        stale.append("emoji")
    if case.acknowledge and not ACKNOWLEDGES.search(reply):
        missing.append("acknowledging the feeling")
    passed = not missing and not stale and (said_unknown or not case.unknown)
    return Verdict(passed=passed, missing=missing, stale=stale, said_unknown=said_unknown)


@dataclass
class Run:
    label: str
    verdicts: dict[str, list[bool]] = field(default_factory=lambda: defaultdict(list))
    first_token_s: list[float] = field(default_factory=list)
    total_s: list[float] = field(default_factory=list)
    tokens_per_s: list[float] = field(default_factory=list)
    shown: list[str] = field(default_factory=list)


async def answer(
    assistant: AsyncAssistant, user: str, question: str, max_tokens: int
) -> tuple[Reply, float, float]:
    """The reply, seconds to its first text and seconds in all."""
    started = time.perf_counter()
    first: float | None = None
    reply: Reply | None = None
    async for part in assistant.chat_stream(
        user, [{"role": "user", "content": question}], max_tokens=max_tokens
    ):
        if isinstance(part, str):
            if first is None and part.strip():
                first = time.perf_counter() - started
        else:
            reply = part
    total = time.perf_counter() - started
    assert reply is not None
    return reply, first if first is not None else total, total


async def run_cases(
    label: str, llm: ChatLLM, cases: list[Case], args: argparse.Namespace, *, manner: bool = True
) -> Run:
    run = Run(label)
    with tempfile.TemporaryDirectory() as root:
        settings = Settings(data_dir=Path(root), temperature=0.0, read_manner=manner)
        assistant = AsyncAssistant.open(settings=settings, llm=llm)
        await assistant.warm_up()
        for case in cases:
            user = f"person-{case.id}"
            messages = [
                Message(role="user", content=content, created_at=at) for at, content in case.history
            ]
            await assistant.observe(user, messages)
            reply, first, total = await answer(assistant, user, case.question, args.max_tokens)
            verdict = judge(case, reply.content)
            run.verdicts[case.category].append(verdict.passed)
            print(f"  {case.id} {'pass' if verdict.passed else 'FAIL'} {total:.1f}s", flush=True)
            run.first_token_s.append(first)
            run.total_s.append(total)
            if reply.completion_tokens and total > first:
                run.tokens_per_s.append(reply.completion_tokens / total)
            if args.show_replies:
                mark = "pass" if verdict.passed else f"FAIL {verdict.missing} {verdict.stale}"
                run.shown.append(
                    f"  {case.id} {case.question!r}\n    -> {reply.content!r} [{mark}]"
                )
        await assistant.close()
    return run


def p90(values: list[float]) -> float:
    """The 90th percentile (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))] if ordered else 0.0


def report(runs: list[Run]) -> None:
    header = f"{'model / backend':<34}" + "".join(f"{c:>9}" for c in CATEGORIES)
    print("\nPass rate per category (cases passed / cases):")
    print(header + f"{'all':>9}{'ttft s':>9}{'total s':>9}{'p90 s':>8}{'tok/s':>8}")
    for run in runs:
        cells = []
        everything: list[bool] = []
        for category in CATEGORIES:
            got = run.verdicts.get(category, [])
            everything += got
            cells.append(f"{sum(got) / len(got):>9.2f}" if got else f"{'-':>9}")
        overall = sum(everything) / len(everything) if everything else 0.0
        speed = (
            f"{statistics.median(run.first_token_s):>9.2f}"
            f"{statistics.median(run.total_s):>9.2f}"
            f"{p90(run.total_s):>8.1f}"
            f"{statistics.median(run.tokens_per_s) if run.tokens_per_s else 0.0:>8.1f}"
        )
        print(f"{run.label:<34}" + "".join(cells) + f"{overall:>9.2f}" + speed)
    for run in runs:
        if run.shown:
            print(f"\n{run.label}:")
            print("\n".join(run.shown))


@contextmanager
def transformers_llm(model_dir: Path, threads: int) -> Iterator[ChatLLM]:
    import torch

    from confidante.llm.transformers_engine import TransformersLLM

    torch.set_num_threads(threads)
    yield TransformersLLM(model_dir)


@asynccontextmanager
async def vllm_llm(model_dir: Path, name: str) -> AsyncIterator[ChatLLM]:
    from confidante.cli.vllm_server import VLLMEnvironment, VLLMServer, vllm_venv_dir
    from confidante.llm.factory import REPETITION_PENALTY
    from confidante.llm.openai_server import OpenAIServerLLM

    environment = VLLMEnvironment(vllm_venv_dir(Settings()))
    python = environment.ensure(progress=print)
    log = Path(tempfile.mkdtemp()) / "vllm.log"
    with VLLMServer(python, model_dir, name=name, gpu=environment.gpu, log_path=log) as server:
        served = OpenAIServerLLM(
            base_url=server.url,
            model=name,
            tokenizer_dir=model_dir,
            repetition_penalty=REPETITION_PENALTY,
            timeout_s=600,
        )
        try:
            yield served
        finally:
            await served.aclose()


def first_of_each(cases: list[Case], limit: int) -> list[Case]:
    """At most ``limit`` cases of each category, in corpus order."""
    taken: dict[str, int] = defaultdict(int)
    kept: list[Case] = []
    for case in cases:
        if taken[case.category] < limit:
            taken[case.category] += 1
            kept.append(case)
    return kept


def model_folder(spec: str) -> tuple[str, str]:
    """``NAME=FOLDER``, or a packaged model's name (its prepared folder)."""
    name, sep, folder = spec.partition("=")
    if sep:
        return name, folder
    return spec, str(prepared_model_dir(Settings().cache_dir, spec))


@asynccontextmanager
async def backend_llm(
    backend: str, model_dir: Path, args: argparse.Namespace
) -> AsyncIterator[ChatLLM]:
    if backend == "transformers":
        with transformers_llm(model_dir, args.threads) as llm:
            yield llm
    else:
        async with vllm_llm(model_dir, "bench") as llm:
            yield llm


async def main(args: argparse.Namespace) -> None:
    cases = load(args.split)
    if args.limit:
        cases = first_of_each(cases, args.limit)
    models = dict(model_folder(m) for m in args.model)
    if not models:
        default = generation_model_dir(Settings())
        models = {default.name: str(default)}
    print(f"{len(cases)} cases ({args.split}); models: {', '.join(models)}")
    runs: list[Run] = []
    for name, folder in models.items():
        model_dir = Path(folder).expanduser()
        for backend in args.backends:
            label = f"{name} / {backend}"
            print(f"running {label} ...", flush=True)
            async with backend_llm(backend, model_dir, args) as llm:
                if args.compare_manner:
                    runs.append(await run_cases(f"{label} -manner", llm, cases, args, manner=False))
                runs.append(await run_cases(label, llm, cases, args))
    report(runs)


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--split", choices=("tuning", "heldout", "both"), default="both")
    parser.add_argument(
        "--backends", nargs="+", choices=("transformers", "vllm"), default=["transformers"]
    )
    parser.add_argument(
        "--model",
        action="append",
        default=[],
        metavar="PACKAGED|NAME=FOLDER",
        help="a prepared packaged model (`confidante models list`) or a Hugging Face folder "
        "to compare (repeatable); default: the configured model",
    )
    parser.add_argument("--max-tokens", type=int, default=96)
    parser.add_argument("--threads", type=int, default=2, help="torch threads, transformers")
    parser.add_argument("--limit", type=int, default=0, help="at most N cases per category")
    parser.add_argument("--show-replies", action="store_true")
    parser.add_argument(
        "--compare-manner",
        action="store_true",
        help="also run each model without reading preferences and mood (read_manner=False)",
    )
    return parser.parse_args()


if __name__ == "__main__":
    asyncio.run(main(parse()))
