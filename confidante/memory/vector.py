"""The vector index Protocol: nearest neighbours per user, ids only (text lives in SQLite)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol


class VectorIndex(Protocol):
    """Stores one vector per document id, per user, and finds the nearest ones."""

    def add(self, user_id: str, ids: Sequence[str], vectors: Sequence[Sequence[float]]) -> None:
        """Store (or replace) vectors under ``ids`` for ``user_id``."""
        ...

    def search(self, user_id: str, vector: Sequence[float], k: int) -> list[tuple[str, float]]:
        """Up to ``k`` (id, similarity) pairs, most similar first."""
        ...

    def vectors(self, user_id: str, ids: Sequence[str]) -> dict[str, Sequence[float]]:
        """The stored vectors of ``ids``, by id; ids without one are left out."""
        ...

    def delete(self, user_id: str, ids: Sequence[str] | None = None) -> None:
        """Remove the vectors under ``ids``, or every vector of ``user_id`` when ``ids`` is None."""
        ...
