"""A chat model behind an OpenAI-compatible server: vLLM's (the design's), or any other.

Streaming, JSON-schema structured outputs (vLLM's constrained decoding), timeouts and bounded
retries come from the official ``openai`` client; its exceptions become Confidante's, each
saying what to fix. A stream whose server dies ends with ``GenerationError``, never a hang:
every read is bounded by the timeout.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from confidante.errors import (
    BackendUnavailableError,
    ConfidanteError,
    GenerationError,
    GenerationTimeoutError,
    ModelNotFoundError,
)
from confidante.llm.base import Completion, approximate_tokens
from confidante.records import ChatMessages

if TYPE_CHECKING:
    import openai

_SERVE_HINT = "start one with `confidante models serve`, or fix CONFIDANTE_LLM_URL"


def _local_token_counter(tokenizer_dir: Path) -> Callable[[str], int]:
    """Counts with the served model's own tokenizer file (``tokenizers`` loads in ~50 ms)."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(tokenizer_dir / "tokenizer.json"))
    return lambda text: len(tokenizer.encode(text, add_special_tokens=False).ids)


class OpenAIServerLLM:
    """Generates through ``/v1/chat/completions`` of a vLLM (or compatible) server.

    ``model`` is the served model name; when ``None``, the server must list exactly one model,
    which is then used. ``tokenizer_dir`` (the folder the server loaded) lets the prompt
    budget count tokens exactly; without it they are estimated. ``repetition_penalty`` is
    vLLM's sampling parameter of that name (other servers may reject it).
    """

    def __init__(
        self,
        *,
        base_url: str,
        model: str | None = None,
        api_key: str | None = None,
        timeout_s: float = 120.0,
        max_retries: int = 2,
        tokenizer_dir: Path | None = None,
        repetition_penalty: float | None = None,
    ) -> None:
        import openai

        self.base_url = base_url.rstrip("/")
        self.prefix_caching = True  # vLLM's server, as `confidante models serve` starts it
        self._model = model
        self.timeout_s = timeout_s
        self._client = openai.AsyncOpenAI(
            base_url=self.base_url,
            api_key=api_key or "not-needed",
            # Connecting must fail fast when nothing listens; reads wait for the model.
            timeout=openai.Timeout(timeout_s, connect=min(timeout_s, 5.0)),
            max_retries=max_retries,
        )
        self._model_lock = asyncio.Lock()
        # Adapters this client loaded, by name (shared with its views): reloaded if the server
        # forgot them (a restart, an unload).
        self._adapters: dict[str, Path] = {}
        # A vLLM sampling parameter beyond OpenAI's API; sent only when set.
        self._extra_body = (
            {"repetition_penalty": repetition_penalty} if repetition_penalty is not None else None
        )
        self._counter: Callable[[str], int] = approximate_tokens
        if tokenizer_dir is not None and (tokenizer_dir / "tokenizer.json").is_file():
            self._counter = _local_token_counter(tokenizer_dir)

    @property
    def model_name(self) -> str:
        """The served model's name (known once the server was asked, if not given)."""
        return self._model or "unresolved"

    def count_tokens(self, text: str) -> int:
        """Tokens in ``text`` by the served model's tokenizer, or an estimate without it."""
        return self._counter(text)

    async def served_models(self) -> list[str]:
        """The model names the server lists (also a health check)."""
        try:
            page = await self._client.models.list()
        except Exception as exc:
            raise self._translate(exc) from exc
        return [model.id for model in page.data]

    async def check(self) -> str:
        """Raise unless the server answers and serves the model; return the model name."""
        served = await self.served_models()
        if self._model is None:
            if len(served) != 1:
                raise ModelNotFoundError(
                    f"The model server at {self.base_url} serves {len(served)} models "
                    f"({', '.join(served) or 'none'}); set CONFIDANTE_LLM_MODEL to one of them."
                )
            self._model = served[0]
        elif self._model not in served:
            raise self._unknown_model(served)
        return self._model

    async def _resolved_model(self) -> str:
        if self._model is not None:
            return self._model
        async with self._model_lock:
            return await self.check()

    def _unknown_model(self, served: list[str]) -> ModelNotFoundError:
        return ModelNotFoundError(
            f"The model server at {self.base_url} does not serve {self._model!r} (it serves: "
            f"{', '.join(served) or 'nothing'}); set CONFIDANTE_LLM_MODEL to a served name."
        )

    def _translate(self, exc: Exception) -> ConfidanteError:
        """``exc`` from the openai client or httpx as a Confidante error with the fix."""
        import httpx
        import openai

        if isinstance(exc, ConfidanteError):
            return exc
        if isinstance(exc, openai.APITimeoutError | httpx.TimeoutException):
            return GenerationTimeoutError(
                f"The model server at {self.base_url} did not answer within {self.timeout_s:g} "
                "s; raise CONFIDANTE_LLM_TIMEOUT_S or lower the load on the server."
            )
        if isinstance(exc, openai.APIConnectionError):
            return BackendUnavailableError(
                f"No model server answers at {self.base_url} ({exc.__cause__ or exc}); "
                f"{_SERVE_HINT}."
            )
        if isinstance(exc, openai.NotFoundError):
            if "model" in str(exc).lower() and self._model is not None:
                return ModelNotFoundError(
                    f"The model server at {self.base_url} does not serve {self._model!r}; set "
                    "CONFIDANTE_LLM_MODEL to a name from its /v1/models."
                )
            return BackendUnavailableError(
                f"{self.base_url} answered 404: it is not an OpenAI-compatible API root "
                f"(it usually ends in /v1); {_SERVE_HINT}."
            )
        if isinstance(exc, openai.APIStatusError):
            return GenerationError(
                f"The model server at {self.base_url} refused the request "
                f"(HTTP {exc.status_code}): {exc.message}"
            )
        if isinstance(exc, openai.APIError | httpx.HTTPError):
            return GenerationError(
                f"The model server at {self.base_url} broke off the reply ({exc}); check that it "
                "is still running."
            )
        return GenerationError(f"Generation through {self.base_url} failed: {exc!r}")

    async def _create(self, **request: Any) -> Any:
        model = await self._resolved_model()
        try:
            return await self._send(model, request)
        except ModelNotFoundError:
            if model not in self._adapters:
                raise
        await self._load(model, self._adapters[model])  # the server forgot it: load it again
        return await self._send(model, request)

    async def _send(self, model: str, request: dict[str, Any]) -> Any:
        try:
            return await self._client.chat.completions.create(
                model=model, extra_body=self._extra_body, **request
            )
        except Exception as exc:
            raise self._translate(exc) from exc

    @staticmethod
    def _completion(response: Any, model: str) -> Completion:
        choice = response.choices[0]
        usage = response.usage
        return Completion(
            text=choice.message.content or "",
            model=model,
            prompt_tokens=usage.prompt_tokens if usage else 0,
            completion_tokens=usage.completion_tokens if usage else 0,
            finish_reason="length" if choice.finish_reason == "length" else "stop",
        )

    async def generate(
        self, messages: ChatMessages, *, max_tokens: int, temperature: float
    ) -> Completion:
        """One reply to ``messages``."""
        response = await self._create(
            messages=messages, max_tokens=max_tokens, temperature=temperature
        )
        return self._completion(response, self.model_name)

    async def generate_json(
        self, messages: ChatMessages, *, schema: dict[str, Any], max_tokens: int
    ) -> Completion:
        """One greedy reply constrained to ``schema`` by the server's structured outputs."""
        response = await self._create(
            messages=messages,
            max_tokens=max_tokens,
            temperature=0.0,
            response_format={
                "type": "json_schema",
                "json_schema": {"name": "reply", "schema": schema, "strict": True},
            },
        )
        return self._completion(response, self.model_name)

    async def stream(
        self, messages: ChatMessages, *, max_tokens: int, temperature: float
    ) -> AsyncIterator[str]:
        """Text deltas of one reply; a server that dies mid-reply raises ``GenerationError``."""
        chunks: openai.AsyncStream[Any] = await self._create(
            messages=messages, max_tokens=max_tokens, temperature=temperature, stream=True
        )
        finished = False
        try:
            async for chunk in chunks:
                if not chunk.choices:
                    continue
                choice = chunk.choices[0]
                if choice.delta.content:
                    yield choice.delta.content
                finished = finished or choice.finish_reason is not None
        except Exception as exc:
            raise self._translate(exc) from exc
        finally:
            await chunks.close()
        if not finished:
            # The connection closed cleanly but the reply never said it was complete.
            raise GenerationError(
                f"The model server at {self.base_url} ended the stream before the reply was "
                "finished; check that it is still running."
            )

    def with_model(self, model: str) -> OpenAIServerLLM:
        """A view generating with ``model``, another name the server serves (an adapter).

        The view shares this one's connections.
        """
        view = copy.copy(self)
        view._model = model
        view._model_lock = asyncio.Lock()
        return view

    async def load_adapter(self, name: str, folder: Path) -> OpenAIServerLLM:
        """Load the LoRA adapter in ``folder`` as ``name``; return a view generating with it.

        Nothing is loaded when the server serves ``name`` already. The server must run with
        LoRA enabled and runtime loading allowed (as `confidante models serve` starts it) and
        see ``folder`` on its own file system.
        """
        if name not in self._adapters and name not in await self.served_models():
            await self._load(name, folder)
        self._adapters[name] = folder
        return self.with_model(name)

    async def _load(self, name: str, folder: Path) -> None:
        import httpx
        import openai

        try:
            await self._client.post(
                "/load_lora_adapter",
                body={"lora_name": name, "lora_path": str(folder)},
                cast_to=httpx.Response,
            )
        except openai.APIStatusError as exc:
            raise ModelNotFoundError(
                f"The model server at {self.base_url} did not load the adapter {folder} "
                f"({exc.message}); it needs --enable-lora (`confidante models serve --lora "
                "NAME=FOLDER` has it) and a LoRA adapter of the model it serves."
            ) from exc
        except Exception as exc:
            raise self._translate(exc) from exc

    async def aclose(self) -> None:
        """Close the HTTP connections."""
        await self._client.close()
