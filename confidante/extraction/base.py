"""The Protocol every fact extractor implements, and a chain of several as one."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from confidante.graph.schema import FactCandidate


class FactExtractor(Protocol):
    """Finds facts in what a person said."""

    def extract(
        self, text: str, *, speaker: str, when: datetime | None = None
    ) -> list[FactCandidate]:
        """Facts in ``text``; ``speaker`` is the entity that "I" refers to (``SELF`` or a name)."""
        ...


class ExtractorChain:
    """Several extractors as one: the facts of each, in order."""

    def __init__(self, *extractors: FactExtractor) -> None:
        self.extractors = extractors

    def extract(
        self, text: str, *, speaker: str, when: datetime | None = None
    ) -> list[FactCandidate]:
        """Every extractor's facts in ``text``."""
        return [c for e in self.extractors for c in e.extract(text, speaker=speaker, when=when)]
