"""The parts an ``AsyncAssistant`` runs on, and the embedded defaults built from ``Settings``.

``build_components`` does all the building (and the I/O it takes: the data directory, the
database, the model); ``AsyncAssistant(parts)`` only holds what it is given.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from langchain_core.embeddings import Embeddings

from confidante.agent.background import BackgroundWork
from confidante.agent.learning import Learner
from confidante.config import Settings
from confidante.database import Database, WriterLock, make_private_dir
from confidante.encryption import open_database
from confidante.errors import DataDirNotWritableError, InvalidInputError
from confidante.extraction.base import FactExtractor
from confidante.extraction.llm import LLMFactExtractor
from confidante.extraction.manner import MannerReader
from confidante.graph.knowledge import KnowledgeGraph
from confidante.graph.store import FactStore
from confidante.llm.adapters import UserAdapters
from confidante.llm.base import AdapterLoadingLLM, ChatLLM
from confidante.memory.documents import DocumentStore
from confidante.memory.journal import Journal
from confidante.memory.retrieval import HybridMemory
from confidante.memory.vector import VectorIndex
from confidante.training.distill import Distiller


@dataclass(kw_only=True)
class Components:
    """Everything an assistant uses, built and ready.

    ``database`` is closed by the assistant, and so is ``owned_llm`` (the model, when it was
    built for the assistant rather than passed in), and so is ``background`` (the worker
    processes that extract and export, when the settings ask for them). Without a
    ``distiller``, ``forget`` has no training batches to rewrite; without ``user_adapters``,
    no turn uses a user's adapter. ``writer_lock`` is released by the assistant when it closes.
    """

    settings: Settings
    llm: ChatLLM
    journal: Journal
    memory: HybridMemory
    graph: KnowledgeGraph
    learner: Learner
    database: Database | None = None
    distiller: Distiller | None = None
    user_adapters: UserAdapters | None = None
    owned_llm: ChatLLM | None = None
    background: BackgroundWork | None = None
    writer_lock: WriterLock | None = None


def ensure_writable(data_dir: Path) -> Path:
    """Create ``data_dir`` if needed, for its owner only (0700), and prove it can be written.

    An existing data dir is narrowed to 0700 too: it holds people's life stories.
    """
    try:
        make_private_dir(data_dir)
        probe = data_dir / ".write-test"
        probe.write_text("ok")
        probe.unlink()
    except OSError as exc:
        raise DataDirNotWritableError(
            f"Cannot write to the data directory {data_dir} ({exc.strerror or exc}); pass a "
            "writable data_dir or set CONFIDANTE_DATA_DIR."
        ) from exc
    return data_dir


def _default_embeddings(settings: Settings) -> Embeddings:
    from confidante.memory.embeddings import SentenceTransformerEmbeddings

    return SentenceTransformerEmbeddings(settings.embedding_model_dir)


def _default_vectors(root: Path, cached_users: int) -> VectorIndex:
    from confidante.memory.chroma import ChromaVectorIndex

    return ChromaVectorIndex(root / "chroma", cached_users=cached_users)


def _default_extractor() -> FactExtractor:
    from confidante.extraction.base import ExtractorChain
    from confidante.extraction.events import EventExtractor
    from confidante.extraction.rules import RuleExtractor

    return ExtractorChain(RuleExtractor(), EventExtractor())


def _reads_manner(settings: Settings, embeddings: Embeddings) -> bool:
    """Manner is read by meaning: not with an embedder that says its vectors have none."""
    return settings.read_manner and getattr(embeddings, "semantic", True)


def build_components(
    settings: Settings,
    *,
    llm: ChatLLM | None = None,
    embeddings: Embeddings | None = None,
    vectors: VectorIndex | None = None,
    extractor: FactExtractor | None = None,
    extraction_llm: ChatLLM | None = None,
) -> Components:
    """The parts of an assistant on embedded stores under ``settings.data_dir``.

    Parts not passed are the embedded defaults (see ``AsyncAssistant.open``).
    """
    if extraction_llm is not None and settings.fact_extractor != "llm":
        raise InvalidInputError(
            "extraction_llm is used only for LLM fact extraction; pass settings with "
            'fact_extractor="llm" (or set CONFIDANTE_FACT_EXTRACTOR=llm).'
        )
    root = ensure_writable(settings.resolved_data_dir())
    writer_lock = WriterLock.acquire(root)
    try:
        return _build(
            settings, root, writer_lock, llm, embeddings, vectors, extractor, extraction_llm
        )
    except BaseException:
        writer_lock.release()
        raise


def _build(
    settings: Settings,
    root: Path,
    writer_lock: WriterLock,
    llm: ChatLLM | None,
    embeddings: Embeddings | None,
    vectors: VectorIndex | None,
    extractor: FactExtractor | None,
    extraction_llm: ChatLLM | None,
) -> Components:
    owned_llm = None
    if llm is None:
        from confidante.llm.factory import open_llm

        llm = owned_llm = open_llm(settings)
    embeddings = _default_embeddings(settings) if embeddings is None else embeddings
    vectors = _default_vectors(root, settings.cached_users) if vectors is None else vectors
    background = None
    if extractor is None:
        extractor = _default_extractor()
        if settings.background_processes:
            # Only the default moves to other processes: it keeps no state between calls,
            # which a caller's extractor may.
            extractor = background = BackgroundWork(
                settings,
                extractor=extractor,
                processes=settings.background_processes,
                niceness=settings.background_niceness,
            )
    llm_extractor = (
        LLMFactExtractor(extraction_llm or llm, fallback=extractor)
        if settings.fact_extractor == "llm"
        else None
    )
    database = open_database(settings, root)
    journal = Journal(database)
    cached = settings.cached_users
    memory = HybridMemory(DocumentStore(database), vectors, embeddings, cached_users=cached)
    graph = KnowledgeGraph(FactStore(database), cached_users=cached)
    personal = settings.personal_adapters and isinstance(llm, AdapterLoadingLLM)
    return Components(
        settings=settings,
        llm=llm,
        journal=journal,
        memory=memory,
        graph=graph,
        learner=Learner(
            memory=memory,
            graph=graph,
            extractor=extractor,
            llm_extractor=llm_extractor,
            manner=MannerReader(embeddings) if _reads_manner(settings, embeddings) else None,
        ),
        database=database,
        distiller=Distiller(database=database, settings=settings),
        user_adapters=UserAdapters(settings) if personal else None,
        owned_llm=owned_llm,
        background=background,
        writer_lock=writer_lock,
    )
