"""From ratings to a better model: rated interactions -> distilled batch -> LoRA -> held-out loss.

A deterministic generator plays a few dozen people: each tells the assistant some facts about
themselves (observe), then asks questions (chat). The scripted "model" answers plainly ("I'm
not sure where you live.") or already well; the person rates each reply, and corrects most
of the plain ones with the reply they wanted ("You live in Porto, Maria."), which uses facts
from the context the assistant assembled. Real SQLite, Chroma, rule extraction and prompt
assembly; a hashing embedder; no network, no model hub.

Then `confidante distill` makes one batch (20% of interactions held out as validation, by a
hash of their ids), `train_adapter` trains a LoRA adapter on the SFT train split with the
prepared SmolLM2-135M on this CPU, and the held-out figures are printed before vs after: the
loss on preferred replies, and preference accuracy (share of held-out pairs where the chosen
reply has lower per-token loss than the rejected one). Also: rows, training seconds, peak RSS.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/distill.py [--users 36] [--repeats 1]
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import stdlib_first  # noqa: F401  (before anything that imports transformers)
import torch

from confidante import Assistant, Feedback, Settings
from confidante.records import ChatMessages
from confidante.testing import HashEmbedder, ScriptedLLM
from confidante.training.distill import Distiller
from confidante.training.train import TrainedAdapter, TrainOptions, train_adapter

NAMES = [
    "Maria", "Joao", "Aiko", "Lena", "Omar", "Priya", "Tom", "Sofia", "Ken", "Ana",
    "Ravi", "Elif", "Nora", "Ivan", "Chen", "Lucia", "Pedro", "Mina", "Sam", "Greta",
]  # fmt: skip
CITIES = ["Porto", "Lisbon", "Berlin", "Osaka", "Lyon", "Toronto", "Austin", "Leeds", "Turin"]
JOBS = ["nurse", "teacher", "baker", "architect", "pilot", "chemist", "librarian", "plumber"]
PETS = [("dog", "Rex"), ("cat", "Miso"), ("parrot", "Kiwi"), ("dog", "Bolt"), ("cat", "Luna")]
ALLERGIES = [("peanuts", "an apple"), ("shellfish", "some hummus"), ("gluten", "rice cakes")]
HOBBIES = ["hiking", "chess", "painting", "cycling", "surfing", "gardening", "climbing"]


@dataclass(frozen=True)
class Person:
    user_id: str
    name: str
    city: str
    job: str
    pet: tuple[str, str]
    allergy: tuple[str, str]
    hobby: str

    def statements(self) -> list[str]:
        kind, pet = self.pet
        return [
            f"My name is {self.name}.",
            f"I live in {self.city}.",
            f"I work as a {self.job}.",
            f"I have a {kind} called {pet}.",
            f"I'm allergic to {self.allergy[0]}.",
            f"I love {self.hobby}.",
        ]

    def questions(self) -> list[tuple[str, str, str]]:
        """(question, plain reply, preferred reply)."""
        kind, pet = self.pet
        allergen, snack = self.allergy
        n = self.name
        return [
            ("Where do I live?", "I'm not sure where you live.", f"You live in {self.city}, {n}."),
            ("What is my job?", "I don't know your job.", f"You work as a {self.job}, {n}."),
            ("What is my pet called?", "Pets are great!", f"Your {kind} is called {pet}, {n}."),
            (
                "Suggest a snack for me.",
                "Try a handful of peanuts or a shrimp cocktail.",
                f"Since you're allergic to {allergen}, try {snack}, {n}.",
            ),
            (
                "What should I do this weekend?",
                "You could watch a movie.",
                f"You love {self.hobby}, so go {self.hobby} near {self.city}, {n}.",
            ),
            ("What am I allergic to?", "Many people have allergies.", f"{allergen}, {n}."),
            ("What's my name?", "I'm an assistant.", f"Your name is {n}."),
            (
                "Tell me about myself.",
                "You are a person.",
                f"You're {n}, a {self.job} in {self.city} who loves {self.hobby}.",
            ),
        ]


def people(count: int, seed: int = 7) -> list[Person]:
    rng = random.Random(seed)
    return [
        Person(
            user_id=f"user{i:03d}",
            name=rng.choice(NAMES),
            city=rng.choice(CITIES),
            job=rng.choice(JOBS),
            pet=rng.choice(PETS),
            allergy=rng.choice(ALLERGIES),
            hobby=rng.choice(HOBBIES),
        )
        for i in range(count)
    ]


def build_ratings(settings: Settings, crowd: list[Person], seed: int = 11) -> int:
    """Every person tells their facts, asks their questions and rates the replies."""
    rng = random.Random(seed)
    planned: dict[str, str] = {}  # the next scripted reply, set before each chat

    def reply(messages: ChatMessages) -> str:
        return planned["reply"]

    rated = 0
    llm = ScriptedLLM(reply)
    with Assistant.open(settings=settings, llm=llm, embeddings=HashEmbedder()) as assistant:
        for person in crowd:
            told = [{"role": "user", "content": s} for s in person.statements()]
            assistant.observe(person.user_id, told)
            for question, plain, preferred in person.questions():
                draw = rng.random()
                planned["reply"] = preferred if draw < 0.35 else plain
                turn = assistant.chat(person.user_id, [{"role": "user", "content": question}])
                if draw < 0.35:
                    assistant.rate(
                        Feedback(interaction_id=turn.interaction_id, score=5, thumbs=True)
                    )
                elif draw < 0.85:
                    assistant.rate(
                        Feedback(
                            interaction_id=turn.interaction_id,
                            score=2,
                            thumbs=False,
                            correction=preferred,
                        )
                    )
                else:
                    assistant.rate(Feedback(interaction_id=turn.interaction_id, score=1))
                rated += 1
    return rated


def figure(values: list[float | None]) -> str:
    known = [v for v in values if v is not None]
    return f"{statistics.median(known):.3f}" if known else "-"


def report(runs: list[TrainedAdapter], seconds_distill: float, rated: int) -> None:
    first = runs[0].manifest
    rows = first["rows"]
    print(f"\nrated interactions: {rated}; distilled in {seconds_distill:.1f} s")
    print(
        f"rows: SFT train {rows['sft']['train']}, held out {rows['sft']['validation']}; "
        f"DPO pairs held out {rows['dpo']['validation']}"
    )
    print(
        f"epochs {first['options']['epochs']}, steps {first['steps']}, "
        f"LoRA rank {first['lora']['rank']} alpha {first['lora']['alpha']}, "
        f"runs: {len(runs)} (medians)\n"
    )
    m = [r.manifest for r in runs]
    table = [
        ("held-out loss on preferred replies", "loss", "validation"),
        ("train loss (sample of train rows)", "loss", "train"),
    ]
    print(f"{'':40} {'before':>8} {'after':>8}")
    for label, key, split in table:
        before = figure([x[key][split]["before"] for x in m])
        after = figure([x[key][split]["after"] for x in m])
        print(f"{label:40} {before:>8} {after:>8}")
    pref = [x["preference_accuracy"] for x in m]
    before_pref = figure([p["before"] for p in pref])
    after_pref = figure([p["after"] for p in pref])
    print(f"{'held-out preference accuracy':40} {before_pref:>8} {after_pref:>8}")
    print(f"\ntraining seconds: {figure([x['seconds']['training'] for x in m])}")
    total = figure([x["seconds"]["total"] for x in m])
    print(f"total seconds (load, measure before/after, train, save): {total}")
    print(f"peak RSS MB: {figure([x['peak_rss_mb'] for x in m])}")
    if first.get("dpo"):
        dpo = [x["dpo"] for x in m]
        print(
            f"DPO after SFT: {first['dpo']['pairs']} pairs, {first['dpo']['steps']} steps, "
            f"beta {first['dpo']['beta']}, mean loss {figure([d['loss'] for d in dpo])} "
            "(ln 2 = 0.693 where it starts)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--users", type=int, default=36)
    parser.add_argument("--epochs", type=float, default=None)
    parser.add_argument("--max-steps", type=int, default=None)
    parser.add_argument("--dpo-epochs", type=float, default=None, help="DPO after SFT (0: none)")
    parser.add_argument("--repeats", type=int, default=1, help="training runs on the batch")
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch threads; on a CPU shared with other work, 2 threads are often much slower "
        "than 1 (OpenMP threads wait on each other)",
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory(prefix="confidante-bench-") as tmp:
        settings = Settings(
            data_dir=Path(tmp) / "data",
            distill_min_examples=1,
            distill_validation_fraction=0.2,
        )
        rated = build_ratings(settings, people(args.users))
        started = time.perf_counter()
        distiller = Distiller.open(settings)
        try:
            outcome = distiller.run()
        finally:
            distiller.close()
        seconds_distill = time.perf_counter() - started
        assert outcome.batch is not None, outcome.message
        options = TrainOptions.from_settings(
            settings, epochs=args.epochs, max_steps=args.max_steps, dpo_epochs=args.dpo_epochs
        )
        runs = []
        for i in range(args.repeats):
            run = train_adapter(
                settings,
                outcome.batch.batch_id,
                options=options,
                progress=lambda step: print(f"  {step}", flush=True),
            )
            print(f"run {i + 1}: {run.path.name}")
            runs.append(run)
        report(runs, seconds_distill, rated)


if __name__ == "__main__":
    main()
