"""Evidence recall@k on LoCoMo: Confidante's recall() vs plain BM25 over turns, side by side.

Usage: .venv/bin/python bench/locomo.py [--data ../shared/data/locomo/locomo-dev5.json]
       [--limit N conversations] [--held-out conv-42 conv-43] [--hash-embedder]

Per conversation: a fresh user in a fresh data directory; every turn observed with its dia_id,
speaker and session date; then recall(k=20) for every category 1-4 question. Prints R@5/10/20
per category and overall for both retrievers with the ratio, context words at k=10, ingest
throughput and recall latency. Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import tempfile
import time
from collections import defaultdict
from datetime import datetime
from pathlib import Path
from typing import Any

import stdlib_first  # noqa: F401  (before anything that imports transformers)
from percentiles import percentile
from rank_bm25 import BM25Okapi

from confidante import Assistant, Settings
from confidante.memory.lexical import keywords
from confidante.testing import HashEmbedder, ScriptedLLM

KS = (5, 10, 20)
CATEGORIES = {1: "multi-hop", 2: "temporal", 3: "open-domain", 4: "single-hop"}
DEFAULT_DATA = Path(__file__).resolve().parents[1] / ".." / "shared/data/locomo/locomo-dev5.json"


def turn_text(turn: dict[str, Any]) -> str:
    text = turn["text"]
    if turn.get("blip_caption"):
        text += f" [shares image: {turn['blip_caption']}]"
    return text


def sessions(conversation: dict[str, Any]) -> list[tuple[datetime, list[dict[str, Any]]]]:
    found = []
    for key, turns in conversation.items():
        match = re.fullmatch(r"session_(\d+)", key)
        if match and isinstance(turns, list):
            when = datetime.strptime(conversation[f"{key}_date_time"], "%I:%M %p on %d %B, %Y")
            found.append((int(match.group(1)), when, turns))
    return [(when, turns) for _, when, turns in sorted(found, key=lambda item: item[0])]


def normalise_evidence(raw: list[str], known: set[str]) -> list[str]:
    ids = []
    for item in raw:
        for part in str(item).split(";"):
            match = re.fullmatch(r"D:?(\d+):0*(\d+)", part.strip())
            if match:
                turn_id = f"D{int(match.group(1))}:{int(match.group(2))}"
                if turn_id in known:
                    ids.append(turn_id)
    return list(dict.fromkeys(ids))


def recall_at(ranked: list[list[str]], evidence: list[str], k: int) -> float:
    found = {s for sources in ranked[:k] for s in sources}
    return sum(e in found for e in evidence) / len(evidence)


def run_conversation(sample: dict[str, Any], embeddings: Any, root: Path) -> dict[str, Any]:
    conversation = sample["conversation"]
    messages, docs = [], {}
    for when, turns in sessions(conversation):
        for turn in turns:
            text = turn_text(turn)
            messages.append(
                {
                    "role": "user",
                    "content": text,
                    "id": turn["dia_id"],
                    "name": turn["speaker"],
                    "created_at": when,
                }
            )
            docs[turn["dia_id"]] = f"{turn['speaker']}: {text}"
    questions = []
    for qa in sample["qa"]:
        evidence = normalise_evidence(qa.get("evidence", []), set(docs))
        if qa["category"] in CATEGORIES and evidence:
            questions.append((qa["category"], qa["question"], evidence))

    settings = Settings(data_dir=root / sample["sample_id"])
    user = sample["sample_id"]
    with Assistant.open(settings=settings, llm=ScriptedLLM(), embeddings=embeddings) as a:
        started = time.perf_counter()
        for start in range(0, len(messages), 100):
            a.observe(user, messages[start : start + 100])
        ingest_s = time.perf_counter() - started
        ours, latencies, words = [], [], []
        for _, question, _ in questions:
            t0 = time.perf_counter()
            found = a.recall(user, question, k=max(KS))
            latencies.append(time.perf_counter() - t0)
            ours.append([r.source_ids for r in found])
            words.append(sum(len(r.text.split()) for r in found[:10]))

    ids = list(docs)
    bm25 = BM25Okapi([keywords(docs[i]) or ["_"] for i in ids])
    baseline = []
    for _, question, _ in questions:
        scores = bm25.get_scores(keywords(question))
        top = sorted(range(len(ids)), key=lambda i: scores[i], reverse=True)[: max(KS)]
        baseline.append([[ids[i]] for i in top])
    return {
        "questions": questions,
        "ours": ours,
        "baseline": baseline,
        "turns": len(messages),
        "ingest_s": ingest_s,
        "latencies": latencies,
        "words": words,
    }


def summarise(results: list[dict[str, Any]], key: str) -> dict[str, dict[int, float]]:
    scores: dict[str, dict[int, list[float]]] = defaultdict(lambda: defaultdict(list))
    for result in results:
        for (category, _, evidence), ranked in zip(result["questions"], result[key], strict=True):
            for k in KS:
                value = recall_at(ranked, evidence, k)
                scores[CATEGORIES[category]][k].append(value)
                scores["overall"][k].append(value)
    return {
        name: {k: statistics.fmean(v) for k, v in by_k.items()} for name, by_k in scores.items()
    }


def print_r10(label: str, results: list[dict[str, Any]]) -> None:
    """One line: our R@10 overall / on multi-hop questions, over ``results``."""
    figures = summarise(results, "ours")
    multi_hop = figures.get("multi-hop", {}).get(10, float("nan"))
    print(f"  {label:10} {figures['overall'][10]:.3f} / {multi_hop:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description="LoCoMo evidence recall: ours vs BM25.")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument(
        "--held-out",
        nargs="+",
        default=[],
        metavar="SAMPLE_ID",
        help="conversations left out when choosing weights: R@10 is also printed for them and "
        "for the rest apart (e.g. --held-out conv-42 conv-43)",
    )
    parser.add_argument(
        "--hash-embedder",
        action="store_true",
        help="use the test HashEmbedder instead of the packaged MiniLM",
    )
    args = parser.parse_args()
    samples = json.loads(args.data.read_text())[: args.limit]
    if args.hash_embedder:
        embeddings: Any = HashEmbedder()
    else:
        from confidante.memory.embeddings import SentenceTransformerEmbeddings

        embeddings = SentenceTransformerEmbeddings()
        embeddings.embed_query("warm up")
    with tempfile.TemporaryDirectory() as tmp:
        results = [run_conversation(s, embeddings, Path(tmp)) for s in samples]
    ours, base = summarise(results, "ours"), summarise(results, "baseline")
    print(
        f"{'':12}"
        + "".join(f"{'ours R@' + str(k):>11}{'bm25 R@' + str(k):>11}{'ratio':>7}" for k in KS)
    )
    for name in ["overall", *CATEGORIES.values()]:
        if name in ours:
            row = "".join(
                f"{ours[name][k]:>11.3f}{base[name][k]:>11.3f}"
                f"{ours[name][k] / max(base[name][k], 1e-9):>7.2f}"
                for k in KS
            )
            print(f"{name:12}{row}")
    print("R@10 per conversation (overall / multi-hop):")
    for sample, result in zip(samples, results, strict=True):
        print_r10(sample["sample_id"], [result])
    if args.held_out:
        unknown = set(args.held_out) - {s["sample_id"] for s in samples}
        if unknown:
            parser.error(f"--held-out: no such conversation: {', '.join(sorted(unknown))}")
        print("R@10 overall / multi-hop, tuning vs held-out conversations:")
        for label, held in (("tuning", False), ("held-out", True)):
            part = [
                r
                for s, r in zip(samples, results, strict=True)
                if (s["sample_id"] in args.held_out) == held
            ]
            print_r10(label, part)
    turns = sum(r["turns"] for r in results)
    ingest = sum(r["ingest_s"] for r in results)
    latencies = sorted(x for r in results for x in r["latencies"])
    words = [w for r in results for w in r["words"]]
    p95 = percentile(latencies, 0.95)
    print(
        f"questions: {len(latencies)}  context words at k=10: median {statistics.median(words):.0f}"
    )
    print(f"ingest: {turns} turns in {ingest:.1f} s = {turns / ingest:.0f} turns/s")
    print(
        f"recall latency: p50 {statistics.median(latencies) * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms"
    )


if __name__ == "__main__":
    main()
