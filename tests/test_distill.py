"""Distillation: rated interactions become versioned SFT/DPO/KTO batches, safely and privately."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from datasets import load_dataset
from typer.testing import CliRunner

from confidante import Assistant, AsyncAssistant, Feedback, Settings
from confidante.cli.app import app as cli_app
from confidante.records import ChatMessages
from confidante.testing import HashEmbedder, ScriptedLLM
from confidante.training import batch as batch_module
from confidante.training.batch import MANIFEST, Batch, read_batch, read_jsonl
from confidante.training.distill import Distiller
from confidante.training.scheduler import DistillScheduler
from confidante.training.scrub import luhn_valid, scrub


def say(text: str) -> ChatMessages:
    return [{"role": "user", "content": text}]


def answer(messages: ChatMessages) -> str:
    """A reply that names the question, so every reply differs."""
    return f"About {messages[-1]['content'].split()[-1]}"


@pytest.fixture
def distilling(settings: Settings) -> Settings:
    return settings.model_copy(
        update={"distill_min_examples": 1, "distill_validation_fraction": 0.0}
    )


@pytest.fixture
def a(distilling: Settings) -> Iterator[Assistant]:
    llm = ScriptedLLM(answer)
    with Assistant.open(settings=distilling, llm=llm, embeddings=HashEmbedder()) as assistant:
        yield assistant


def distiller(a: Assistant) -> Distiller:
    assert a.inner.distiller is not None
    return a.inner.distiller


def rows(b: Batch, kind: str) -> list[dict]:
    return [
        r for split in ("train", "validation") for r in read_jsonl(b.path / f"{kind}.{split}.jsonl")
    ]


def test_batch_files_load_with_datasets_and_match_schemas(a: Assistant):
    liked = a.chat("maria", say("Recommend a book"))
    a.rate(Feedback(interaction_id=liked.interaction_id, score=5))
    thumbs = a.chat("maria", say("Recommend a film"))
    a.rate(
        Feedback(interaction_id=thumbs.interaction_id, thumbs=False, correction="Try Tabu (2012).")
    )
    prompt = a.export("maria")["interactions"][0]["prompt"]

    outcome = distiller(a).run()
    assert outcome.batch is not None
    b = read_batch(outcome.batch.path)  # hashes verified
    assert b.path.parent == a.inner.settings.resolved_data_dir() / "batches"
    assert b.manifest["users"] == ["maria"]
    assert sorted(b.manifest["interactions"]["maria"]) == sorted(
        [liked.interaction_id, thumbs.interaction_id]
    )
    assert b.manifest["counts"] == {
        "sft": {"train": 2, "validation": 0},
        "dpo": {"train": 1, "validation": 0},
        "kto": {"train": 1, "validation": 0},
    }
    sft = load_dataset("json", data_files=str(b.path / "sft.train.jsonl"), split="train")
    assert sft.column_names == ["messages"]
    assert sft[0]["messages"] == prompt + [{"role": "assistant", "content": "About book"}]
    assert sft[1]["messages"][-1] == {"role": "assistant", "content": "Try Tabu (2012)."}
    dpo = load_dataset("json", data_files=str(b.path / "dpo.train.jsonl"), split="train")
    assert sorted(dpo.column_names) == ["chosen", "prompt", "rejected"]
    assert dpo[0]["chosen"] == [{"role": "assistant", "content": "Try Tabu (2012)."}]
    assert dpo[0]["rejected"] == [{"role": "assistant", "content": "About film"}]
    kto = load_dataset("json", data_files=str(b.path / "kto.train.jsonl"), split="train")
    assert sorted(kto.column_names) == ["completion", "label", "prompt"]
    assert kto[0]["label"] is False and kto[0]["prompt"][0]["role"] == "system"


def test_dpo_pairs_replies_to_one_prompt_rated_differently(distilling: Settings):
    llm = ScriptedLLM(["Hello!", "Go away.", "Hello!"])
    with Assistant.open(settings=distilling, llm=llm, embeddings=HashEmbedder()) as a:
        # Each person's first question: the same system prompt and turn, so the same prompt.
        good, bad, same = (a.chat(user, say("Say hello")) for user in ("ann", "bob", "cy"))
        a.rate(Feedback(interaction_id=good.interaction_id, score=5))
        a.rate(Feedback(interaction_id=bad.interaction_id, score=1))
        a.rate(Feedback(interaction_id=same.interaction_id, score=2))
        b = distiller(a).run().batch
        assert b is not None
        pairs = rows(b, "dpo")
        # good > bad and same > bad give one row (kept once); good = same give none.
        [pair] = pairs
        assert pair["chosen"][0]["content"] == "Hello!"
        assert pair["rejected"][0]["content"] == "Go away."
        [sources] = b.manifest["provenance"]["dpo.train.jsonl"].values()
        assert len(sources) == 3
        assert len(rows(b, "sft")) == 1  # only the liked reply


def test_validation_split_is_deterministic(distilling: Settings):
    settings = distilling.model_copy(update={"distill_validation_fraction": 0.5})
    with Assistant.open(settings=settings, llm=ScriptedLLM(answer), embeddings=HashEmbedder()) as a:
        for i in range(12):
            a.rate(
                Feedback(
                    interaction_id=a.chat("u", say(f"question {i}")).interaction_id, thumbs=True
                )
            )
        b = distiller(a).run().batch
        assert b is not None
        counts = b.manifest["counts"]["kto"]
        assert counts["train"] and counts["validation"]
        assert counts["train"] + counts["validation"] == 12


def test_personal_identifiers_are_scrubbed():
    text = (
        "Write to ana.silva@example.org or call +351 912 345 678; card 4242 4242 4242 4242, "
        "flat at 12 Rua Augusta Street. Born 1990-05-01, order 12345."
    )
    assert scrub(text) == (
        "Write to [EMAIL] or call [PHONE]; card [CARD], flat at [ADDRESS]. "
        "Born 1990-05-01, order 12345."
    )
    assert luhn_valid("4242424242424242") and not luhn_valid("4242424242424241")
    assert scrub("not a card 4242 4242 4242 4241") == "not a card 4242 4242 4242 4241"


def test_batches_hold_no_personal_identifiers(a: Assistant):
    reply = a.chat("eve", say("My email is eve@example.com and I live at 9 Elm Street, ok"))
    a.rate(
        Feedback(
            interaction_id=reply.interaction_id,
            score=5,
            correction="Noted, I will call 415-555-0134.",
        )
    )
    b = distiller(a).run().batch
    assert b is not None
    text = "".join((b.path / name).read_text() for name in b.manifest["files"])
    assert "eve@example.com" not in text and "Elm Street" not in text and "555" not in text
    assert "[EMAIL]" in text and "[ADDRESS]" in text and "[PHONE]" in text


def test_users_who_opted_out_are_left_out(a: Assistant):
    a.set_training_opt_out("private", True)
    a.rate(
        Feedback(interaction_id=a.chat("private", say("A secret question")).interaction_id, score=5)
    )
    a.rate(
        Feedback(interaction_id=a.chat("open", say("A public question")).interaction_id, score=5)
    )
    b = distiller(a).run().batch
    assert b is not None and b.manifest["users"] == ["open"]
    assert "secret" not in (b.path / "sft.train.jsonl").read_text()


def test_forget_removes_the_users_rows_from_every_batch(a: Assistant):
    a.rate(Feedback(interaction_id=a.chat("gone", say("Forget zebra")).interaction_id, score=5))
    a.rate(Feedback(interaction_id=a.chat("kept", say("Keep lion")).interaction_id, score=5))
    first = distiller(a).run().batch
    a.rate(Feedback(interaction_id=a.chat("gone", say("And giraffe")).interaction_id, thumbs=True))
    second = distiller(a).run().batch
    assert first and second and first.batch_id != second.batch_id

    a.forget("gone")
    for path in (first.path, second.path):
        b = read_batch(path)  # hashes match the rewritten files
        assert "gone" not in b.manifest["users"] and "gone" not in b.manifest["interactions"]
        for name in b.manifest["files"]:
            text = (path / name).read_text()
            assert "zebra" not in text and "giraffe" not in text
    assert read_batch(first.path).manifest["counts"]["sft"]["train"] == 1
    assert sum(read_batch(second.path).counts.values()) == 0


def test_a_run_with_nothing_new_or_too_little_writes_nothing(a: Assistant, distilling: Settings):
    assert distiller(a).run().message == "Nothing rated since the last batch."
    a.rate(Feedback(interaction_id=a.chat("u", say("One")).interaction_id, score=5))
    assert distiller(a).run().batch is not None
    again = distiller(a).run()
    assert again.batch is None and "Nothing rated" in again.message
    a.rate(
        Feedback(interaction_id=a.chat("u", say("Two")).interaction_id, score=1)
    )  # a low score: no example
    assert "Only 0 training examples" in distiller(a).run().message
    assert len(distiller(a).batches()) == 1


def test_a_crash_mid_write_leaves_no_batch_and_the_cursor_unchanged(
    a: Assistant, monkeypatch: pytest.MonkeyPatch
):
    a.rate(Feedback(interaction_id=a.chat("u", say("Crash")).interaction_id, thumbs=True))
    d = distiller(a)
    written: list[Path] = []

    def crash(path: Path, rows) -> None:
        written.append(path)
        if len(written) == 3:
            raise OSError("disk full")
        real_write(path, rows)

    real_write = batch_module.write_jsonl
    monkeypatch.setattr(batch_module, "write_jsonl", crash)
    with pytest.raises(OSError, match="disk full"):
        d.run()
    monkeypatch.undo()
    assert d.batches() == [] and d.cursor() == 0
    assert [p.name for p in d.root.iterdir() if not p.name.startswith(".")] == []
    # A hard crash leaves a .partial dir behind; the next run removes it and succeeds.
    (d.root / "20240101T000000000000Z-dead00.partial").mkdir()
    b = d.run().batch
    assert b is not None and d.cursor() > 0
    assert [p.name for p in d.root.iterdir() if not p.name.startswith(".")] == [b.batch_id]


def test_a_batch_renamed_before_the_cursor_moved_is_not_written_twice(a: Assistant):
    a.rate(Feedback(interaction_id=a.chat("u", say("Once")).interaction_id, score=5))
    d = distiller(a)
    b = d.run().batch
    assert b is not None
    with d._db.transaction() as conn:  # as if the process died right after the rename
        conn.execute("DELETE FROM distilled_batches")
    assert d.run().batch is None and len(d.batches()) == 1


def test_concurrent_runs_write_one_batch(a: Assistant):
    a.rate(Feedback(interaction_id=a.chat("u", say("Concurrent")).interaction_id, score=5))
    d = distiller(a)
    outcomes = []
    threads = [threading.Thread(target=lambda: outcomes.append(d.run())) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(o.batch is not None for o in outcomes) == 1
    assert len(d.batches()) == 1


async def test_the_scheduler_runs_on_an_interval_and_stops(distilling: Settings):
    async with AsyncAssistant.open(
        settings=distilling, llm=ScriptedLLM(answer), embeddings=HashEmbedder()
    ) as a:
        assert a.distiller is not None
        scheduler = DistillScheduler(a.distiller, 0.05)
        scheduler.start()
        reply = await a.chat("u", say("Scheduled"))
        await a.rate(Feedback(interaction_id=reply.interaction_id, score=5))
        for _ in range(100):
            if a.distiller.batches():
                break
            await asyncio.sleep(0.02)
        assert len(a.distiller.batches()) == 1
        runs = scheduler.runs
        await asyncio.sleep(0.12)
        assert scheduler.runs > runs and len(a.distiller.batches()) == 1
        await scheduler.stop()
        assert not scheduler.running


def test_cli_distill_prints_the_batch(distilling: Settings, monkeypatch: pytest.MonkeyPatch):
    with Assistant.open(
        settings=distilling, llm=ScriptedLLM(answer), embeddings=HashEmbedder()
    ) as a:
        a.rate(Feedback(interaction_id=a.chat("u", say("From the shell")).interaction_id, score=5))
    monkeypatch.setenv("CONFIDANTE_DISTILL_MIN_EXAMPLES", "1")
    runner = CliRunner()
    args = ["distill", "--data-dir", str(distilling.data_dir)]
    result = runner.invoke(cli_app, args, env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "sft.train.jsonl" in result.output and "Written to" in result.output
    [path] = [p for p in (distilling.data_dir / "batches").iterdir() if p.is_dir()]
    assert json.loads((path / MANIFEST).read_text())["users"] == ["u"]
    again = runner.invoke(cli_app, args)
    assert "Nothing rated since the last batch." in again.output
