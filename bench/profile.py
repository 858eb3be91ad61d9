"""How right the profile is on ordinary speech: the corpus halves and hand-labelled LoCoMo turns.

Usage: .venv/bin/python bench/profile.py [--half tuning held_out tuning_extra tuning_changes]
       [--hash-embedder] [--show-misses N] [--no-locomo] [--dump-unlabelled FILE]
       [--llm-url URL --llm-model NAME]

For each set of ``bench/data/profile`` named by ``--half`` (default: the two halves; every
case a fresh user; messages observed one at a time, oldest first, each at its ``days_ago``),
prints (``--show-misses`` never on the held-out half while tuning):

- learned: of the facts in single statements, the share found in the profile (and the share of
  statements with every fact found);
- changes applied: of the changes of state, the share where every new value is current and no
  old value is;
- newest first: of the changes of state, the share where, for the present-tense question,
  recall's first memory naming the first fact's new or old value names the new one;
- history kept: of the old values that were current at some step and are not at the end, the
  share still in the fact history, closed (not deleted).

Then precision on ``locomo_labels.jsonl`` (LoCoMo dev turns labelled by hand with the profile
facts they assert, and facts that would also be acceptable): of the profile facts produced
from those turns, the share matching a labelled one; the labelled facts found; and ingest
turns/s for those turns. With ``--llm-url``, facts come from the JSON-schema LLM extractor
served by an OpenAI-compatible server (vLLM) instead of the rules. Figures are printed, never
asserted.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import stdlib_first  # noqa: F401  (before anything that imports transformers)
from locomo import DEFAULT_DATA, sessions, turn_text

from confidante import Assistant, Settings
from confidante.graph.schema import PREDICATES, SELF, relation_named
from confidante.testing import HashEmbedder, ScriptedLLM

DATA = Path(__file__).resolve().parent / "data" / "profile"
NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
_WORD = re.compile(r"[\w]+(?:['’][\w]+)*")
_ARTICLES = {"a", "an", "the", "my", "our", "his", "her", "their"}


def _singular(word: str) -> str:
    """ "nuts" and "nut" name the same value (applied to both sides alike)."""
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


def words(text: str) -> list[str]:
    """The content words of ``text``, case-folded, singular: no articles, possessives or
    punctuation."""
    found = [w.casefold().replace("’", "'") for w in _WORD.findall(text)]
    return [_singular(w.removesuffix("'s")) for w in found if w not in _ARTICLES]


def _pet_value(text: str) -> str:
    """A pet's name out of "a dog named Rex" or "husky Rex" (a species alone stays as it is)."""
    named = re.search(r"\b(?:named|called)\s+(.+)$", text)
    if named:
        return named.group(1)
    capitalised = [w for w in text.split() if w[:1].isupper()]
    return " ".join(capitalised) if capitalised else text


def same_object(gold: str, produced: str, predicate: str) -> bool:
    """Whether ``produced`` names the same value as ``gold``, give or take a word."""
    if predicate == "pet":
        gold, produced = _pet_value(gold), _pet_value(produced)
    g, p = words(gold), words(produced)
    if not g or not p:
        return False
    if g == p:
        return True
    extra = [w for w in p if w not in g]
    missing = [w for w in g if w not in p]
    if not missing and len(extra) <= 1:  # "senior nurse" for "nurse"
        return True
    return not extra and len(missing) <= max(0, len(g) // 3)  # "Hwang" for "Hwang & Co"


def same_subject(gold: str, produced: str) -> bool:
    gold = SELF if gold == "user" else gold
    return " ".join(gold.casefold().split()) == " ".join(produced.casefold().split())


def same_role(gold: str | None, produced: str | None) -> bool:
    if gold is None or produced is None:
        return gold is None or produced is not None
    canon = [
        (relation_named(r) or (None, r.casefold()))[1] or r.casefold() for r in (gold, produced)
    ]
    return canon[0] == canon[1]


def matches(gold: dict[str, Any], fact: dict[str, Any]) -> bool:
    return (
        gold["predicate"] == fact["predicate"]
        and same_subject(gold["subject"], fact["subject"])
        and same_object(gold["object"], fact["object"], gold["predicate"])
        and same_role(gold.get("role"), fact.get("role"))
    )


def mentions(text: str, value: str) -> bool:
    """Whether the memory ``text`` names ``value`` (all its content words, in any order)."""
    have = set(words(text))
    return bool(words(value)) and all(w in have for w in words(value))


def is_current(fact: dict[str, Any]) -> bool:
    return fact["valid_to"] is None and fact["expired_at"] is None


@dataclass
class Tally:
    """Counts for one half of the corpus."""

    facts: int = 0
    facts_learned: int = 0
    statements: int = 0
    statements_learned: int = 0
    changes: int = 0
    changes_applied: int = 0
    newest_first: int = 0
    history_due: int = 0
    history_kept: int = 0
    messages: int = 0
    observe_s: float = 0.0
    misses: list[str] = field(default_factory=list)


def observe_case(a: Assistant, case: dict[str, Any], tally: Tally) -> list[list[dict[str, Any]]]:
    """Observe the case's messages one at a time; the user's facts after each one."""
    snapshots = []
    for index, message in enumerate(case["messages"]):
        when = NOW - timedelta(days=message["days_ago"]) + timedelta(seconds=index)
        item: dict[str, Any] = {
            "role": "user",
            "content": message["text"],
            "id": f"{case['id']}-{index}",
            "created_at": when,
        }
        if message.get("speaker"):
            item["name"] = message["speaker"]
        started = time.perf_counter()
        a.observe(case["id"], [item])
        tally.observe_s += time.perf_counter() - started
        tally.messages += 1
        snapshots.append(a.export(case["id"])["facts"])
    return snapshots


def score_case(a: Assistant, case: dict[str, Any], tally: Tally) -> None:
    snapshots = observe_case(a, case, tally)
    final = snapshots[-1]
    current = [f for f in final if is_current(f)]
    problems = []
    if case["kind"] == "statement":
        found = [g for g in case["facts"] if any(matches(g, f) for f in current)]
        tally.facts += len(case["facts"])
        tally.facts_learned += len(found)
        tally.statements += 1
        tally.statements_learned += len(found) == len(case["facts"])
        problems += [
            f"missed {g['predicate']}={g['object']}" for g in case["facts"] if g not in found
        ]
    else:
        tally.changes += 1
        new = [g for g in case["facts"] if g["current"]]
        old = [g for g in case["facts"] if not g["current"]]
        new_ok = [g for g in new if any(matches(g, f) for f in current)]
        old_live = [g for g in old if any(matches(g, f) for f in current)]
        applied = len(new_ok) == len(new) and not old_live
        tally.changes_applied += applied
        problems += [
            f"new {g['predicate']}={g['object']} not current" for g in new if g not in new_ok
        ]
        problems += [f"old {g['predicate']}={g['object']} still current" for g in old_live]
        for g in old:  # an old value once current and no longer: closed, not deleted
            was_current = any(matches(g, f) and is_current(f) for snap in snapshots for f in snap)
            if was_current and g not in old_live:
                tally.history_due += 1
                kept = any(matches(g, f) and not is_current(f) for f in final)
                tally.history_kept += kept
                problems += [] if kept else [f"history lost {g['predicate']}={g['object']}"]
        first = case["facts"][0]
        olds = [
            g["object"]
            for g in old
            if g["predicate"] == first["predicate"] and g["subject"] == first["subject"]
        ]
        if first["current"] and olds:
            ranked = a.recall(case["id"], case["question"], k=10)
            verdict = None
            for r in ranked:
                if mentions(r.text, first["object"]):
                    verdict = True
                    break
                if any(mentions(r.text, o) for o in olds):
                    verdict = False
                    break
            tally.newest_first += bool(verdict)
            problems += (
                [] if verdict else [f"question ranks {'old' if verdict is False else 'none'} first"]
            )
        else:
            tally.newest_first += 1  # no old value of the asked relation to outrank
    if problems:
        produced = "; ".join(
            f"{f['subject']} {f['predicate']}={f['object']}{'' if is_current(f) else ' (closed)'}"
            for f in final
        )
        texts = " | ".join(m["text"] for m in case["messages"])
        tally.misses.append(f"{case['id']}: {', '.join(problems)}\n    {texts}\n    -> {produced}")


def run_half(a: Assistant, path: Path) -> Tally:
    tally = Tally()
    for line in path.read_text().splitlines():
        score_case(a, json.loads(line), tally)
    return tally


def share(part: int, whole: int) -> str:
    return f"{part / whole:.3f} ({part}/{whole})" if whole else "n/a"


def print_half(name: str, t: Tally, show_misses: int) -> None:
    print(f"{name}:")
    print(f"  learned (facts)        {share(t.facts_learned, t.facts)}")
    print(f"  learned (statements)   {share(t.statements_learned, t.statements)}")
    print(f"  changes applied        {share(t.changes_applied, t.changes)}")
    print(f"  newest first           {share(t.newest_first, t.changes)}")
    print(f"  history kept           {share(t.history_kept, t.history_due)}")
    print(f"  observe, one message   {t.messages / t.observe_s:.0f} messages/s")
    for miss in t.misses[:show_misses]:
        print("   ", miss)


def locomo_turns(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def run_precision(a: Assistant, turns: list[dict[str, Any]], show_misses: int) -> None:
    by_id = {(t["sample_id"], t["dia_id"]): t for t in turns}
    started = time.perf_counter()
    for sample in dict.fromkeys(t["sample_id"] for t in turns):
        items = [
            {
                "role": "user",
                "content": t["text"],
                "id": t["dia_id"],
                "name": t["speaker"],
                "created_at": NOW + timedelta(minutes=i),
            }
            for i, t in enumerate(x for x in turns if x["sample_id"] == sample)
        ]
        for start in range(0, len(items), 100):
            a.observe(sample, items[start : start + 100])
    ingest_s = time.perf_counter() - started
    produced = correct = 0
    wrong: list[str] = []
    found_gold: set[tuple[str, str, int]] = set()
    for sample in dict.fromkeys(t["sample_id"] for t in turns):
        for fact in a.export(sample)["facts"]:
            if not PREDICATES[fact["predicate"]].in_profile:
                continue
            sources = [by_id[(sample, s)] for s in fact["source_ids"] if (sample, s) in by_id]
            if not sources:
                continue
            produced += 1
            labelled = [
                (turn, i, gold)
                for turn in sources
                for i, gold in enumerate(turn["facts"] + turn["acceptable"])
                if matches(gold, fact)
            ]
            correct += bool(labelled)
            found_gold |= {
                (sample, turn["dia_id"], i) for turn, i, _ in labelled if i < len(turn["facts"])
            }
            if not labelled:
                wrong.append(
                    f"{fact['statement']!r}  <- {sources[0]['dia_id']}: {sources[0]['text'][:140]}"
                )
    gold = sum(len(t["facts"]) for t in turns)
    print(f"LoCoMo labelled turns ({len(turns)} turns, {gold} labelled facts):")
    print(f"  precision              {share(correct, produced)}")
    print(f"  labelled facts found   {share(len(found_gold), gold)}")
    print(f"  ingest                 {len(turns) / ingest_s:.0f} turns/s (batches of 100)")
    for line in wrong[:show_misses]:
        print("    wrong:", line)


LOCOMO = DEFAULT_DATA
FACT_LABELS = DATA / "locomo_fact_labels.jsonl"


def fact_key(sample: str, turn: str, fact: dict[str, Any]) -> str:
    """How a produced fact is found among the hand labels: its turn and its words."""
    subject = " ".join(fact["subject"].casefold().split())
    obj = " ".join(fact["object"].casefold().split())
    return f"{sample}|{turn}|{subject}|{fact['predicate']}|{obj}|{fact.get('role') or ''}"


def dev_turns(conversation: dict[str, Any]) -> list[dict[str, Any]]:
    """Every turn of a LoCoMo conversation as an observed message, sessions in order."""
    return [
        {
            "role": "user",
            "content": turn_text(turn),
            "id": turn["dia_id"],
            "name": turn["speaker"],
            "created_at": when.replace(tzinfo=UTC) + timedelta(seconds=i),
        }
        for when, turns in sessions(conversation)
        for i, turn in enumerate(turns)
    ]


def run_dev_precision(a: Assistant, dump: Path | None, show_misses: int) -> None:
    """Precision of every profile fact produced on the LoCoMo dev conversations.

    Each produced fact is looked up in ``locomo_fact_labels.jsonl`` (labelled by hand:
    correct and well-formed, or not); facts with no label yet are counted apart and, with
    ``--dump-unlabelled``, written out for labelling.
    """
    labels = {}
    if FACT_LABELS.exists():
        for line in FACT_LABELS.read_text().splitlines():
            row = json.loads(line)
            labels[row["key"]] = row["correct"]
    samples = json.loads(LOCOMO.read_text())
    produced: list[tuple[str, dict[str, Any], dict[str, Any]]] = []
    turns = 0
    started = time.perf_counter()
    for sample in samples:
        user = "dev-" + sample["sample_id"]
        messages = dev_turns(sample["conversation"])
        turns += len(messages)
        for start in range(0, len(messages), 100):
            a.observe(user, messages[start : start + 100])
        by_id = {m["id"]: m for m in messages}
        for fact in a.export(user)["facts"]:
            if PREDICATES[fact["predicate"]].in_profile:
                produced.append((sample["sample_id"], fact, by_id[fact["source_ids"][0]]))
    ingest_s = time.perf_counter() - started
    keys = [fact_key(sample, turn["id"], fact) for sample, fact, turn in produced]
    judged = [labels[k] for k in keys if k in labels]
    unlabelled = [(k, p) for k, p in zip(keys, produced, strict=True) if k not in labels]
    print(f"LoCoMo dev, every profile fact produced ({turns} turns, {len(produced)} facts):")
    print(f"  precision              {share(sum(judged), len(judged))} labelled by hand")
    print(f"  not labelled yet       {len(unlabelled)}")
    print(f"  ingest                 {turns / ingest_s:.0f} turns/s (batches of 100)")
    wrong = [p for k, p in zip(keys, produced, strict=True) if labels.get(k) is False]
    for _, fact, turn in wrong[:show_misses]:
        print(f"    wrong: {fact['statement']!r}  <- {turn['id']}: {turn['content'][:140]}")
    if dump is not None:
        with dump.open("w") as out:
            for key, (_, fact, turn) in unlabelled:
                row = {"key": key, "statement": fact["statement"], "speaker": turn["name"]}
                out.write(json.dumps({**row, "turn": turn["content"]}, ensure_ascii=False) + "\n")
        print(f"  {len(unlabelled)} unlabelled facts written to {dump}")


def open_assistant(root: Path, args: argparse.Namespace) -> Assistant:
    if args.hash_embedder:
        embeddings: Any = HashEmbedder()
    else:
        from confidante.memory.embeddings import SentenceTransformerEmbeddings

        embeddings = SentenceTransformerEmbeddings()
        embeddings.embed_query("warm up")
    settings = Settings(data_dir=root)
    extraction_llm = None
    if args.llm_url:
        from confidante.llm.openai_server import OpenAIServerLLM

        settings = settings.model_copy(update={"fact_extractor": "llm"})
        extraction_llm = OpenAIServerLLM(base_url=args.llm_url, model=args.llm_model)
    return Assistant.open(
        settings=settings, llm=ScriptedLLM(), embeddings=embeddings, extraction_llm=extraction_llm
    )


def main(argv: Iterable[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Profile quality on the corpus and LoCoMo.")
    parser.add_argument("--half", nargs="+", default=["tuning", "held_out"])
    parser.add_argument("--no-locomo", action="store_true", help="skip the LoCoMo precision")
    parser.add_argument(
        "--dump-unlabelled",
        type=Path,
        metavar="FILE",
        help="write the LoCoMo dev facts that have no hand label yet to FILE (JSON lines)",
    )
    parser.add_argument("--hash-embedder", action="store_true")
    parser.add_argument("--show-misses", type=int, default=0, metavar="N")
    parser.add_argument("--llm-url", help="OpenAI-compatible server for the LLM extractor")
    parser.add_argument(
        "--llm-model", default=None, help="served model name (default: the only one)"
    )
    args = parser.parse_args(list(argv) if argv is not None else None)
    with tempfile.TemporaryDirectory() as tmp, open_assistant(Path(tmp), args) as a:
        for half in args.half:
            started = time.perf_counter()
            tally = run_half(a, DATA / f"{half}.jsonl")
            print_half(f"{half} ({time.perf_counter() - started:.0f} s)", tally, args.show_misses)
        if not args.no_locomo:
            run_dev_precision(a, args.dump_unlabelled, args.show_misses)
            run_precision(a, locomo_turns(DATA / "locomo_labels.jsonl"), args.show_misses)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
