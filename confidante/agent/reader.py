"""What is held about a user, read without any model: who they are now, and the export.

``AsyncAssistant.profile`` and ``export`` answer with these functions. ``MemoryReader`` offers
the same answers over a data directory's database alone, for callers that must not wait for
the embedder, Chroma or the generation model to load (``confidante profile``, ``export``).
"""

from __future__ import annotations

from typing import Any, Self

from confidante.agent.export import export_user
from confidante.config import Settings
from confidante.database import Database
from confidante.encryption import open_database
from confidante.errors import UnknownUserError
from confidante.graph.knowledge import KnowledgeGraph
from confidante.graph.schema import PREDICATES, SELF
from confidante.graph.store import FactStore
from confidante.memory.documents import DocumentStore
from confidante.memory.journal import Journal
from confidante.records import Fact, Profile, utc_now, validate_user_id


def require_user(journal: Journal, graph: KnowledgeGraph, user_id: str) -> str:
    """``user_id``, validated; ``UnknownUserError`` when nothing is stored about them."""
    user_id = validate_user_id(user_id)
    if not (journal.has_user(user_id) or graph.has_user(user_id)):
        raise UnknownUserError(
            f"Nothing is stored for user {user_id!r}; chat with or observe them first."
        )
    return user_id


def current_facts(graph: KnowledgeGraph, user_id: str) -> list[Fact]:
    """The facts that make up the profile: still true, and about who someone is."""
    facts = [
        f
        for f in graph.facts(user_id, current_only=True)
        if (predicate := PREDICATES.get(f.predicate)) is None or predicate.in_profile
    ]
    # Facts about the user first, then about the people and things around them.
    facts.sort(key=lambda f: f.subject != SELF)
    return facts


class MemoryReader:
    """Profiles and exports straight from a data directory's database."""

    def __init__(self, database: Database) -> None:
        self._database = database
        self.journal = Journal(database)
        self.graph = KnowledgeGraph(FactStore(database))
        self.documents = DocumentStore(database)

    @classmethod
    def open(cls, settings: Settings) -> Self:
        """Read the database under ``settings.data_dir``."""
        return cls(open_database(settings))

    def profile(self, user_id: str) -> Profile:
        """See ``AsyncAssistant.profile``."""
        user_id = require_user(self.journal, self.graph, user_id)
        return Profile(user_id=user_id, facts=current_facts(self.graph, user_id))

    def export(self, user_id: str) -> dict[str, Any]:
        """See ``AsyncAssistant.export``."""
        user_id = require_user(self.journal, self.graph, user_id)
        return export_user(
            user_id, journal=self.journal, graph=self.graph, documents=self.documents, at=utc_now()
        )

    def close(self) -> None:
        """Close the database."""
        self._database.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
