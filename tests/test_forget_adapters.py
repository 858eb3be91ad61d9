"""Forgetting a user deletes the LoRA adapters trained on their rows, and only those."""

from __future__ import annotations

import json
import logging
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from confidante import Assistant, Feedback, Settings
from confidante.errors import TrainingError
from confidante.llm.adapters import UserAdapters, adapters_root, list_adapters
from confidante.records import ChatMessages
from confidante.testing import HashEmbedder, ScriptedLLM
from confidante.training.batch import MANIFEST
from confidante.training.forget import forget_user_adapters
from confidante.training.train import require_users_still_held

ROWS = {"sft": {"train": 3, "validation": 0}, "dpo": {"train": 3, "validation": 0}}


class AdapterScriptedLLM(ScriptedLLM):
    """A scripted backend that loads adapters at run time, as a vLLM server does."""

    def __init__(self) -> None:
        super().__init__(["From the base model."])
        self.loaded: list[str] = []

    async def load_adapter(self, name: str, folder: Path) -> ScriptedLLM:
        self.loaded.append(name)
        return ScriptedLLM([f"From {name}."], name=name)


@pytest.fixture
def training(settings: Settings) -> Settings:
    return settings.model_copy(
        update={"distill_min_examples": 1, "distill_validation_fraction": 0.0}
    )


def adapter(settings: Settings, name: str, manifest: dict[str, Any] | None) -> Path:
    """An adapter folder as ``confidante train`` leaves it (weights are a placeholder)."""
    folder = adapters_root(settings) / name
    folder.mkdir(parents=True)
    (folder / "adapter_config.json").write_text("{}")
    (folder / "adapter_model.safetensors").write_bytes(b"weights")
    if manifest is not None:
        (folder / "training.json").write_text(json.dumps({"adapter_id": name, **manifest}))
    return folder


def trained(
    batch_id: str, users: list[str] | None, user_id: str | None = None, rows: Any = None
) -> dict[str, Any]:
    """A ``training.json`` as train.py writes it; ``users=None``: one from before that field."""
    manifest = {"format_version": 1, "batch_id": batch_id, "user_id": user_id}
    manifest |= {"rows": rows or ROWS, "lora": {"rank": 8, "alpha": 16}}
    return manifest if users is None else manifest | {"users": users}


def batch(settings: Settings, batch_id: str, users: list[str], counts: Any = None) -> None:
    """A batch manifest: all that deciding about an adapter from before ``users`` reads."""
    path = settings.resolved_data_dir() / "batches" / batch_id
    path.mkdir(parents=True)
    manifest = {"batch_id": batch_id, "users": users, "files": {}, "counts": counts or ROWS}
    (path / MANIFEST).write_text(json.dumps(manifest))


def names(settings: Settings) -> set[str]:
    return {p.name for p in adapters_root(settings).iterdir()}


def test_adapters_trained_on_the_user_go_and_the_others_stay(
    settings: Settings, caplog: pytest.LogCaptureFixture
):
    adapter(settings, "ana-20260101T000000Z-aaaaaa", trained("b1", ["ana"], "ana"))
    adapter(settings, "ben-20260101T000000Z-bbbbbb", trained("b1", ["ben"], "ben"))
    adapter(settings, "shared-20260101T000000Z-cccccc", trained("b1", ["ana", "ben"]))
    adapter(settings, "shared-20260102T000000Z-dddddd", trained("b2", ["ben", "cy"]))
    killed = adapters_root(settings) / "shared-20260103T000000Z-eeeeee.partial"
    killed.mkdir()
    (killed / "adapter_model.safetensors").write_bytes(b"half of ana's rows")

    with caplog.at_level(logging.WARNING, logger="confidante.training"):
        forgotten = forget_user_adapters(settings, "ana")

    gone = ["ana-20260101T000000Z-aaaaaa", "shared-20260101T000000Z-cccccc"]
    assert forgotten.adapter_ids == gone
    assert forgotten.partials == [killed.name]
    assert names(settings) == {"ben-20260101T000000Z-bbbbbb", "shared-20260102T000000Z-dddddd"}
    assert all(i in caplog.text for i in gone) and "retrain" in caplog.text
    again = forget_user_adapters(settings, "ana")  # nothing left to do
    assert again.adapter_ids == [] and again.partials == []


def test_adapters_from_before_users_were_recorded_are_judged_by_their_batch(
    settings: Settings,
):
    batch(settings, "b-with-ana", ["ana", "ben"])
    batch(settings, "b-without-ana", ["ben"])
    fewer = {"sft": {"train": 2, "validation": 0}, "dpo": {"train": 2, "validation": 0}}
    batch(settings, "b-rewritten", ["ben"], counts=fewer)  # a forget took rows out since
    adapter(settings, "ana-old", trained("b-with-ana", None, "ana"))
    adapter(settings, "ben-old", trained("b-with-ana", None, "ben"))  # ben's rows alone
    adapter(settings, "shared-with-ana", trained("b-with-ana", None))
    adapter(settings, "shared-without-ana", trained("b-without-ana", None))
    adapter(settings, "shared-rewritten", trained("b-rewritten", None))
    adapter(settings, "shared-batch-gone", trained("b-deleted", None))
    unreadable = adapter(settings, "shared-unreadable", None)
    (unreadable / "training.json").write_text("{not json")
    adapter(settings, "trained-elsewhere", None)  # no training.json: none of our batches

    forgotten = forget_user_adapters(settings, "ana")

    assert set(forgotten.adapter_ids) == {
        "ana-old",
        "shared-with-ana",
        "shared-rewritten",
        "shared-batch-gone",
        "shared-unreadable",
    }
    assert names(settings) == {"ben-old", "shared-without-ana", "trained-elsewhere"}


def test_deleting_an_adapter_changes_the_folder_so_user_adapters_drops_it(settings: Settings):
    ana = adapter(settings, "ana-20260101T000000Z-aaaaaa", trained("b1", ["ana"], "ana"))
    adapter(settings, "ben-20260101T000000Z-bbbbbb", trained("b1", ["ben"], "ben"))
    root = adapters_root(settings)
    index = UserAdapters(settings)
    assert index.for_user("ana") == ana
    os.utime(root, ns=(1, 1))  # a stamp no clock tick can repeat
    assert index.for_user("ana") == ana  # read again under the new stamp

    forget_user_adapters(settings, "ana")

    assert root.stat().st_mtime_ns != 1  # removing a subfolder touches its parent
    assert index.for_user("ana") is None  # no refresh() needed
    assert index.for_user("ben") is not None


def test_forget_deletes_the_adapters_and_the_user_is_answered_by_the_base_model(
    training: Settings,
):
    llm = AdapterScriptedLLM()
    with Assistant.open(settings=training, llm=llm, embeddings=HashEmbedder()) as a:
        for user in ("ana", "ben"):
            reply = a.chat(user, [{"role": "user", "content": f"I am {user}; where do I live?"}])
            a.rate(
                Feedback(
                    interaction_id=reply.interaction_id,
                    score=2,
                    correction=f"{user} lives by the sea.",
                )
            )
        assert a.inner.distiller is not None
        outcome = a.inner.distiller.run()
        assert outcome.batch is not None, outcome.message
        batch_id = outcome.batch.batch_id
        adapter(training, "ana-20260101T000000Z-aaaaaa", trained(batch_id, ["ana"], "ana"))
        adapter(training, "ben-20260101T000000Z-bbbbbb", trained(batch_id, ["ben"], "ben"))
        adapter(training, "shared-20260101T000000Z-cccccc", trained(batch_id, ["ana", "ben"]))
        counts = outcome.batch.manifest["counts"]  # trained on all of it, before users existed
        adapter(training, "shared-20260101T000000Z-dddddd", trained(batch_id, None, rows=counts))

        def ask(user: str) -> str:
            return a.chat(user, [{"role": "user", "content": "Hello?"}]).content

        assert ask("ana") == "From ana-20260101T000000Z-aaaaaa."
        a.forget("ana")
        assert ask("ana") == "From the base model."
        assert ask("ben") == "From ben-20260101T000000Z-bbbbbb."

    assert [p.name for p in list_adapters(training)] == ["ben-20260101T000000Z-bbbbbb"]
    assert names(training) == {"ben-20260101T000000Z-bbbbbb"}  # no .partial left behind
    assert llm.loaded == ["ana-20260101T000000Z-aaaaaa", "ben-20260101T000000Z-bbbbbb"]


@pytest.mark.slow
def test_a_trained_adapter_records_its_users_and_forget_deletes_it(training: Settings):
    from confidante.llm.weights import prepare_model
    from confidante.training.train import TrainOptions, train_adapter

    settings = training.model_copy(update={"model_dir": prepare_model(Settings().cache_dir)})

    def answer(messages: ChatMessages) -> str:
        return f"Noted: {messages[-1]['content']}"

    with Assistant.open(settings=settings, llm=ScriptedLLM(answer), embeddings=HashEmbedder()) as a:
        for user in ("ana", "ben"):
            reply = a.chat(user, [{"role": "user", "content": "Where do I live?"}])
            a.rate(
                Feedback(
                    interaction_id=reply.interaction_id,
                    score=2,
                    correction=f"{user} lives by the sea.",
                )
            )
        outcome = a.inner.distiller.run() if a.inner.distiller else None
        assert outcome is not None and outcome.batch is not None
        options = TrainOptions(
            epochs=1.0,
            learning_rate=2e-3,
            batch_size=2,
            lora_rank=2,
            lora_alpha=4,
            min_examples=1,
            max_steps=1,
        )
        shared = train_adapter(settings, outcome.batch.batch_id, options=options)
        assert shared.manifest["users"] == ["ana", "ben"]
        ben = train_adapter(settings, outcome.batch.batch_id, user_id="ben", options=options)
        assert ben.manifest["users"] == ["ben"]
        a.forget("ana")
    assert [p.name for p in list_adapters(settings)] == [ben.adapter_id]


def test_training_that_outlives_its_users_rows_writes_no_adapter(settings: Settings):
    """``forget`` cannot stop a run in progress: the run checks the batch before it publishes."""
    batch(settings, "b1", ["ana", "ben"])
    require_users_still_held(settings, "b1", ["ana", "ben"])  # nobody forgotten: no error
    manifest = settings.resolved_data_dir() / "batches" / "b1" / MANIFEST
    manifest.write_text(json.dumps(json.loads(manifest.read_text()) | {"users": ["ben"]}))
    with pytest.raises(TrainingError, match="forgotten while it trained"):
        require_users_still_held(settings, "b1", ["ana", "ben"])
    require_users_still_held(settings, "b1", ["ben"])  # Ben's personal adapter may finish
    shutil.rmtree(manifest.parent)
    with pytest.raises(TrainingError):
        require_users_still_held(settings, "b1", ["ben"])
