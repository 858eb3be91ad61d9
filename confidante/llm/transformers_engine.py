"""Generation with transformers in process: the embedded default backend.

With an adapter (a peft LoRA folder, e.g. one `confidante train` wrote), the adapter is merged
into the weights once at load time, so generation costs exactly what the base model costs.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from confidante.config import Settings
from confidante.errors import GenerationError, ModelError, ModelNotFoundError
from confidante.llm.base import Completion
from confidante.llm.weights import FIX, generation_model_dir
from confidante.records import ChatMessages


class _DeltaStreamer:
    """A transformers streamer that decodes new tokens into text deltas for a callback."""

    def __init__(self, tokenizer: Any, emit: Callable[[str], None]):
        self._tokenizer = tokenizer
        self._emit = emit
        self._tokens: list[int] = []
        self._sent = ""
        self._prompt_seen = False

    def put(self, value: Any) -> None:
        if not self._prompt_seen:  # generate() first hands over the prompt
            self._prompt_seen = True
            return
        self._tokens.extend(int(t) for t in value.reshape(-1).tolist())
        text = self._tokenizer.decode(self._tokens, skip_special_tokens=True)
        # Hold back a trailing replacement char: a multi-byte character may be half decoded.
        if text.endswith("\ufffd"):
            return
        if len(text) > len(self._sent):
            delta, self._sent = text[len(self._sent) :], text
            self._emit(delta)

    def end(self) -> None:
        pass


def _stop_when(event: threading.Event) -> Any:
    """Stopping criteria that end generation once ``event`` is set (the consumer left)."""
    from transformers import StoppingCriteria, StoppingCriteriaList

    class StopWhenSet(StoppingCriteria):
        def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
            import torch

            return torch.full((input_ids.shape[0],), event.is_set(), dtype=torch.bool)

    return StoppingCriteriaList([StopWhenSet()])


def _apply_adapter(model: Any, adapter_dir: Path) -> Any:
    """``model`` with the peft adapter in ``adapter_dir`` merged into its weights."""
    try:
        from peft import PeftModel
    except ImportError as exc:
        raise ModelError(
            f"Applying the adapter {adapter_dir} needs peft; install it with "
            "`pip install 'confidante[train]'`, or unset CONFIDANTE_ADAPTER."
        ) from exc
    try:
        return PeftModel.from_pretrained(model, adapter_dir).merge_and_unload()
    except Exception as exc:  # peft raises many types for a mismatched or damaged adapter
        raise ModelError(
            f"Could not apply the adapter {adapter_dir} ({exc}); it must be a LoRA adapter "
            "trained on this base model (`confidante train`), or unset CONFIDANTE_ADAPTER."
        ) from exc


class TransformersLLM:
    """A causal LM from a Hugging Face folder, loaded on first use, one generation at a time.

    ``adapter_dir`` names a peft LoRA adapter to merge into it; the model's name then becomes
    ``<model>+<adapter>``, so each stored interaction says which adapter answered.
    """

    def __init__(
        self,
        model_dir: Path,
        *,
        adapter_dir: Path | None = None,
        name: str | None = None,
        repetition_penalty: float = 1.1,
    ) -> None:
        if not (model_dir / "config.json").exists():
            raise ModelNotFoundError(
                f"No prepared model at {model_dir}; {FIX}, or set CONFIDANTE_MODEL_DIR to a "
                "Hugging Face model folder."
            )
        if adapter_dir is not None and not (adapter_dir / "adapter_config.json").exists():
            raise ModelNotFoundError(
                f"No LoRA adapter at {adapter_dir} (adapter_config.json is missing); train one "
                "with `confidante train --batch ID`, or unset CONFIDANTE_ADAPTER."
            )
        self.model_dir = model_dir
        self.adapter_dir = adapter_dir
        self._name = name or (
            f"{model_dir.name}+{adapter_dir.name}" if adapter_dir else model_dir.name
        )
        # Greedy decoding with a 135M model loops on its own phrases without a mild penalty.
        self.repetition_penalty = repetition_penalty
        self._tokenizer: Any = None
        self._model: Any = None
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> TransformersLLM:
        """The model ``settings`` names, with ``settings.adapter`` applied when set.

        The model is ``settings.model_dir``, else the prepared SmolLM2 under ``cache_dir``.
        """
        from confidante.llm.adapters import resolve_adapter

        return cls(
            generation_model_dir(settings),
            adapter_dir=resolve_adapter(settings),
        )

    @property
    def model_name(self) -> str:
        """The model folder's name, with the adapter's after a ``+`` when one is applied."""
        return self._name

    def _load_tokenizer(self) -> Any:
        if self._tokenizer is None:
            from transformers import AutoTokenizer  # slow import: lazily

            self._tokenizer = AutoTokenizer.from_pretrained(self.model_dir)
        return self._tokenizer

    def _load_model(self) -> Any:
        if self._model is None:
            import torch
            from transformers import AutoModelForCausalLM

            # float32: bf16 matmuls are slower than fp32 on most CPUs.
            model = AutoModelForCausalLM.from_pretrained(self.model_dir, dtype=torch.float32)
            if self.adapter_dir is not None:
                model = _apply_adapter(model, self.adapter_dir)
            self._model = model.eval()
        return self._model

    def count_tokens(self, text: str) -> int:
        """Tokens in ``text`` by this model's tokenizer."""
        with self._lock:
            return len(self._load_tokenizer().encode(text, add_special_tokens=False))

    def _run(
        self, messages: ChatMessages, max_tokens: int, temperature: float, **extra: Any
    ) -> tuple[Any, Any, Any]:
        """Generate under the lock; return (tokenizer, inputs, output ids)."""
        import torch

        with self._lock:
            tokenizer, model = self._load_tokenizer(), self._load_model()
            inputs = tokenizer.apply_chat_template(
                messages, add_generation_prompt=True, return_tensors="pt", return_dict=True
            )
            sampling: dict[str, Any] = (
                {"do_sample": True, "temperature": temperature, "top_p": 0.95}
                if temperature > 0
                else {"do_sample": False}
            )
            with torch.inference_mode():
                output = model.generate(
                    **inputs,
                    max_new_tokens=max_tokens,
                    repetition_penalty=self.repetition_penalty,
                    pad_token_id=tokenizer.pad_token_id or tokenizer.eos_token_id,
                    **sampling,
                    **extra,
                )
        return tokenizer, inputs, output

    def _generate_sync(
        self, messages: ChatMessages, max_tokens: int, temperature: float
    ) -> Completion:
        tokenizer, inputs, output = self._run(messages, max_tokens, temperature)
        prompt_len = inputs["input_ids"].shape[1]
        new_tokens = output[0, prompt_len:]
        ended = bool(len(new_tokens)) and int(new_tokens[-1]) == tokenizer.eos_token_id
        return Completion(
            text=tokenizer.decode(new_tokens, skip_special_tokens=True).strip(),
            model=self._name,
            prompt_tokens=int(prompt_len),
            completion_tokens=len(new_tokens),
            finish_reason="stop" if ended or len(new_tokens) < max_tokens else "length",
        )

    async def stream(
        self, messages: ChatMessages, *, max_tokens: int, temperature: float
    ) -> AsyncIterator[str]:
        """Text deltas as tokens are generated; stopping early stops the generation too."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[str | BaseException | None] = asyncio.Queue()
        stop = threading.Event()

        def emit(item: str | BaseException | None) -> None:
            loop.call_soon_threadsafe(queue.put_nowait, item)

        def produce() -> None:
            try:
                streamer = _DeltaStreamer(self._load_tokenizer_locked(), emit)
                self._run(
                    messages,
                    max_tokens,
                    temperature,
                    streamer=streamer,
                    stopping_criteria=_stop_when(stop),
                )
                emit(None)
            except BaseException as exc:  # handed to the consumer, raised there
                emit(exc)

        worker = loop.run_in_executor(None, produce)
        try:
            while (item := await queue.get()) is not None:
                if isinstance(item, BaseException):
                    raise GenerationError(
                        f"Generation failed in {self.model_dir}: {item}"
                    ) from item
                yield item
        finally:
            stop.set()
            await worker

    async def load(self) -> None:
        """Load tokenizer and weights now, in a worker thread; later calls return at once."""

        def load_both() -> None:
            with self._lock:
                self._load_tokenizer()
                self._load_model()

        try:
            await asyncio.to_thread(load_both)
        except ModelError:
            raise
        except Exception as exc:  # torch/transformers errors have no common base
            raise ModelError(f"Could not load the model in {self.model_dir}: {exc}") from exc

    def _load_tokenizer_locked(self) -> Any:
        with self._lock:
            return self._load_tokenizer()

    async def generate(
        self, messages: ChatMessages, *, max_tokens: int, temperature: float
    ) -> Completion:
        """One reply, generated in a worker thread so the event loop stays free."""
        try:
            return await asyncio.to_thread(self._generate_sync, messages, max_tokens, temperature)
        except ModelError:  # GenerationError included: already ours
            raise
        except Exception as exc:  # torch/transformers errors have no common base
            raise GenerationError(f"Generation failed in {self.model_dir}: {exc}") from exc
