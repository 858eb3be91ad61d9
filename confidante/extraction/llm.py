"""Fact extraction with an LLM: one call per batch of turns, merged with the rules' facts.

Where the backend can constrain decoding to a JSON schema (``StructuredLLM``), that is used.
Otherwise the reply is read leniently and, if unreadable, the model is asked once to repair
it; if that fails too, or the backend raises, the batch gets the deterministic facts only
and a warning is logged. Extraction never raises because of the model.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Sequence

from confidante.errors import ExtractionError
from confidante.extraction.base import FactExtractor
from confidante.extraction.llm_prompt import (
    ExtractedFact,
    Turn,
    extraction_prompt,
    facts_schema,
    read_facts,
    repair_prompt,
)
from confidante.graph.schema import PREDICATES, FactCandidate
from confidante.llm.base import ChatLLM, StructuredLLM
from confidante.records import ChatMessages

logger = logging.getLogger(__name__)

FactsByMessage = dict[str, list[FactCandidate]]
# Words a model uses for the speaker of a turn; they become the turn's speaker entity.
_SPEAKER_WORDS = frozenset(
    ["i", "me", "my", "myself", "mine", "speaker", "the speaker", "user", "the user"]
)
# Predicates whose role the graph keeps (kinship, "best friend", a pet's species).
_ROLE_PREDICATES = frozenset(["family", "friend", "pet"])
_WORD = re.compile(r"\w+")


def _key(fact: FactCandidate) -> tuple[object, ...]:
    return (
        fact.subject.casefold(),
        fact.predicate,
        fact.object.casefold(),
        fact.role,
        fact.negated,
    )


def _grounded(value: str, text_words: set[str]) -> bool:
    """Whether ``value`` shares a word with the turn (a guard against invented facts)."""
    words = [w for w in _WORD.findall(value.casefold()) if len(w) >= 3 or w.isdigit()]
    return any(w in text_words for w in words)


def merge_facts(
    rules: Sequence[FactCandidate], llm: Sequence[FactCandidate]
) -> list[FactCandidate]:
    """The rules' facts, then the LLM's new ones; duplicates and conflicts keep the rules'.

    A duplicate has the same subject, predicate, object (case-folded), role and negation. An
    LLM fact for a single-valued relation the rules already set in the turn is dropped.
    """
    taken = {_key(f) for f in rules}
    settled = {
        (f.subject.casefold(), f.predicate)
        for f in rules
        if PREDICATES[f.predicate].single_valued and not f.negated
    }
    merged = list(rules)
    for fact in llm:
        if _key(fact) in taken or (fact.subject.casefold(), fact.predicate) in settled:
            continue
        taken.add(_key(fact))
        merged.append(fact)
    return merged


class LLMFactExtractor:
    """Finds facts in batches of turns with one model call each, on top of the rules' facts.

    ``fallback`` is the deterministic extractor (rules and events): its facts are always
    kept, and they are the whole result of a batch the model fails on.
    """

    def __init__(
        self,
        llm: ChatLLM,
        *,
        fallback: FactExtractor,
        max_tokens: int = 512,
        tokens_per_turn: int = 64,
        batch_turns: int = 20,
        confidence: float = 0.7,
    ) -> None:
        self.llm = llm
        self.fallback = fallback
        self.max_tokens = max_tokens  # a reply's limit: the smaller of this and the per-turn one
        self.tokens_per_turn = tokens_per_turn
        self.batch_turns = batch_turns  # callers split longer runs of turns into batches
        self.confidence = confidence

    async def extract_batch(self, turns: Sequence[Turn]) -> FactsByMessage:
        """Facts per message id for ``turns``, with at most two model calls (ask, repair)."""
        if not turns:
            return {}
        rules, found = await asyncio.gather(asyncio.to_thread(self._rules, turns), self._ask(turns))
        if found is None:
            return rules
        by_turn: FactsByMessage = {t.message_id: [] for t in turns}
        for item in found:
            turn = turns[item.message_index - 1]
            candidate = self._candidate(item, turn)
            if candidate is not None:
                by_turn[turn.message_id].append(candidate)
        return {mid: merge_facts(rules[mid], by_turn[mid]) for mid in rules}

    def _rules(self, turns: Sequence[Turn]) -> FactsByMessage:
        return {
            t.message_id: self.fallback.extract(t.text, speaker=t.speaker, when=t.when)
            for t in turns
        }

    async def _ask(self, turns: Sequence[Turn]) -> list[ExtractedFact] | None:
        """The model's facts for ``turns``, or None (logged) if it gave none readable."""
        asked = extraction_prompt(turns)
        limit = min(self.max_tokens, 32 + self.tokens_per_turn * len(turns))
        try:
            if isinstance(self.llm, StructuredLLM):
                schema = facts_schema(len(turns))
                reply = await self.llm.generate_json(asked, schema=schema, max_tokens=limit)
                return read_facts(reply.text, len(turns))
            return await self._ask_and_repair(asked, len(turns), limit)
        except Exception as exc:  # any backend failure degrades to the rules' facts
            stage = "unreadable" if isinstance(exc, ExtractionError) else "failed"
            logger.warning(
                "LLM fact extraction %s for %d turn(s) (%s: %s); using the rule-based facts only.",
                stage,
                len(turns),
                type(exc).__name__,
                exc,
            )
            return None

    async def _ask_and_repair(
        self, asked: ChatMessages, count: int, limit: int
    ) -> list[ExtractedFact]:
        reply = await self.llm.generate(asked, max_tokens=limit, temperature=0.0)
        try:
            return read_facts(reply.text, count)
        except ExtractionError as exc:
            repair = repair_prompt(asked, reply.text, exc)
        again = await self.llm.generate(repair, max_tokens=limit, temperature=0.0)
        return read_facts(again.text, count)

    def _candidate(self, item: ExtractedFact, turn: Turn) -> FactCandidate | None:
        """``item`` as a fact of ``turn``: "I" is its speaker; None if not grounded in it."""
        subject = item.subject
        if subject.casefold() in _SPEAKER_WORDS or subject.casefold() == turn.speaker.casefold():
            subject = turn.speaker
        text_words = set(_WORD.findall(turn.text.casefold()))
        if not _grounded(item.object, text_words):
            return None
        if subject != turn.speaker and not _grounded(subject, text_words):
            return None
        role = (item.role or "").strip().lower() or None
        return FactCandidate(
            subject=subject,
            predicate=item.predicate,
            object=" ".join(item.object.split()),
            role=role if item.predicate in _ROLE_PREDICATES else None,
            confidence=self.confidence,
            valid_from=turn.when,
            negated=item.negated,
        )
