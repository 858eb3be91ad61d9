"""``Assistant``: the synchronous face of ``AsyncAssistant``, one event loop per instance."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Self

from langchain_core.embeddings import Embeddings

from confidante.agent.assistant import AsyncAssistant
from confidante.blocking import Blocking
from confidante.config import Settings
from confidante.extraction.base import FactExtractor
from confidante.llm.base import ChatLLM
from confidante.memory.vector import VectorIndex


class Assistant(Blocking[AsyncAssistant]):
    """Blocking wrapper: each method runs the ``AsyncAssistant`` coroutine of the same name."""

    @classmethod
    def open(
        cls,
        data_dir: Path | str | None = None,
        settings: Settings | None = None,
        *,
        llm: ChatLLM | None = None,
        embeddings: Embeddings | None = None,
        vectors: VectorIndex | None = None,
        extractor: FactExtractor | None = None,
        extraction_llm: ChatLLM | None = None,
    ) -> Self:
        """Open an assistant on embedded stores; see ``AsyncAssistant.open``."""
        return cls(
            AsyncAssistant.open(
                data_dir,
                settings,
                llm=llm,
                embeddings=embeddings,
                vectors=vectors,
                extractor=extractor,
                extraction_llm=extraction_llm,
            )
        )

    @property
    def model_name(self) -> str:
        """See ``AsyncAssistant.model_name``."""
        return self.inner.model_name

    def warm_up(self, progress: Callable[[str], None] | None = None) -> None:
        """See ``AsyncAssistant.warm_up``."""
        self._run(self.inner.warm_up(progress))

    def export_json(self, user_id: str) -> bytes:
        """See ``AsyncAssistant.export_json``."""
        return self._run(self.inner.export_json(user_id))

    def set_training_opt_out(self, user_id: str, opted_out: bool) -> None:
        """See ``AsyncAssistant.set_training_opt_out``."""
        self._run(self.inner.set_training_opt_out(user_id, opted_out))
