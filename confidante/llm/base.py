"""The LLM Protocol: one async method from chat messages to a completion."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from confidante.records import ChatMessages


@dataclass(frozen=True, kw_only=True)
class Completion:
    """A generated reply and what it cost."""

    text: str
    model: str
    prompt_tokens: int
    completion_tokens: int
    finish_reason: str  # "stop" or "length", as in OpenAI's API


class ChatLLM(Protocol):
    """A chat model backend: transformers in process, vLLM over HTTP or in process, ..."""

    @property
    def model_name(self) -> str:
        """The name replies are recorded under."""
        ...

    async def generate(
        self, messages: ChatMessages, *, max_tokens: int, temperature: float
    ) -> Completion:
        """Continue the conversation ``messages`` with one assistant reply."""
        ...


@runtime_checkable
class StreamingLLM(Protocol):
    """A backend that can also yield a reply's text as it is generated."""

    def stream(
        self, messages: ChatMessages, *, max_tokens: int, temperature: float
    ) -> AsyncIterator[str]:
        """Text deltas of one assistant reply, in order."""
        ...


@runtime_checkable
class StructuredLLM(Protocol):
    """A backend that can constrain a reply to a JSON schema (e.g. vLLM structured outputs)."""

    async def generate_json(
        self, messages: ChatMessages, *, schema: dict[str, Any], max_tokens: int
    ) -> Completion:
        """One assistant reply whose text is JSON valid against ``schema``, greedily decoded."""
        ...


@runtime_checkable
class PrefixCachingLLM(Protocol):
    """A backend that reuses the computation of a prompt prefix it has seen (vLLM does)."""

    prefix_caching: bool


@runtime_checkable
class AdapterLoadingLLM(Protocol):
    """A backend that can generate with LoRA adapters it loads at run time (a vLLM server)."""

    async def load_adapter(self, name: str, folder: Path) -> ChatLLM:
        """The backend generating with the adapter in ``folder``, loaded as ``name`` if new."""
        ...


@runtime_checkable
class LoadableLLM(Protocol):
    """A backend whose model loads on first use, and can be told to load it ahead of time."""

    async def load(self) -> None:
        """Load the model now (idempotent), so the first reply does not wait for it."""
        ...


@runtime_checkable
class CheckableLLM(Protocol):
    """A backend behind a server that can be asked whether it is up (readiness probes)."""

    async def check(self) -> str:
        """Raise ``ModelError`` unless the backend answers; return the model's name."""
        ...


@runtime_checkable
class TokenCounter(Protocol):
    """Counts tokens the way the generating model will."""

    def count_tokens(self, text: str) -> int:
        """Tokens in ``text``."""
        ...


def approximate_tokens(text: str) -> int:
    """A model-free estimate (about four characters a token in English)."""
    return len(text) // 4 + 1
