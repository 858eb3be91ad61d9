"""Chroma as the vector index: one collection per user (a ``where`` filter is 15x slower)."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from confidante.errors import StorageError

if TYPE_CHECKING:
    from chromadb.api import ClientAPI


def collection_name(user_id: str) -> str:
    """A Chroma-legal collection name for a user id of any characters."""
    return "user-" + hashlib.sha256(user_id.encode()).hexdigest()[:40]


class ChromaVectorIndex:
    """Vectors in a Chroma ``PersistentClient`` under ``path``; no text is stored in Chroma."""

    def __init__(self, path: Path) -> None:
        import chromadb  # slow import (~2 s): only when a store is opened
        from chromadb.config import Settings as ChromaSettings

        try:
            self._client: ClientAPI = chromadb.PersistentClient(
                path=str(path),
                settings=ChromaSettings(anonymized_telemetry=False, allow_reset=False),
            )
        except Exception as exc:  # chroma raises several unrelated types here
            raise StorageError(f"Cannot open the Chroma store at {path}: {exc}") from exc
        self._collections: dict[str, Any] = {}
        self._lock = threading.Lock()

    def _collection(self, user_id: str, *, create: bool) -> Any | None:
        name = collection_name(user_id)
        with self._lock:
            if name in self._collections:
                return self._collections[name]
            if create:
                col = self._client.get_or_create_collection(
                    name, embedding_function=None, metadata={"hnsw:space": "cosine"}
                )
            else:
                try:
                    col = self._client.get_collection(name, embedding_function=None)
                except Exception:  # NotFoundError in 1.x, ValueError in older releases
                    return None
            self._collections[name] = col
            return col

    def add(self, user_id: str, ids: Sequence[str], vectors: Sequence[Sequence[float]]) -> None:
        """Store (or replace) vectors under ``ids``."""
        if not ids:
            return
        col = self._collection(user_id, create=True)
        assert col is not None
        col.upsert(ids=list(ids), embeddings=[list(v) for v in vectors])

    def search(self, user_id: str, vector: Sequence[float], k: int) -> list[tuple[str, float]]:
        """Up to ``k`` (id, cosine similarity) pairs, most similar first."""
        col = self._collection(user_id, create=False)
        if col is None:
            return []
        count = col.count()
        if count == 0:
            return []
        result = col.query(
            query_embeddings=[list(vector)], n_results=min(k, count), include=["distances"]
        )
        ids = result["ids"][0]
        distances = (result["distances"] or [[]])[0]
        return [(i, 1.0 - float(d)) for i, d in zip(ids, distances, strict=True)]

    def delete(self, user_id: str, ids: Sequence[str] | None = None) -> None:
        """Remove vectors by id, or drop the user's whole collection when ``ids`` is None."""
        if ids is not None:
            col = self._collection(user_id, create=False)
            if col is not None and ids:
                col.delete(ids=list(ids))
            return
        name = collection_name(user_id)
        with self._lock:
            self._collections.pop(name, None)
            try:
                self._client.delete_collection(name)
            except Exception:  # nothing stored for this user: nothing to delete
                return

    def count(self, user_id: str) -> int:
        """How many vectors the user has."""
        col = self._collection(user_id, create=False)
        return 0 if col is None else col.count()
