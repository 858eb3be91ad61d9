"""Everything held about one user, gathered from every store as JSON-ready data."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from confidante.graph.knowledge import KnowledgeGraph
from confidante.memory.documents import DocumentStore
from confidante.memory.journal import Journal


def export_user(
    user_id: str,
    *,
    journal: Journal,
    graph: KnowledgeGraph,
    documents: DocumentStore,
    at: datetime,
) -> dict[str, Any]:
    """The user's messages, interactions, ratings, training preference, facts and documents.

    The keys are in this order in the exported JSON.
    """
    return {
        "user_id": user_id,
        "exported_at": at.isoformat(),
        "messages": [m.model_dump(mode="json") for m in journal.all_messages(user_id)],
        "interactions": journal.interaction_rows(user_id),
        "ratings": journal.rating_rows(user_id),
        "training_opt_out": journal.training_opt_out(user_id),
        "facts": [f.model_dump(mode="json") for f in graph.facts(user_id)],
        "documents": documents.export(user_id),
    }
