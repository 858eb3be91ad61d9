"""Training LoRA adapters on distilled batches, and generating with them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from confidante import (
    Assistant,
    BatchNotFoundError,
    CorruptBatchError,
    Feedback,
    ModelNotFoundError,
    Settings,
    TooFewExamplesError,
    UnknownInteractionError,
)
from confidante.cli.app import app as cli_app
from confidante.llm.adapters import adapters_root, resolve_adapter
from confidante.llm.transformers_engine import TransformersLLM
from confidante.records import ChatMessages
from confidante.testing import HashEmbedder, ScriptedLLM
from confidante.training.batch import MANIFEST
from confidante.training.train import TrainOptions, load_rows, open_batch, train_adapter

FACTS = {"ana": "Porto", "ben": "Oslo"}


def answer(messages: ChatMessages) -> str:
    return f"I recall: {messages[-1]['content'].split()[-1]}"


def rated_batch(settings: Settings, questions: int = 3) -> str:
    """Two users each tell where they live, ask questions and correct every reply."""
    with Assistant.open(settings=settings, llm=ScriptedLLM(answer), embeddings=HashEmbedder()) as a:
        for user, city in FACTS.items():
            a.observe(user, [{"role": "user", "content": f"I live in {city}."}])
            for i in range(questions):
                reply = a.chat(user, [{"role": "user", "content": f"Question {i} about home?"}])
                a.rate(
                    Feedback(
                        interaction_id=reply.interaction_id,
                        score=2,
                        correction=f"You live in {city}.",
                    )
                )
        outcome = a.inner.distiller.run() if a.inner.distiller else None
    assert outcome is not None and outcome.batch is not None, outcome
    return outcome.batch.batch_id


@pytest.fixture
def training(settings: Settings) -> Settings:
    return settings.model_copy(
        update={"distill_min_examples": 1, "distill_validation_fraction": 0.0}
    )


def options(**changes: object) -> TrainOptions:
    base = {
        "epochs": 1.0,
        "learning_rate": 2e-3,
        "batch_size": 2,
        "lora_rank": 2,
        "lora_alpha": 4,
        "min_examples": 1,
        "max_steps": 3,
    }
    return TrainOptions(**(base | changes))  # type: ignore[arg-type]


def nothing_written(settings: Settings) -> bool:
    root = adapters_root(settings)
    return not root.exists() or not any(root.iterdir())


def test_too_few_rows_is_an_error_that_says_how_to_fix_it(training: Settings):
    batch_id = rated_batch(training, questions=1)
    with pytest.raises(TooFewExamplesError, match="CONFIDANTE_TRAIN_MIN_EXAMPLES") as caught:
        train_adapter(training, batch_id, options=options(min_examples=3))
    assert "2 SFT training rows" in str(caught.value)
    with pytest.raises(TooFewExamplesError, match="ana, ben"):
        train_adapter(training, batch_id, user_id="zoe", options=options())
    assert nothing_written(training)


def test_rows_of_one_user_are_chosen_by_provenance(training: Settings):
    batch = open_batch(training, rated_batch(training))
    everyone, ana = load_rows(batch), load_rows(batch, "ana")
    assert len(everyone.sft_train) == 6 and len(ana.sft_train) == 3
    assert {r["completion"][0]["content"] for r in ana.sft_train} == {"You live in Porto."}
    assert all(r["prompt"][-1]["role"] == "user" for r in ana.sft_train)
    assert len(ana.dpo_train) == 3  # each correction against the reply it replaced


def test_a_missing_or_corrupt_batch_is_reported(training: Settings):
    with pytest.raises(BatchNotFoundError, match="confidante distill"):
        train_adapter(training, "20990101-nope", options=options())
    batch_id = rated_batch(training)
    with pytest.raises(BatchNotFoundError):
        train_adapter(training, "../" + batch_id, options=options())
    path = training.resolved_data_dir() / "batches" / batch_id
    sft = path / "sft.train.jsonl"
    sft.write_text(sft.read_text().replace("Porto", "Paris"))
    with pytest.raises(CorruptBatchError, match="distill again"):
        train_adapter(training, batch_id, options=options())
    (path / MANIFEST).write_text("{not json")
    with pytest.raises(CorruptBatchError, match="distill again"):
        train_adapter(training, batch_id, options=options())
    assert nothing_written(training)


def test_adapter_setting_names_an_adapter_or_fails_clearly(training: Settings, tmp_path: Path):
    assert resolve_adapter(training) is None
    named = adapters_root(training) / "ana-1"
    named.mkdir(parents=True)
    (named / "adapter_config.json").write_text("{}")
    assert resolve_adapter(training.model_copy(update={"adapter": "ana-1"})) == named
    assert resolve_adapter(training.model_copy(update={"adapter": str(named)})) == named
    with pytest.raises(ModelNotFoundError, match="ana-1.*confidante train"):
        resolve_adapter(training.model_copy(update={"adapter": "bob-2"}))
    model_dir = tmp_path / "model"
    model_dir.mkdir()
    (model_dir / "config.json").write_text("{}")
    with pytest.raises(ModelNotFoundError, match="adapter_config.json"):
        TransformersLLM(model_dir, adapter_dir=tmp_path)
    llm = TransformersLLM.from_settings(
        training.model_copy(update={"model_dir": model_dir, "adapter": "ana-1"})
    )
    assert llm.adapter_dir == named and llm.model_name == "model+ana-1"


def test_cli_rate_records_cli_feedback(training: Settings, tmp_path: Path):
    with Assistant.open(settings=training, llm=ScriptedLLM(answer), embeddings=HashEmbedder()) as a:
        reply = a.chat("ana", [{"role": "user", "content": "Where do I live?"}])
    model_dir = tmp_path / "model"  # rating loads no weights; the folder only has to exist
    model_dir.mkdir()
    (model_dir / "config.json").write_text("{}")
    env = {"CONFIDANTE_MODEL_DIR": str(model_dir), "COLUMNS": "200"}
    runner = CliRunner()
    args = ["rate", reply.interaction_id, "--score", "2", "--thumbs", "down"]
    args += ["--comment", "wrong", "--correction", "You live in Porto."]
    result = runner.invoke(cli_app, [*args, "--data-dir", str(training.data_dir)], env=env)
    assert result.exit_code == 0, result.output
    assert reply.interaction_id in result.output
    with Assistant.open(settings=training, llm=ScriptedLLM(), embeddings=HashEmbedder()) as a:
        [rating] = a.export("ana")["ratings"]
    assert rating["source"] == "cli" and rating["score"] == 2 and rating["thumbs"] is False
    assert rating["correction"] == "You live in Porto." and rating["comment"] == "wrong"
    unknown = runner.invoke(
        cli_app, ["rate", "nope", "--score", "5", "--data-dir", str(training.data_dir)], env=env
    )
    assert isinstance(unknown.exception, UnknownInteractionError)


def test_cli_train_reports_a_batch_it_cannot_use(training: Settings, tmp_path: Path):
    batch_id = rated_batch(training, questions=1)
    model_dir = tmp_path / "model"
    model_dir.mkdir()
    (model_dir / "config.json").write_text("{}")
    env = {"CONFIDANTE_MODEL_DIR": str(model_dir), "CONFIDANTE_TRAIN_MIN_EXAMPLES": "50"}
    runner = CliRunner()
    data = ["--data-dir", str(training.data_dir)]
    missing = runner.invoke(cli_app, ["train", "--batch", "nope", *data], env=env)
    assert isinstance(missing.exception, BatchNotFoundError)
    assert batch_id in str(missing.exception)  # it lists the batches there are
    few = runner.invoke(cli_app, ["train", "--batch", batch_id, "--user", "ana", *data], env=env)
    assert isinstance(few.exception, TooFewExamplesError)
    assert nothing_written(training)


@pytest.mark.slow
def test_a_tiny_adapter_trains_and_changes_what_the_model_says(training: Settings):
    from confidante.llm.weights import prepare_model
    from confidante.training.evaluate import mean_loss

    model_dir = prepare_model(Settings().cache_dir)
    settings = training.model_copy(update={"model_dir": model_dir})
    batch_id = rated_batch(settings, questions=2)
    adapter = train_adapter(settings, batch_id, user_id="ana", options=options())

    names = {p.name for p in adapter.path.iterdir()}
    assert {"adapter_config.json", "adapter_model.safetensors", "training.json"} <= names
    assert [p.name for p in adapters_root(settings).iterdir()] == [adapter.adapter_id]
    manifest = json.loads((adapter.path / "training.json").read_text())
    assert manifest["batch_id"] == batch_id and manifest["user_id"] == "ana"
    assert manifest["rows"]["sft"]["train"] == 2 and manifest["steps"] == 3
    assert manifest["lora"] == {"rank": 2, "alpha": 4} and manifest["peak_rss_mb"] > 0
    before, after = adapter.loss("train", "before"), adapter.loss("train", "after")
    assert before is not None and after is not None and after < before

    served = TransformersLLM.from_settings(settings.model_copy(update={"adapter": adapter.path}))
    assert served.model_name == f"{model_dir.name}+{adapter.adapter_id}"
    base = TransformersLLM(model_dir)
    rows = load_rows(open_batch(settings, batch_id), "ana").sft_train
    tokenizer = served._load_tokenizer()
    served_loss = mean_loss(served._load_model(), tokenizer, rows[:32])
    base_loss = mean_loss(base._load_model(), tokenizer, rows[:32])
    # The merged adapter reproduces the loss measured right after training, not the base's.
    assert served_loss == pytest.approx(after, rel=1e-3)
    assert base_loss == pytest.approx(before, rel=1e-3)
    completion = await_generate(served, rows[0]["prompt"])
    assert completion.text.strip() and completion.model == served.model_name


def await_generate(llm: TransformersLLM, prompt: ChatMessages):
    import asyncio

    return asyncio.run(llm.generate(prompt, max_tokens=8, temperature=0.0))


@pytest.mark.slow
def test_preference_training_after_sft_learns_the_chosen_over_the_rejected(training: Settings):
    import math

    from confidante.llm.weights import prepare_model

    settings = training.model_copy(update={"model_dir": prepare_model(Settings().cache_dir)})
    batch_id = rated_batch(settings, questions=2)
    adapter = train_adapter(settings, batch_id, user_id="ana", options=options(dpo_epochs=1.0))

    preference = adapter.manifest["dpo"]
    assert preference["pairs"] == 2 and preference["steps"] == 3 and preference["beta"] == 0.1
    # DPO's loss is ln 2 while the model equals its reference (the SFT adapter): below it, the
    # chosen replies gained on the rejected ones.
    assert preference["loss"] < math.log(2)
    assert adapter.manifest["options"]["dpo_epochs"] == 1.0
    # Only the trained adapter is saved, not DPO's reference copy; it serves as any other.
    assert sorted(p.name for p in adapter.path.iterdir() if p.is_dir()) == []
    served = TransformersLLM.from_settings(settings.model_copy(update={"adapter": adapter.path}))
    prompt = load_rows(open_batch(settings, batch_id), "ana").sft_train[0]["prompt"]
    assert await_generate(served, prompt).text.strip()
