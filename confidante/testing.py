"""Stand-ins for tests and examples: a scripted LLM and a deterministic hashing embedder.

They implement the same Protocols as the real backends, so tests exercise real code paths
with real stores, and only the model is scripted.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import random
import re
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

from langchain_core.embeddings import Embeddings

from confidante.llm.base import Completion
from confidante.records import ChatMessages

Responder = Callable[[ChatMessages], str]


class ScriptedLLM:
    """Replies from a list (in turn) or a function of the prompt; records every prompt.

    ``delay`` seconds pass (without using the CPU) before each reply, standing for the time a
    real model generates: the server then holds as many requests at once as it would.
    """

    def __init__(
        self,
        replies: Sequence[str] | Responder = ("OK.",),
        *,
        name: str = "scripted",
        delay: float = 0.0,
    ):
        self._replies = replies
        self._name = name
        self.delay = delay
        self.prompts: list[ChatMessages] = []

    @property
    def model_name(self) -> str:
        """The name given at construction."""
        return self._name

    async def generate(
        self, messages: ChatMessages, *, max_tokens: int, temperature: float
    ) -> Completion:
        """The next scripted reply (the last one repeats), cut to ``max_tokens`` words."""
        self.prompts.append(messages)
        if self.delay:
            await asyncio.sleep(self.delay)
        if callable(self._replies):
            text = self._replies(messages)
        else:
            text = self._replies[min(len(self.prompts), len(self._replies)) - 1]
        words = text.split()
        return Completion(
            text=" ".join(words[:max_tokens]),
            model=self._name,
            prompt_tokens=sum(len(m["content"].split()) for m in messages),
            completion_tokens=min(len(words), max_tokens),
            finish_reason="length" if len(words) > max_tokens else "stop",
        )

    async def stream(
        self, messages: ChatMessages, *, max_tokens: int, temperature: float
    ) -> AsyncIterator[str]:
        """The same reply as ``generate``, one word at a time."""
        completion = await self.generate(messages, max_tokens=max_tokens, temperature=temperature)
        for i, word in enumerate(completion.text.split(" ")):
            yield word if i == 0 else " " + word


class ScriptedStructuredLLM(ScriptedLLM):
    """A ``ScriptedLLM`` that also takes JSON-schema-constrained requests, recording each schema.

    It does not enforce the schema: the script stands for what constrained decoding returns.
    """

    def __init__(self, replies: Sequence[str] | Responder = ("{}",), *, name: str = "scripted"):
        super().__init__(replies, name=name)
        self.schemas: list[dict[str, Any]] = []

    async def generate_json(
        self, messages: ChatMessages, *, schema: dict[str, Any], max_tokens: int
    ) -> Completion:
        """The next scripted reply, as ``generate`` gives it; ``schema`` is recorded."""
        self.schemas.append(schema)
        return await self.generate(messages, max_tokens=max_tokens, temperature=0.0)


_TOKEN = re.compile(r"[^\W_]+")


class HashEmbedder(Embeddings):
    """Bag-of-words vectors from hashed tokens: texts sharing words are near each other.

    Deterministic across runs and processes (seeded per token, no global random state).
    ``semantic`` is False: nearness here is shared words, not meaning, so what reads meaning
    from an embedder (the manner reader) is off with it.
    """

    semantic = False

    def __init__(self, dimensions: int = 64) -> None:
        self.dimensions = dimensions
        # Drawing a token's vector costs more than the rest of a short turn (benchmarks).
        self._vectors: dict[str, list[float]] = {}

    def _token_vector(self, token: str) -> list[float]:
        vector = self._vectors.get(token)
        if vector is None:
            seed = int.from_bytes(hashlib.sha256(token.encode()).digest()[:8], "big")
            rng = random.Random(seed)
            vector = self._vectors[token] = [rng.gauss(0.0, 1.0) for _ in range(self.dimensions)]
        return vector

    def _embed(self, text: str) -> list[float]:
        total = [0.0] * self.dimensions
        for token in _TOKEN.findall(text.lower()) or ["<empty>"]:
            for i, value in enumerate(self._token_vector(token)):
                total[i] += value
        norm = math.sqrt(sum(v * v for v in total)) or 1.0
        return [v / norm for v in total]

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """One unit vector per text."""
        return [self._embed(t) for t in texts]

    def embed_query(self, text: str) -> list[float]:
        """A unit vector for the query."""
        return self._embed(text)

    async def aembed_query(self, text: str) -> list[float]:
        """At once, in the event loop: a worker thread would cost more than hashing a query."""
        return self._embed(text)
