"""The generation backend the settings name, built on request (nothing loads before use)."""

from __future__ import annotations

from pathlib import Path

from confidante.agent.llm import ChatLLM
from confidante.agent.weights import prepared_model_dir
from confidante.config import Settings
from confidante.errors import InvalidInputError

# As the transformers backend decodes: greedy SmolLM2-135M loops on its phrases without it.
REPETITION_PENALTY = 1.1


def default_model_dir(settings: Settings) -> Path:
    """The model folder to generate with: ``model_dir``, else the prepared SmolLM2."""
    return settings.model_dir or prepared_model_dir(settings.cache_dir)


def vllm_venv_dir(settings: Settings) -> Path:
    """Where `confidante models serve` keeps vLLM's virtual environment."""
    return (settings.vllm_venv_dir or settings.cache_dir / "vllm-venv").expanduser()


def open_llm(settings: Settings) -> ChatLLM:
    """The chat model ``settings.llm_backend`` names."""
    if settings.llm_backend == "vllm":
        from confidante.agent.llm_openai import OpenAIServerLLM

        if not settings.llm_url:
            raise InvalidInputError(
                "CONFIDANTE_LLM_BACKEND=vllm needs CONFIDANTE_LLM_URL (e.g. "
                "http://127.0.0.1:8100/v1); `confidante models serve` prints it."
            )
        model_dir = default_model_dir(settings)
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
        from confidante.agent.llm_vllm import VLLMEngineLLM

        return VLLMEngineLLM(
            default_model_dir(settings),
            name=settings.llm_model,
            max_model_len=settings.vllm_max_model_len,
            repetition_penalty=REPETITION_PENALTY,
        )
    from confidante.agent.llm_transformers import TransformersLLM

    return TransformersLLM.from_settings(settings)  # applies settings.adapter, if any
