"""LoCoMo end to end: observe a whole conversation, then answer its questions from recall.

Usage: .venv/bin/python bench/locomo_qa.py [--data ../shared/data/locomo/locomo-dev5.json]
       [--model PACKAGED|NAME=FOLDER] [--per-category N] [--k 10] [--max-tokens 32]
       [--judge-url URL --judge-model NAME [--judge-key KEY]] [--show]

Per conversation: a fresh data directory, every turn observed with its dia_id, speaker and
session date (as ``bench/locomo.py`` does); then each chosen question of categories 1-4 is put
to the model in a reader prompt over ``recall(question, k)``: the recollections with their
dates, and the question. The answer is scored with LoCoMo's token F1 (lower case, punctuation
and articles out; multi-hop answers split on commas, each gold part matched with its best
predicted part; LoCoMo also stems words with Porter's stemmer, which is left out here, so
figures can be a little lower than with it). With ``--judge-url`` (any OpenAI-compatible
endpoint), a judge model also marks each answer CORRECT or WRONG with the prompt in
``bench/data/locomo_judge_prompt.txt``. Printed: F1 (and judge accuracy) per category and
overall, context tokens per question, seconds per answer. ``--per-category N`` takes the
first N questions of each category of each conversation (a subset: say which when quoting).
Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import statistics
import string
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import stdlib_first  # noqa: F401  (before anything that imports transformers)
from locomo import CATEGORIES, DEFAULT_DATA, sessions, turn_text
from replies import model_folder, transformers_llm

from confidante import AsyncAssistant, Settings
from confidante.llm.base import ChatLLM, TokenCounter, approximate_tokens
from confidante.llm.weights import generation_model_dir
from confidante.records import Recollection

JUDGE_PROMPT = Path(__file__).parent / "data" / "locomo_judge_prompt.txt"
READER_SYSTEM = (
    "You answer questions about a long conversation between two people from the excerpts "
    "you are given. Answer in a few words, with names, dates and numbers as the excerpts "
    "give them. If the excerpts do not tell, give your best short guess."
)


def normalise(text: str) -> list[str]:
    """LoCoMo's answer normalisation, without stemming: the words that are compared."""
    text = str(text).lower().replace(",", " ")
    text = "".join(ch for ch in text if ch not in set(string.punctuation))
    text = re.sub(r"\b(a|an|the|and)\b", " ", text)
    return text.split()


def f1(prediction: str, gold: str) -> float:
    """Token F1 of one predicted answer against one gold answer."""
    predicted, wanted = normalise(prediction), normalise(gold)
    common = sum((Counter(predicted) & Counter(wanted)).values())
    if not common:
        return 0.0
    precision, recall = common / len(predicted), common / len(wanted)
    return 2 * precision * recall / (precision + recall)


def score(category: int, prediction: str, gold: str) -> float:
    """LoCoMo's per-category F1: multi-hop answers are lists, open-domain keeps one answer."""
    if category == 1:
        predicted = [p for p in prediction.split(",") if p.strip()] or [prediction]
        parts = [g for g in str(gold).split(",") if g.strip()]
        return statistics.mean(max(f1(p, g) for p in predicted) for g in parts)
    if category == 3:
        gold = str(gold).split(";")[0]
    return f1(prediction, str(gold))


def reader_prompt(question: str, found: list[Recollection]) -> list[dict[str, str]]:
    lines = [f"[{r.created_at:%d %B %Y}] {r.text}" if r.created_at else r.text for r in found]
    excerpts = "\n".join(lines) or "(nothing found)"
    return [
        {"role": "system", "content": READER_SYSTEM},
        {"role": "user", "content": f"Excerpts:\n{excerpts}\n\nQuestion: {question}\nAnswer:"},
    ]


async def judge(args: argparse.Namespace, question: str, gold: str, answer: str) -> bool | None:
    """The judge model's verdict, or None without a judge."""
    if not args.judge_url:
        return None
    import httpx

    prompt = JUDGE_PROMPT.read_text().format(question=question, gold=gold, answer=answer)
    headers = {"Authorization": f"Bearer {args.judge_key}"} if args.judge_key else {}
    async with httpx.AsyncClient(timeout=120) as client:
        response = await client.post(
            args.judge_url.rstrip("/") + "/chat/completions",
            headers=headers,
            json={
                "model": args.judge_model,
                "messages": [{"role": "user", "content": prompt}],
                "temperature": 0,
                "max_tokens": 10,
            },
        )
        response.raise_for_status()
        verdict = response.json()["choices"][0]["message"]["content"]
    return "CORRECT" in verdict.upper() and "WRONG" not in verdict.upper()


def chosen(sample: dict[str, Any], per_category: int) -> list[dict[str, Any]]:
    taken: dict[int, int] = defaultdict(int)
    questions = []
    for qa in sample["qa"]:
        category = qa["category"]
        if category in CATEGORIES and "answer" in qa:
            if per_category and taken[category] >= per_category:
                continue
            taken[category] += 1
            questions.append(qa)
    return questions


async def run_conversation(
    sample: dict[str, Any], llm: ChatLLM, root: Path, args: argparse.Namespace
) -> list[dict[str, Any]]:
    messages = [
        {
            "role": "user",
            "content": turn_text(turn),
            "id": turn["dia_id"],
            "name": turn["speaker"],
            "created_at": when,
        }
        for when, turns in sessions(sample["conversation"])
        for turn in turns
    ]
    count = llm.count_tokens if isinstance(llm, TokenCounter) else approximate_tokens
    settings = Settings(data_dir=root / sample["sample_id"], temperature=0.0)
    user = sample["sample_id"]
    results = []
    async with AsyncAssistant.open(settings=settings, llm=llm) as assistant:
        for start in range(0, len(messages), 100):
            await assistant.observe(user, messages[start : start + 100])
        for qa in chosen(sample, args.per_category):
            found = await assistant.recall(user, qa["question"], k=args.k)
            prompt = reader_prompt(qa["question"], found)
            started = time.perf_counter()
            completion = await llm.generate(prompt, max_tokens=args.max_tokens, temperature=0.0)
            seconds = time.perf_counter() - started
            answer = completion.text.strip().splitlines()[0] if completion.text.strip() else ""
            result = {
                "category": qa["category"],
                "question": qa["question"],
                "gold": str(qa["answer"]),
                "answer": answer,
                "f1": score(qa["category"], answer, str(qa["answer"])),
                "judge": await judge(args, qa["question"], str(qa["answer"]), answer),
                "context_tokens": sum(count(m["content"]) for m in prompt),
                "seconds": seconds,
            }
            results.append(result)
            print(f"  {user} c{qa['category']} f1={result['f1']:.2f} {seconds:.1f}s", flush=True)
    return results


def report(label: str, results: list[dict[str, Any]], show: bool) -> None:
    print(f"\n{label}: {len(results)} questions")
    print(f"{'category':<14}{'n':>5}{'F1':>8}{'judge':>8}")
    groups = [(CATEGORIES[c], [r for r in results if r["category"] == c]) for c in CATEGORIES]
    for name, rows in [*groups, ("all", results)]:
        if not rows:
            continue
        judged = [r["judge"] for r in rows if r["judge"] is not None]
        accuracy = f"{sum(judged) / len(judged):>8.3f}" if judged else f"{'-':>8}"
        print(f"{name:<14}{len(rows):>5}{statistics.mean(r['f1'] for r in rows):>8.3f}{accuracy}")
    tokens = [r["context_tokens"] for r in results]
    seconds = [r["seconds"] for r in results]
    print(
        f"context tokens per question: median {statistics.median(tokens):.0f}, "
        f"max {max(tokens)}; seconds per answer: median {statistics.median(seconds):.1f}"
    )
    if show:
        for r in results:
            print(
                f"  c{r['category']} {r['question']!r}\n    gold {r['gold']!r} -> {r['answer']!r}"
            )


async def main(args: argparse.Namespace) -> None:
    samples = json.loads(Path(args.data).read_text())
    if args.limit:
        samples = samples[: args.limit]
    if args.model:
        name, folder = model_folder(args.model)
    else:
        folder = str(generation_model_dir(Settings()))
        name = Path(folder).name
    results: list[dict[str, Any]] = []
    with transformers_llm(Path(folder).expanduser(), args.threads) as llm:
        with tempfile.TemporaryDirectory() as root:
            for sample in samples:
                results += await run_conversation(sample, llm, Path(root), args)
    subset = (
        f"first {args.per_category} per category per conversation" if args.per_category else "all"
    )
    report(
        f"{name} / transformers, k={args.k}, {len(samples)} conversations, {subset}",
        results,
        args.show,
    )


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--data", default=str(DEFAULT_DATA))
    parser.add_argument("--limit", type=int, default=0, help="at most N conversations")
    parser.add_argument("--model", help="a prepared packaged model or NAME=FOLDER")
    parser.add_argument("--per-category", type=int, default=0)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--max-tokens", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--judge-url")
    parser.add_argument("--judge-model", default="judge")
    parser.add_argument("--judge-key")
    parser.add_argument("--show", action="store_true")
    return parser.parse_args()


if __name__ == "__main__":
    asyncio.run(main(parse()))
