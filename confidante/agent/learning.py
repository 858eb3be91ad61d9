"""Learning from a turn: extract facts, reconcile them in the graph, index turn and facts."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime

import numpy as np
from langchain_core.embeddings import Embeddings

from confidante.extraction.answers import ANSWER_WINDOW, Question, answer_facts, question_in
from confidante.extraction.base import FactExtractor
from confidante.extraction.llm import LLMFactExtractor
from confidante.extraction.llm_prompt import Turn
from confidante.extraction.manner import Instruction, MannerReader
from confidante.graph.changes import place_changes
from confidante.graph.knowledge import KnowledgeGraph, Observation
from confidante.graph.schema import (
    CHANGED_TO,
    REPLY_PREFIX,
    SELF,
    FactCandidate,
    is_reply_preference,
)
from confidante.memory.cache import UserCache
from confidante.memory.documents import Document
from confidante.memory.retrieval import HybridMemory
from confidante.records import Fact, Message

QUESTIONS_KEPT = 1024  # users whose open question is remembered (in memory only)
MESSAGE_PREFIX = "msg:"
FACT_PREFIX = "fact:"


def message_doc_id(message_id: str) -> str:
    """The memory document id of a message."""
    return MESSAGE_PREFIX + message_id


def fact_doc_id(fact_id: str) -> str:
    """The memory document id of a graph fact."""
    return FACT_PREFIX + fact_id


def message_document(message: Message) -> Document:
    """A message as recallable text, prefixed by its speaker in multi-party logs."""
    assert message.id is not None
    text = f"{message.name}: {message.content}" if message.name else message.content
    return Document(
        doc_id=message_doc_id(message.id),
        kind="message",
        text=text,
        source_ids=[message.id],
        created_at=message.created_at,
        speaker=message.name,
    )


def fact_document(fact: Fact) -> Document:
    """A fact as recallable text that points back at the messages it came from."""
    return Document(
        doc_id=fact_doc_id(fact.id),
        kind="fact",
        text=fact.statement,
        source_ids=fact.source_ids,
        created_at=fact.valid_from,
    )


def cosines(embeddings: Embeddings, value: str, others: Sequence[str]) -> list[float]:
    """Cosine of ``value``'s embedding with each of ``others``' (0 for an all-zero vector)."""
    vectors = np.asarray(embeddings.embed_documents([value, *others]))
    norms = np.linalg.norm(vectors, axis=1)
    norms[norms == 0] = 1.0
    unit = vectors / norms[:, None]
    return [float(x) for x in unit[1:] @ unit[0]]


def _changing(candidate: FactCandidate) -> bool:
    """Whether placing a candidate depends on what the graph holds (see ``graph.changes``)."""
    return candidate.predicate == CHANGED_TO or candidate.replaces


class Learner:
    """Turns stored messages into graph facts and recallable documents.

    Facts come from ``extractor`` (deterministic, no model), or, with ``llm_extractor``, from
    ``extract`` first: an async step, one model call per batch, before ``learn``. With
    ``manner``, the user's instructions about replies become preferences (``reply_*`` facts).
    """

    def __init__(
        self,
        *,
        memory: HybridMemory,
        graph: KnowledgeGraph,
        extractor: FactExtractor,
        llm_extractor: LLMFactExtractor | None = None,
        manner: MannerReader | None = None,
    ) -> None:
        self.memory = memory
        self.manner = manner
        self.graph = graph
        self.extractor = extractor
        self.llm_extractor = llm_extractor
        # The open question in each user's conversation, for the replies that answer it.
        self._questions: UserCache[Question] = UserCache(QUESTIONS_KEPT)

    async def extract(self, messages: Sequence[Message]) -> dict[str, list[FactCandidate]] | None:
        """Facts per message id found with the LLM extractor, or None when there is none."""
        if self.llm_extractor is None:
            return None
        turns = [
            Turn(message_id=m.id, text=m.content, speaker=m.name or SELF, when=m.created_at)
            for m in messages
            if m.role == "user" and m.id is not None and m.created_at is not None
        ]
        size = max(1, self.llm_extractor.batch_turns)
        found: dict[str, list[FactCandidate]] = {}
        for start in range(0, len(turns), size):
            found |= await self.llm_extractor.extract_batch(turns[start : start + size])
        return found

    def observations(
        self,
        messages: Sequence[Message],
        extracted: Mapping[str, list[FactCandidate]] | None = None,
        *,
        user_id: str | None = None,
    ) -> list[Observation]:
        """Fact candidates from what people said; "I" is the speaker's name, or the user.

        A message's facts in ``extracted`` (from ``extract``) are used instead of the
        deterministic extractor's. With ``user_id``, a question asked of the others in that
        user's conversation ("where is everyone from?") is kept, and short replies after it
        that say nothing by themselves ("Busan") answer it (``extraction.answers``).
        """
        found: list[Observation] = []
        for message in messages:
            if message.role != "user" or message.id is None or message.created_at is None:
                continue
            speaker = message.name or SELF
            candidates = (extracted or {}).get(message.id)
            if candidates is None:
                candidates = self.extractor.extract(
                    message.content, speaker=speaker, when=message.created_at
                )
            if user_id is not None:
                candidates = candidates or self._answered(user_id, message.content, speaker)
            for candidate in candidates:
                found.append(
                    Observation(
                        candidate=candidate, source_id=message.id, said_at=message.created_at
                    )
                )
        return found

    def instructions(self, messages: Sequence[Message]) -> list[Observation]:
        """The user's own instructions about replies, as preferences (none without ``manner``).

        Named speakers in a multi-party log talk to each other, not to the assistant.
        """
        if self.manner is None:
            return []
        return [
            self.instruction_observation(instruction, message.id, message.created_at)
            for message in messages
            if message.role == "user"
            and message.name is None
            and message.id is not None
            and message.created_at is not None
            for instruction in self.manner.instructions(message.content)
        ]

    @staticmethod
    def instruction_observation(
        instruction: Instruction, source_id: str, at: datetime
    ) -> Observation:
        """A reply preference of the user, said (or written in a rating) at ``at``."""
        candidate = FactCandidate(
            subject=SELF,
            predicate=REPLY_PREFIX + instruction.aspect,
            object=instruction.text,
            confidence=round(instruction.score, 3),
        )
        return Observation(candidate=candidate, source_id=source_id, said_at=at)

    def _answered(self, user_id: str, text: str, speaker: str) -> list[FactCandidate]:
        """What ``text`` answers of the open question in the user's conversation, if any."""
        asked = question_in(text, speaker)
        if asked is not None:
            self._questions.put(user_id, asked)
            return []
        question = self._questions.get(user_id)
        if question is None:
            return []
        if question.replies + 1 >= ANSWER_WINDOW:
            self._questions.pop(user_id)
        else:
            self._questions.put(user_id, replace(question, replies=question.replies + 1))
        return answer_facts(question, text, speaker)

    def likeness(self, value: str, others: Sequence[str]) -> list[float]:
        """Cosine of ``value``'s embedding with each of ``others``'."""
        return cosines(self.memory.embeddings, value, others)

    def _reconcile(
        self, user_id: str, said: Sequence[Message], found: list[Observation]
    ) -> list[Fact]:
        """Reconcile ``found`` in the graph, placing changes that name only the new value.

        Those are placed against what the graph holds just before their message, so a batch
        is learned message by message when it has any.
        """
        if not any(_changing(o.candidate) for o in found):
            return self.graph.learn(user_id, found)
        changed: dict[str, Fact] = {}
        for message in said:
            here = [o for o in found if o.source_id == message.id]
            if any(_changing(o.candidate) for o in here):
                placed = place_changes(
                    [o.candidate for o in here],
                    current=self.graph.facts(user_id, current_only=True),
                    text=message.content,
                    likeness=self.likeness,
                )
                here = [
                    Observation(candidate=c, source_id=here[0].source_id, said_at=here[0].said_at)
                    for c in placed
                ]
            changed |= {f.id: f for f in self.graph.learn(user_id, here)}
        return list(changed.values())

    def learn(
        self,
        user_id: str,
        messages: Sequence[Message],
        extracted: Mapping[str, list[FactCandidate]] | None = None,
    ) -> list[Fact]:
        """Learn from newly stored messages; returns the facts created or changed.

        ``extracted`` holds facts already found per message id (see ``extract``).
        """
        said = [m for m in messages if m.role == "user"]
        if not said:
            return []
        found = self.observations(said, extracted, user_id=user_id)
        found += self.instructions(said)
        changed = self._reconcile(user_id, said, found)
        # New facts become extra keys that lead back to their source turns (facts already
        # indexed are skipped by index(); one created and replaced in this batch still counts).
        # Preferences are in every prompt's system text already: not recalled a second time.
        documents = [message_document(m) for m in said] + [
            fact_document(f) for f in changed if not is_reply_preference(f.predicate)
        ]
        self.memory.index(user_id, documents)
        # Facts that newer ones replaced stay recallable as history, ranked after current ones.
        self.memory.retire(
            user_id,
            {
                fact_doc_id(f.id): f.closed_by or ""
                for f in changed
                if not f.is_current and not is_reply_preference(f.predicate)
            },
        )
        return changed
