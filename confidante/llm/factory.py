"""The generation backend the settings name, built on request (nothing loads before use)."""

from __future__ import annotations

from confidante.config import Settings
from confidante.errors import InvalidInputError
from confidante.llm.base import ChatLLM
from confidante.llm.weights import generation_model_dir

# As the transformers backend decodes: greedy SmolLM2-135M loops on its phrases without it.
REPETITION_PENALTY = 1.1


def open_llm(settings: Settings) -> ChatLLM:
    """The chat model ``settings.llm_backend`` names."""
    if settings.llm_backend == "vllm":
        from confidante.llm.openai_server import OpenAIServerLLM

        if not settings.llm_url:
            raise InvalidInputError(
                "CONFIDANTE_LLM_BACKEND=vllm needs CONFIDANTE_LLM_URL (e.g. "
                "http://127.0.0.1:8100/v1); `confidante models serve` prints it."
            )
        model_dir = generation_model_dir(settings)
        return OpenAIServerLLM(
            base_url=settings.llm_url,
            model=settings.llm_model,
            api_key=settings.llm_api_key.get_secret_value() if settings.llm_api_key else None,
            timeout_s=settings.llm_timeout_s,
            max_retries=settings.llm_max_retries,
            tokenizer_dir=model_dir if model_dir.is_dir() else None,
            repetition_penalty=REPETITION_PENALTY,
        )
    if settings.llm_backend == "vllm-inprocess":
        from confidante.llm.vllm_engine import VLLMEngineLLM

        return VLLMEngineLLM(
            generation_model_dir(settings),
            name=settings.llm_model,
            max_model_len=settings.vllm_max_model_len,
            repetition_penalty=REPETITION_PENALTY,
        )
    from confidante.llm.transformers_engine import TransformersLLM

    return TransformersLLM.from_settings(settings)  # applies settings.adapter, if any
