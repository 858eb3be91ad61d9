"""Any LangChain chat model as a backend, so users bring the model they already have.

``max_tokens`` and ``temperature`` are passed as call options, which OpenAI-style chat models
(``ChatOpenAI`` and most others) honour; models that take them only at construction ignore
them. Token counts come from the reply's ``usage_metadata`` when the model reports it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from confidante.errors import ConfidanteError, GenerationError
from confidante.llm.base import Completion, approximate_tokens
from confidante.records import ChatMessages

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel
    from langchain_core.messages import BaseMessage

_FINISHED_BY_LENGTH = frozenset(["length", "max_tokens", "MAX_TOKENS"])


def _as_langchain(messages: ChatMessages) -> list[BaseMessage]:
    from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

    kinds = {"system": SystemMessage, "user": HumanMessage, "assistant": AIMessage}
    return [kinds[m["role"]](content=m["content"]) for m in messages]


def _text(content: Any) -> str:
    """A message's text (content may be a string or a list of parts)."""
    if isinstance(content, str):
        return content
    return "".join(
        part if isinstance(part, str) else str(part.get("text", ""))
        for part in content
        if isinstance(part, str | dict)
    )


class LangChainLLM:
    """Generates with a LangChain ``BaseChatModel`` (e.g. ``ChatOpenAI``, ``ChatOllama``)."""

    def __init__(self, chat_model: BaseChatModel, *, name: str | None = None) -> None:
        self.chat_model = chat_model
        self._name = name or getattr(chat_model, "model_name", None) or type(chat_model).__name__

    @property
    def model_name(self) -> str:
        """The wrapped model's name, when it has one, else its class name."""
        return str(self._name)

    def _options(self, max_tokens: int, temperature: float) -> dict[str, Any]:
        return {"max_tokens": max_tokens, "temperature": temperature}

    async def generate(
        self, messages: ChatMessages, *, max_tokens: int, temperature: float
    ) -> Completion:
        """One reply to ``messages``."""
        try:
            reply = await self.chat_model.ainvoke(
                _as_langchain(messages), **self._options(max_tokens, temperature)
            )
        except ConfidanteError:
            raise
        except Exception as exc:
            raise GenerationError(f"The LangChain model {self.model_name} failed: {exc}") from exc
        text = _text(reply.content)
        usage = getattr(reply, "usage_metadata", None) or {}
        finish = reply.response_metadata.get("finish_reason") or reply.response_metadata.get(
            "stop_reason"
        )
        return Completion(
            text=text,
            model=self.model_name,
            prompt_tokens=usage.get("input_tokens")
            or sum(approximate_tokens(m["content"]) for m in messages),
            completion_tokens=usage.get("output_tokens") or approximate_tokens(text),
            finish_reason="length" if finish in _FINISHED_BY_LENGTH else "stop",
        )

    async def stream(
        self, messages: ChatMessages, *, max_tokens: int, temperature: float
    ) -> AsyncIterator[str]:
        """Text deltas of one reply, as the wrapped model streams them."""
        try:
            async for chunk in self.chat_model.astream(
                _as_langchain(messages), **self._options(max_tokens, temperature)
            ):
                text = _text(chunk.content)
                if text:
                    yield text
        except ConfidanteError:
            raise
        except Exception as exc:
            raise GenerationError(f"The LangChain model {self.model_name} failed: {exc}") from exc
