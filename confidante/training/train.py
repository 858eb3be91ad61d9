"""Fine-tune a LoRA adapter on a distilled batch: TRL's SFT on the prepared small model, on CPU.

``train_adapter(settings, batch_id)`` reads ``<data_dir>/batches/<batch_id>/`` (all of it, or
only the rows that came from one user's interactions, by the manifest's provenance), trains
the SFT train split as conversational prompt-completion rows (the loss falls on the reply only:
the prompt is the context the assistant assembled, not something to imitate), and writes
``<data_dir>/adapters/<adapter_id>/`` through a ``.partial`` folder and a rename: the peft
adapter files plus ``training.json`` (batch, the users whose rows it was trained on, base
model, rows, hyper-parameters, loss on the replies before and after, preference accuracy on the
batch's DPO pairs, time, peak memory).
peft, TRL and datasets are imported only here, inside the functions that need them.
"""

from __future__ import annotations

import json
import re
import resource
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from confidante.config import Settings
from confidante.database import PLAIN_TEXT, Sealer
from confidante.encryption import open_sealer
from confidante.errors import (
    BatchNotFoundError,
    ConfidanteError,
    CorruptBatchError,
    ModelNotFoundError,
    TooFewExamplesError,
    TrainingError,
)
from confidante.llm.adapters import PARTIAL_SUFFIX, TRAINING_MANIFEST, adapters_root
from confidante.llm.weights import FIX, generation_model_dir
from confidante.records import new_id, utc_now
from confidante.training.batch import (
    Batch,
    file_name,
    open_rows,
    read_batch,
    read_jsonl,
    row_key,
)
from confidante.training.evaluate import mean_loss, preference_accuracy

FORMAT_VERSION = 1
# Every linear layer of a Llama block: what vLLM's LoRA support expects to find.
TARGET_MODULES = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
# Loss on the training rows is measured on at most this many of them, to bound the time.
TRAIN_LOSS_SAMPLE = 32

Progress = Callable[[str], None]


@dataclass(frozen=True, kw_only=True)
class TrainOptions:
    """How to train; ``from_settings`` fills what is not given from ``Settings``."""

    epochs: float
    learning_rate: float
    batch_size: int
    lora_rank: int
    lora_alpha: int
    min_examples: int
    dpo_epochs: float = 0.0
    dpo_beta: float = 0.1
    max_steps: int | None = None
    seed: int = 0

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> TrainOptions:
        """The settings' values, with ``overrides`` (``None`` values ignored) on top."""
        values: dict[str, Any] = {
            "epochs": settings.train_epochs,
            "learning_rate": settings.train_learning_rate,
            "batch_size": settings.train_batch_size,
            "lora_rank": settings.lora_rank,
            "lora_alpha": settings.lora_alpha,
            "min_examples": settings.train_min_examples,
            "dpo_epochs": settings.train_dpo_epochs,
            "dpo_beta": settings.train_dpo_beta,
        }
        values |= {k: v for k, v in overrides.items() if v is not None}
        return cls(**values)


@dataclass(frozen=True, kw_only=True)
class TrainingRows:
    """A batch's rows for one training run: SFT as prompt-completion rows, DPO as they are."""

    sft_train: list[dict[str, Any]]
    sft_validation: list[dict[str, Any]]
    dpo_train: list[dict[str, Any]]
    dpo_validation: list[dict[str, Any]]

    def counts(self) -> dict[str, dict[str, int]]:
        """Rows per format and split."""
        return {
            "sft": {"train": len(self.sft_train), "validation": len(self.sft_validation)},
            "dpo": {"train": len(self.dpo_train), "validation": len(self.dpo_validation)},
        }


@dataclass(frozen=True, kw_only=True)
class TrainedAdapter:
    """A finished adapter folder and its ``training.json``."""

    adapter_id: str
    path: Path
    manifest: dict[str, Any]

    def loss(self, split: str, when: str) -> float | None:
        """Loss on the replies of ``split`` ("train"/"validation") "before" or "after"."""
        return self.manifest["loss"][split][when]


def open_batch(settings: Settings, batch_id: str) -> Batch:
    """The batch ``batch_id`` under the data dir, verified against its manifest."""
    root = settings.resolved_data_dir() / "batches"
    path = root / batch_id
    if "/" in batch_id or batch_id.startswith(".") or not path.is_dir():
        known = sorted(p.name for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
        listed = ", ".join(n for n in known if "." not in n) or "none yet"
        raise BatchNotFoundError(
            f"No batch {batch_id!r} in {root} (batches: {listed}); run `confidante distill` "
            "and pass the id it prints."
        )
    return read_batch(path)


def as_prompt_completion(row: dict[str, Any]) -> dict[str, Any]:
    """An SFT ``{"messages"}`` row as ``{"prompt", "completion"}`` (the reply: the last one)."""
    messages = row.get("messages")
    if not isinstance(messages, list) or len(messages) < 2 or messages[-1]["role"] != "assistant":
        raise CorruptBatchError(
            "An SFT row does not end with an assistant message; delete the batch directory and "
            "distill again."
        )
    return {"prompt": messages[:-1], "completion": messages[-1:]}


def load_rows(
    batch: Batch, user_id: str | None = None, *, sealer: Sealer = PLAIN_TEXT
) -> TrainingRows:
    """The batch's SFT and DPO rows; with ``user_id``, only those from that user's interactions.

    ``sealer`` opens the rows of a batch in an encrypted data dir.
    """
    manifest = batch.manifest
    if user_id is not None and user_id not in manifest.get("users", []):
        users = ", ".join(manifest.get("users", [])) or "none"
        raise TooFewExamplesError(
            f"Batch {batch.batch_id} holds no rows of user {user_id!r} (its users: {users}); "
            "name one of them, or leave out --user to train a shared adapter."
        )
    wanted = set(manifest["interactions"][user_id]) if user_id is not None else None

    def rows(kind: str, split: str) -> list[dict[str, Any]]:
        name = file_name(kind, split)
        try:
            found = read_jsonl(batch.path / name)
            sources = manifest["provenance"][name]
            chosen = [
                r for r in found if wanted is None or wanted & set(sources.get(row_key(r), []))
            ]
            return open_rows(chosen, sealer)
        except (OSError, ValueError, KeyError) as exc:
            raise CorruptBatchError(
                f"{batch.path / name} is unreadable ({exc}); delete the batch and distill again."
            ) from exc

    return TrainingRows(
        sft_train=[as_prompt_completion(r) for r in rows("sft", "train")],
        sft_validation=[as_prompt_completion(r) for r in rows("sft", "validation")],
        dpo_train=rows("dpo", "train"),
        dpo_validation=rows("dpo", "validation"),
    )


def base_model_dir(settings: Settings) -> Path:
    """The Hugging Face folder adapters are trained on: ``model_dir``, else the prepared one."""
    path = generation_model_dir(settings)
    if not (path / "config.json").exists():
        raise ModelNotFoundError(
            f"No model to train at {path}; {FIX}, or set CONFIDANTE_MODEL_DIR to a Hugging Face "
            "model folder."
        )
    return path


def _adapter_id(user_id: str | None) -> str:
    """Sortable by time, safe as a folder name and as a vLLM LoRA name."""
    who = re.sub(r"[^A-Za-z0-9_-]+", "_", user_id)[:40] if user_id else "shared"
    return f"{who}-{utc_now():%Y%m%dT%H%M%SZ}-{new_id('a')[-6:]}"


def train_adapter(
    settings: Settings,
    batch_id: str,
    *,
    user_id: str | None = None,
    options: TrainOptions | None = None,
    progress: Progress = lambda _: None,
) -> TrainedAdapter:
    """Train a LoRA adapter on batch ``batch_id`` and write it under ``<data_dir>/adapters``.

    Raises ``BatchNotFoundError`` / ``CorruptBatchError`` for a missing or damaged batch,
    ``TooFewExamplesError`` when it has fewer SFT training rows (of ``user_id``) than
    ``options.min_examples``, ``ModelNotFoundError`` without a base model and ``TrainingError``
    when training itself fails; in every case nothing is left in the adapters folder.
    """
    options = options or TrainOptions.from_settings(settings)
    batch = open_batch(settings, batch_id)
    sealer = open_sealer(settings, settings.resolved_data_dir())
    try:
        rows = load_rows(batch, user_id, sealer=sealer)
    finally:
        sealer.close()
    if len(rows.sft_train) < options.min_examples:
        whose = f" of user {user_id!r}" if user_id else ""
        raise TooFewExamplesError(
            f"Batch {batch_id} has {len(rows.sft_train)} SFT training rows{whose}, fewer than "
            f"the {options.min_examples} needed; rate more replies and run `confidante distill`, "
            "or lower CONFIDANTE_TRAIN_MIN_EXAMPLES."
        )
    # Whose rows it holds, named as the batch names them: forget deletes the adapters of a user.
    users = [user_id] if user_id else sorted(batch.manifest.get("users", []))
    model_dir = base_model_dir(settings)
    adapter_id = _adapter_id(user_id)
    root = adapters_root(settings)
    partial = root / f"{adapter_id}{PARTIAL_SUFFIX}"
    partial.mkdir(parents=True)
    try:
        report = _fit(model_dir, rows, options, partial, progress)
        manifest = {
            "format_version": FORMAT_VERSION,
            "adapter_id": adapter_id,
            "created_at": utc_now().isoformat(),
            "batch_id": batch_id,
            "user_id": user_id,
            "users": users,
            "base_model": str(model_dir),
            "base_model_name": model_dir.name,
            "rows": rows.counts(),
            "options": asdict(options),
            "lora": {"rank": options.lora_rank, "alpha": options.lora_alpha},
            **report,
        }
        text = json.dumps(manifest, indent=2, ensure_ascii=False)
        (partial / TRAINING_MANIFEST).write_text(text, encoding="utf-8")
        require_users_still_held(settings, batch_id, users)
        partial.rename(root / adapter_id)
    except BaseException as exc:  # an interrupt too: never leave a half-written adapter
        shutil.rmtree(partial, ignore_errors=True)
        if isinstance(exc, ConfidanteError) or not isinstance(exc, Exception):
            raise
        # torch, TRL and peft raise many types; none of them is the caller's mistake
        raise TrainingError(
            f"Training on batch {batch_id} failed ({type(exc).__name__}: {exc}); nothing was "
            "written. If memory ran out, lower CONFIDANTE_TRAIN_BATCH_SIZE."
        ) from exc
    return TrainedAdapter(adapter_id=adapter_id, path=root / adapter_id, manifest=manifest)


def require_users_still_held(settings: Settings, batch_id: str, users: list[str]) -> None:
    """Raise ``TrainingError`` if a user the adapter learned from was forgotten meanwhile.

    ``forget`` rewrites the batches and deletes finished adapters, but cannot stop a run in
    progress: checked here, just before the adapter becomes visible, so none survives them.
    """
    try:
        held = set(open_batch(settings, batch_id).manifest.get("users", []))
    except BatchNotFoundError:
        held = set()
    gone = sorted(set(users) - held)
    if gone:
        raise TrainingError(
            f"{len(gone)} user(s) whose rows this adapter learned from were forgotten while it "
            f"trained on batch {batch_id}; nothing was written. Train again."
        )


def _peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MiB (Linux reports KiB)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _measure(model: Any, tokenizer: Any, rows: TrainingRows) -> dict[str, float | None]:
    return {
        "train": mean_loss(model, tokenizer, rows.sft_train[:TRAIN_LOSS_SAMPLE]),
        "validation": mean_loss(model, tokenizer, rows.sft_validation),
        "preference": preference_accuracy(model, tokenizer, rows.dpo_validation),
    }


def _fit(
    model_dir: Path, rows: TrainingRows, options: TrainOptions, out: Path, progress: Progress
) -> dict[str, Any]:
    """Train, measure before and after, save the adapter into ``out``; the report's fields."""
    import torch
    from peft import LoraConfig, PeftModel, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    def load_base() -> Any:
        # float32, as the transformers backend serves it; training autocasts where it pays.
        return AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)

    started = time.perf_counter()
    torch.manual_seed(options.seed)
    progress(f"Loading {model_dir.name}")
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    base = load_base()
    lora = LoraConfig(
        r=options.lora_rank,
        lora_alpha=options.lora_alpha,
        lora_dropout=0.05,
        target_modules=TARGET_MODULES,
        task_type="CAUSAL_LM",
    )
    model: Any = get_peft_model(base, lora)
    progress("Measuring the loss before training")
    before = _measure(model, tokenizer, rows)  # LoRA's B starts at zero: this is the base model
    fit_started = time.perf_counter()
    outcome = _run_sft(model, tokenizer, rows.sft_train, options, progress)
    preference: dict[str, Any] | None = None
    if options.dpo_epochs and rows.dpo_train:
        preference = _run_dpo(model, tokenizer, rows.dpo_train, options, progress)
    fit_seconds = time.perf_counter() - fit_started
    # DPO adds a frozen copy of the SFT adapter ("ref") as its reference: not part of the result.
    model.save_pretrained(out, selected_adapters=["default"])
    del model, base
    # Measured on the saved adapter over a fresh base: exactly what will be served, and free
    # of the autocast wrapper training leaves on the trained model's forward.
    progress("Measuring the loss after training")
    after = _measure(PeftModel.from_pretrained(load_base(), out), tokenizer, rows)
    return {
        "steps": outcome["steps"],
        "mean_training_loss": outcome["loss"],
        "dpo": preference,
        "precision": "bf16 autocast" if native_bf16() else "float32",
        "threads": torch.get_num_threads(),
        "loss": {s: {"before": before[s], "after": after[s]} for s in ("train", "validation")},
        "preference_accuracy": {"before": before["preference"], "after": after["preference"]},
        "seconds": {
            "training": round(fit_seconds, 1),
            "total": round(time.perf_counter() - started, 1),
        },
        "peak_rss_mb": _peak_rss_mb(),
    }


def _run_dpo(
    model: Any,
    tokenizer: Any,
    pairs: list[dict[str, Any]],
    options: TrainOptions,
    progress: Progress,
) -> dict[str, Any]:
    """TRL's DPOTrainer over the batch's chosen/rejected pairs, after SFT; steps and loss.

    The reference is the SFT-trained adapter as it stands (TRL copies it), so DPO moves the
    model from what SFT taught towards the preferred replies, away from the rejected ones.
    """
    from datasets import Dataset
    from trl.trainer.dpo_config import DPOConfig
    from trl.trainer.dpo_trainer import DPOTrainer

    progress(f"Preference training on {len(pairs)} pairs")
    with tempfile.TemporaryDirectory(prefix="confidante-dpo-") as scratch:
        config = DPOConfig(
            output_dir=scratch,
            num_train_epochs=options.dpo_epochs,
            max_steps=options.max_steps or -1,
            per_device_train_batch_size=options.batch_size,
            # DPO's steps are small: a tenth of SFT's rate, as the usual recipes do.
            learning_rate=options.learning_rate / 10,
            beta=options.dpo_beta,
            logging_steps=5,
            save_strategy="no",
            report_to="none",
            use_cpu=True,
            bf16=native_bf16(),
            **_no_checkpointing(DPOConfig),
            max_length=None,  # prompts are bounded by the context budget; never cut a reply
            seed=options.seed,
            data_seed=options.seed,
            disable_tqdm=True,
        )
        trainer = DPOTrainer(
            model=model,
            args=config,
            train_dataset=Dataset.from_list(pairs),
            processing_class=tokenizer,
        )
        result = trainer.train()
    model.set_adapter("default")
    return {
        "pairs": len(pairs),
        "steps": result.global_step,
        "loss": round(float(result.training_loss), 4),
        "beta": options.dpo_beta,
    }


def native_bf16() -> bool:
    """True if this CPU computes in bfloat16 natively (AVX512-BF16 or AMX).

    There, training under bf16 autocast is ~1.5x faster than float32 (measured on this
    project's 2-core EPYC); elsewhere bf16 is emulated and slower. Master weights stay float32.
    """
    import torch

    checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    return any(bool(getattr(torch.cpu, name, lambda: False)()) for name in checks)


def _no_checkpointing(config_class: type) -> dict[str, Any]:
    """Keep activations instead of recomputing them (~20% faster; a 135M model's fit easily).

    TRL turns recomputation on by default; transformers 5 renamed the switch.
    """
    names = {f.name for f in fields(config_class)}
    new = "activation_checkpointing"
    return {new if new in names else "gradient_checkpointing": False}


def _run_sft(
    model: Any,
    tokenizer: Any,
    train: list[dict[str, Any]],
    options: TrainOptions,
    progress: Progress,
) -> dict[str, Any]:
    """TRL's SFTTrainer over prompt-completion rows, loss on the completions; steps and loss."""
    from datasets import Dataset
    from transformers import TrainerCallback
    from trl.trainer.sft_config import SFTConfig
    from trl.trainer.sft_trainer import SFTTrainer

    class Report(TrainerCallback):
        def on_log(self, args: Any, state: Any, control: Any, logs: Any = None, **kw: Any) -> None:
            if logs and "loss" in logs:
                progress(f"Step {state.global_step}/{state.max_steps}, loss {logs['loss']:.3f}")

    with tempfile.TemporaryDirectory(prefix="confidante-train-") as scratch:
        config = SFTConfig(
            output_dir=scratch,
            num_train_epochs=options.epochs,
            max_steps=options.max_steps or -1,
            per_device_train_batch_size=options.batch_size,
            learning_rate=options.learning_rate,
            warmup_steps=0.1,  # a ratio of the steps
            logging_steps=5,
            save_strategy="no",
            report_to="none",
            use_cpu=True,
            bf16=native_bf16(),
            **_no_checkpointing(SFTConfig),
            # Prompts are already bounded by the context token budget; never cut the reply.
            max_length=None,
            completion_only_loss=True,
            seed=options.seed,
            data_seed=options.seed,
            disable_tqdm=True,
        )
        trainer = SFTTrainer(
            model=model,
            args=config,
            train_dataset=Dataset.from_list(train),
            processing_class=tokenizer,
            callbacks=[Report()],
        )
        result = trainer.train()
    return {"steps": result.global_step, "loss": round(float(result.training_loss), 4)}
