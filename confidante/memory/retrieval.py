"""Hybrid memory: documents found by meaning (vectors) and by words (BM25), fused by rank."""

from __future__ import annotations

from collections.abc import Sequence

from langchain_core.embeddings import Embeddings

from confidante.memory.documents import Document, DocumentStore
from confidante.memory.vector import VectorIndex
from confidante.records import Recollection

# Reciprocal rank fusion constant (Cormack et al.): damps the head of each ranking.
RRF_K = 60
# Each retriever proposes this many times k candidates before fusion.
CANDIDATE_FACTOR = 4


def reciprocal_rank_fusion(rankings: Sequence[Sequence[str]]) -> list[tuple[str, float]]:
    """Fuse ranked id lists: each id scores the sum of 1 / (RRF_K + rank) over lists."""
    scores: dict[str, float] = {}
    for ranking in rankings:
        for rank, doc_id in enumerate(ranking, start=1):
            scores[doc_id] = scores.get(doc_id, 0.0) + 1.0 / (RRF_K + rank)
    return sorted(scores.items(), key=lambda item: item[1], reverse=True)


class HybridMemory:
    """Indexes documents for a user and recalls the ones that fit a query."""

    def __init__(
        self, documents: DocumentStore, vectors: VectorIndex, embeddings: Embeddings
    ) -> None:
        self.documents = documents
        self.vectors = vectors
        self.embeddings = embeddings

    def index(self, user_id: str, documents: Sequence[Document]) -> list[Document]:
        """Make documents recallable; ones already indexed are skipped. Returns the new ones."""
        known = self.documents.get(user_id, [d.doc_id for d in documents])
        fresh = [d for d in documents if d.doc_id not in known]
        if not fresh:
            return []
        # Vectors first: if embedding fails nothing is half-indexed, and upserts are idempotent.
        vectors = self.embeddings.embed_documents([d.text for d in fresh])
        self.vectors.add(user_id, [d.doc_id for d in fresh], vectors)
        return self.documents.add(user_id, fresh)

    def recall(
        self, user_id: str, query: str, k: int, *, exclude: frozenset[str] = frozenset()
    ) -> list[Recollection]:
        """Up to ``k`` recollections for ``query``, best first, skipping doc ids in ``exclude``."""
        pool = k * CANDIDATE_FACTOR + len(exclude)
        dense = self.vectors.search(user_id, self.embeddings.embed_query(query), pool)
        sparse = self.documents.search(user_id, query, pool)
        fused = reciprocal_rank_fusion([[i for i, _ in dense], [i for i, _ in sparse]])
        ranked = [(doc_id, score) for doc_id, score in fused if doc_id not in exclude]
        found = self.documents.get(user_id, [doc_id for doc_id, _ in ranked[: k * 2]])
        recollections: list[Recollection] = []
        seen_texts: set[str] = set()
        for doc_id, score in ranked:
            doc = found.get(doc_id)
            if doc is None or doc.text.casefold() in seen_texts:
                continue
            seen_texts.add(doc.text.casefold())
            recollections.append(
                Recollection(
                    id=doc.doc_id,
                    text=doc.text,
                    kind=doc.kind,
                    score=score,
                    source_ids=doc.source_ids,
                    created_at=doc.created_at,
                )
            )
            if len(recollections) == k:
                break
        return recollections

    def delete(self, user_id: str, doc_ids: Sequence[str] | None = None) -> int:
        """Forget documents by id (every one of the user's when None); returns how many."""
        self.vectors.delete(user_id, doc_ids)
        return self.documents.delete(user_id, doc_ids)
