from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

# The tests generate with the smallest packaged model (and the command lines they start, which
# inherit this environment); bench/replies.py measures the others.
os.environ.setdefault("CONFIDANTE_PACKAGED_MODEL", "smollm2-135m")

from confidante import Assistant, Settings
from confidante.testing import HashEmbedder, ScriptedLLM


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", cache_dir=tmp_path / "cache")


@pytest.fixture
def scripted_llm() -> ScriptedLLM:
    return ScriptedLLM(["Noted."])


@pytest.fixture
def assistant(settings: Settings, scripted_llm: ScriptedLLM) -> Iterator[Assistant]:
    """Real Chroma, SQLite, NetworkX and rule extractor; scripted model, hashing embedder."""
    with Assistant.open(settings=settings, llm=scripted_llm, embeddings=HashEmbedder()) as a:
        yield a


@pytest.fixture(scope="session")
def packaged_embeddings():
    from confidante.memory.embeddings import SentenceTransformerEmbeddings

    return SentenceTransformerEmbeddings()


@pytest.fixture(scope="session")
def real_llm():
    """The packaged SmolLM2, prepared into the user cache as `make install` does."""
    from confidante.llm.transformers_engine import TransformersLLM
    from confidante.llm.weights import prepare_model

    return TransformersLLM(prepare_model(Settings().cache_dir))
