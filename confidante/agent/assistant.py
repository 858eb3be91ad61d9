"""The assistant: the turn loop over memory, graph and model. Async core; see ``sync.py``."""

from __future__ import annotations

import asyncio
import json
import logging
import weakref
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Self

from langchain_core.embeddings import Embeddings

from confidante.agent.components import Components, build_components
from confidante.agent.export import export_user
from confidante.agent.learning import FACT_PREFIX, fact_doc_id, message_doc_id
from confidante.agent.prompt import Prompt, build_prompt
from confidante.agent.reader import current_facts, require_user
from confidante.config import Settings
from confidante.errors import (
    InvalidInputError,
    InvalidMessageError,
    InvalidRatingError,
    UnknownMemoryError,
    UnknownPreferenceError,
)
from confidante.extraction.base import FactExtractor
from confidante.graph.expansion import related_sources
from confidante.graph.schema import FactCandidate, is_reply_preference
from confidante.llm.base import (
    AdapterLoadingLLM,
    ChatLLM,
    CheckableLLM,
    Completion,
    LoadableLLM,
    PrefixCachingLLM,
    StreamingLLM,
    TokenCounter,
    approximate_tokens,
)
from confidante.memory.documents import Document
from confidante.memory.vector import VectorIndex
from confidante.records import (
    ChatMessages,
    Fact,
    Feedback,
    Message,
    MessageInput,
    Profile,
    Rating,
    Recollection,
    Reply,
    coerce_messages,
    new_id,
    stamp,
    utc_now,
    valid_unicode,
    validate_id,
    validate_user_id,
)
from confidante.training.forget import forget_user_adapters

# Leads the turn when its message shows distress or frustration, in the person's voice like
# the rest of the context there.
MOOD_NOTE = (
    "I am upset or frustrated right now: begin by acknowledging how I feel in one kind "
    "sentence, then help."
)
# Why a preference the person removed is closed (``Fact.closed_by``).
REMOVED_BY_USER = "removed by the user"

# Source messages of the graph's facts about the people a query names, ranked with the rest.
RELATED_LIMIT = 150
logger = logging.getLogger("confidante.agent")


def count_within(
    value: object,
    name: str,
    most: int,
    setting: str,
    error: type[InvalidInputError] = InvalidInputError,
) -> int:
    """``value`` if an integer from 1 to ``most`` (``CONFIDANTE_<setting>``); else ``error``."""
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= most:
        raise error(
            f"{name} must be an integer from 1 to {most} (CONFIDANTE_{setting}); got {value!r}."
        )
    return value


class AsyncAssistant:
    """A personal assistant that remembers each user; every method is a coroutine."""

    def __init__(self, parts: Components) -> None:
        """Run on ``parts`` as they are: nothing is built or read here (``open`` does both)."""
        self.settings = parts.settings
        self.llm = parts.llm
        self.journal = parts.journal
        self.memory = parts.memory
        self.graph = parts.graph
        self.learner = parts.learner
        self.distiller = parts.distiller
        self._database = parts.database
        self._owned_llm = parts.owned_llm  # built for this assistant, so closed by it
        self._user_adapters = parts.user_adapters
        self._background = parts.background
        self._writer_lock = parts.writer_lock
        # Decided once: a runtime Protocol check costs more than a prompt's other bookkeeping.
        self._profile_first = (
            isinstance(self.llm, PrefixCachingLLM) and self.llm.prefix_caching
            if self.settings.prompt_layout == "auto"
            else self.settings.prompt_layout == "profile_first"
        )
        self._count_tokens = (
            self.llm.count_tokens if isinstance(self.llm, TokenCounter) else approximate_tokens
        )
        # One learner at a time per user keeps graph reconciliation ordered.
        # Held only while in use, so users never served again leave nothing behind.
        self._user_locks: weakref.WeakValueDictionary[str, asyncio.Lock] = (
            weakref.WeakValueDictionary()
        )
        self._learning = ThreadPoolExecutor(max_workers=1, thread_name_prefix="confidante-learn")

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
        """Open (or create) an assistant on embedded stores under ``data_dir``.

        Components not passed are the embedded defaults: Chroma, the packaged embedder, the
        prepared SmolLM2 with transformers, the rule-based fact extractor. With
        ``Settings.fact_extractor="llm"``, facts are also extracted by ``extraction_llm``
        (default: ``llm``), one call per batch of turns. The parts are built by
        ``build_components``; then the turns a crash left unlearned are learned (``recover``).
        """
        settings = settings or Settings()
        if data_dir is not None:
            settings = settings.model_copy(update={"data_dir": Path(data_dir)})
        parts = build_components(
            settings,
            llm=llm,
            embeddings=embeddings,
            vectors=vectors,
            extractor=extractor,
            extraction_llm=extraction_llm,
        )
        assistant = cls(parts)
        assistant.recover()
        return assistant

    async def _learn(self, user_id: str, stored: list[Message]) -> None:
        """Learn from stored messages; the LLM step (if any) never raises, so turns are kept."""
        extracted = await self.learner.extract(stored)
        # Extraction rules and embedding can take seconds for a large import: in the event
        # loop, every other request would wait that long. One thread learns, in call order,
        # as the event loop did; the user's lock keeps their turns in order.
        await asyncio.get_running_loop().run_in_executor(
            self._learning, self._learn_now, user_id, stored, extracted
        )

    def _learn_now(
        self,
        user_id: str,
        stored: list[Message],
        extracted: dict[str, list[FactCandidate]] | None = None,
    ) -> None:
        self.learner.learn(user_id, stored, extracted)
        self.journal.learned(user_id, [m.id for m in stored if m.id])

    def recover(self) -> None:
        """Learn from turns stored before a crash that came before their learning (rules only).

        ``open`` calls it; an assistant constructed from parts calls it before its first turn.
        """
        for user_id, messages in self.journal.unlearned().items():
            try:
                self._learn_now(user_id, messages)
            except Exception:  # still marked: retried on the next open
                logger.exception("Learning from %d stored messages failed", len(messages))

    def _lock(self, user_id: str) -> asyncio.Lock:
        return self._user_locks.setdefault(user_id, asyncio.Lock())

    def _messages(self, messages: Iterable[MessageInput]) -> list[Message]:
        return coerce_messages(
            messages,
            max_chars=self.settings.max_message_chars,
            max_count=self.settings.max_messages_per_call,
        )

    def _split_turn(
        self, user_id: str, messages: Iterable[MessageInput]
    ) -> tuple[str, list[Message], list[Message]]:
        """Validate; split into the conversation so far and this turn (stamped with ids)."""
        user_id = validate_user_id(user_id)
        given = self._messages(messages)
        split = max((i + 1 for i, m in enumerate(given) if m.role == "assistant"), default=0)
        now = utc_now()
        earlier, turn = given[:split], [stamp(m, default_time=now) for m in given[split:]]
        if not any(m.role == "user" for m in turn):
            raise InvalidMessageError("The last turn has no user message; end with a user message.")
        return user_id, earlier, turn

    async def _prompt(self, user_id: str, earlier: list[Message], turn: list[Message]) -> Prompt:
        """Retrieve profile, recollections and history, and fit them into the prompt."""
        # A long message's question is most often at its end; ranking the whole of one at the
        # message limit would cost far more than its last query's worth says.
        query = next(m.content for m in reversed(turn) if m.role == "user")
        query = query[-self.settings.max_query_chars :]
        history = earlier or self.journal.recent_messages(user_id, self.settings.history_messages)
        profile = self._profile_context(user_id)
        # What the prompt already holds (history, profile facts) is not recalled twice.
        in_prompt = frozenset(
            [message_doc_id(m.id) for m in history if m.id] + [r.id for r in profile]
        )
        recollections = await self._recall(user_id, query, self.settings.recall_k, in_prompt)
        manner = self.learner.manner
        # An embedding: off the event loop, as recall's is.
        distressed = (
            manner is not None and await asyncio.to_thread(manner.distress, query) is not None
        )
        return build_prompt(
            system_prompt=self.settings.system_prompt,
            profile=profile,
            recollections=recollections,
            history=history[-self.settings.history_messages :],
            turn=turn,
            budget=self.settings.context_token_budget,
            count_tokens=self._count_tokens,
            profile_first=self._profile_first,
            preferences=[f.object for f in self._preference_facts(user_id)],
            mood_note=MOOD_NOTE if distressed else None,
        )

    def _record(
        self, user_id: str, turn: list[Message], prompt: Prompt, completion: Completion
    ) -> Reply:
        """Store the reply and exactly what went into it as one interaction."""
        reply = Message(
            role="assistant", content=completion.text, id=new_id("msg"), created_at=utc_now()
        )
        interaction_id = new_id("int")
        self.journal.add_interaction(
            interaction_id=interaction_id,
            user_id=user_id,
            created_at=turn[0].created_at or utc_now(),
            request_ids=[m.id for m in turn if m.id],
            reply=reply,
            context=prompt.context,
            prompt=prompt.messages,
            model=completion.model,
        )
        assert reply.id is not None
        return Reply(
            content=completion.text,
            interaction_id=interaction_id,
            context=prompt.context,
            message_id=reply.id,
            finish_reason="length" if completion.finish_reason == "length" else "stop",
            prompt_tokens=completion.prompt_tokens,
            completion_tokens=completion.completion_tokens,
        )

    async def chat(
        self,
        user_id: str,
        messages: Iterable[MessageInput],
        *,
        max_tokens: int | None = None,
    ) -> Reply:
        """Answer the conversation's last turn with what is remembered about ``user_id``.

        ``messages`` is OpenAI-style. The messages after the last assistant message are this
        turn: they are recorded and learned from. Earlier ones are the conversation so far;
        when there are none, recent history comes from memory. ``max_tokens`` caps this
        reply (default ``Settings.max_new_tokens``).
        """
        user_id, earlier, turn = self._split_turn(user_id, messages)
        limit = self._max_tokens(max_tokens)
        async with self._lock(user_id):
            prompt = await self._prompt(user_id, earlier, turn)
            # The person's words are kept and learned from even if generation fails.
            stored = self.journal.add_messages(user_id, turn)
            try:
                llm = await self._llm_for(user_id)
                completion = await llm.generate(
                    prompt.messages, max_tokens=limit, temperature=self.settings.temperature
                )
            finally:
                await self._learn(user_id, stored)
            return self._record(user_id, turn, prompt, completion)

    async def chat_stream(
        self,
        user_id: str,
        messages: Iterable[MessageInput],
        *,
        max_tokens: int | None = None,
    ) -> AsyncGenerator[str | Reply, None]:
        """Like ``chat``, but yield the reply's text as it is generated, then the ``Reply``.

        Every item but the last is a text delta; the last is the recorded ``Reply``. Bad input
        raises on the first iteration, before anything is stored.
        """
        user_id, earlier, turn = self._split_turn(user_id, messages)
        limit = self._max_tokens(max_tokens)
        async with self._lock(user_id):
            prompt = await self._prompt(user_id, earlier, turn)
            stored = self.journal.add_messages(user_id, turn)
            parts: list[str] = []
            llm = self.llm
            try:
                llm = await self._llm_for(user_id)
                async for delta in self._generate_stream(llm, prompt.messages, limit):
                    parts.append(delta)
                    yield delta
            finally:
                await self._learn(user_id, stored)
            completion = self._streamed(llm, prompt, parts, limit)
            yield self._record(user_id, turn, prompt, completion)

    def _streamed(self, llm: ChatLLM, prompt: Prompt, parts: list[str], limit: int) -> Completion:
        """A streamed reply as a completion; token counts are this assistant's own count."""
        text = "".join(parts).strip()
        used = self._count_tokens(text) if text else 0
        return Completion(
            text=text,
            model=llm.model_name,
            prompt_tokens=sum(self._count_tokens(m["content"]) for m in prompt.messages),
            completion_tokens=used,
            finish_reason="length" if used >= limit else "stop",
        )

    def _max_tokens(self, requested: int | None) -> int:
        if requested is None:
            return self.settings.max_new_tokens
        if isinstance(requested, bool) or not isinstance(requested, int) or requested < 1:
            raise InvalidInputError(f"max_tokens must be a positive integer; got {requested!r}.")
        return requested

    async def _generate_stream(
        self, llm: ChatLLM, messages: ChatMessages, max_tokens: int
    ) -> AsyncIterator[str]:
        options = {"max_tokens": max_tokens, "temperature": self.settings.temperature}
        if isinstance(llm, StreamingLLM):
            async for delta in llm.stream(messages, **options):
                yield delta
        else:  # a backend without streaming: the whole reply is one delta
            yield (await llm.generate(messages, **options)).text

    async def _llm_for(self, user_id: str) -> ChatLLM:
        """The user's own LoRA adapter, where the backend loads adapters; else the model."""
        if self._user_adapters is None or not isinstance(self.llm, AdapterLoadingLLM):
            return self.llm
        folder = self._user_adapters.for_user(user_id)
        return self.llm if folder is None else await self.llm.load_adapter(folder.name, folder)

    async def observe(self, user_id: str, messages: Iterable[MessageInput]) -> list[str]:
        """Record and learn from conversation without replying (e.g. importing history).

        Caller-supplied ``id``, ``name`` and ``created_at`` are kept; messages whose id is
        already stored are skipped, so importing twice is harmless. Returns the stored ids.
        """
        user_id = validate_user_id(user_id)
        now = utc_now()
        given = [stamp(m, default_time=now) for m in self._messages(messages)]
        async with self._lock(user_id):
            stored = self.journal.add_messages(user_id, given)
            await self._learn(user_id, stored)
        return [m.id for m in stored if m.id]

    async def recall(self, user_id: str, query: str, k: int = 10) -> list[Recollection]:
        """The ``k`` memories that best fit ``query``, each with the ids of its source messages."""
        user_id = validate_user_id(user_id)
        if not isinstance(query, str) or not query.strip():
            raise InvalidMessageError("query must be a non-empty string.")
        limit = self.settings.max_query_chars
        if len(query) > limit:
            raise InvalidMessageError(
                f"query has {len(query)} characters, over the limit of {limit}; shorten it or "
                "raise CONFIDANTE_MAX_QUERY_CHARS."
            )
        valid_unicode(query, "query")
        k = count_within(k, "k", self.settings.max_recall_k, "MAX_RECALL_K", InvalidMessageError)
        return await self._recall(user_id, query, k, frozenset())

    async def _recall(
        self, user_id: str, query: str, k: int, exclude: frozenset[str]
    ) -> list[Recollection]:
        # Ranking runs here: a few milliseconds of Python under the GIL, which a worker thread
        # could not run alongside and whose hand-over costs more than the work (bench/serving.py).
        # The query's embedding is the heavy part; arecall hands it to the embedder's own
        # async path (a worker thread, where the model releases the GIL).
        related = related_sources(self.graph, user_id, query, limit=RELATED_LIMIT)
        found = await self.memory.arecall(user_id, query, k, exclude=exclude, related=related)
        return [self._with_validity(user_id, r) for r in found]

    def _with_validity(self, user_id: str, recollection: Recollection) -> Recollection:
        """Mark a recalled fact that newer information has replaced."""
        if recollection.kind != "fact":
            return recollection
        fact = self.graph.fact(user_id, recollection.id.removeprefix(FACT_PREFIX))
        if fact is None or fact.valid_to is None:
            return recollection
        text = f"{recollection.text} (until {fact.valid_to:%Y-%m-%d})"
        return recollection.model_copy(update={"text": text})

    def _preference_facts(self, user_id: str) -> list[Fact]:
        """The user's current instructions about replies, oldest first (a stable prefix)."""
        return [
            f
            for f in self.graph.facts(user_id, current_only=True)
            if is_reply_preference(f.predicate)
        ]

    def _profile_context(self, user_id: str) -> list[Recollection]:
        facts = [
            f for f in current_facts(self.graph, user_id) if not is_reply_preference(f.predicate)
        ]
        return [
            Recollection(
                id=fact_doc_id(f.id),
                text=f.statement,
                kind="profile",
                score=f.confidence,
                source_ids=f.source_ids,
                created_at=f.valid_from,
            )
            for f in facts
        ]

    def _require_user(self, user_id: str) -> str:
        return require_user(self.journal, self.graph, user_id)

    async def profile(self, user_id: str) -> Profile:
        """The current facts about ``user_id`` (``UnknownUserError`` if nothing is stored)."""
        user_id = self._require_user(user_id)
        return Profile(user_id=user_id, facts=current_facts(self.graph, user_id))

    async def rate(self, feedback: Feedback) -> Rating:
        """Record feedback on a reply; ratings feed fine-tuning batches (``confidante distill``).

        ``Feedback`` holds the score and/or thumbs, comment, correction and source; with its
        ``user_id``, only that user's interactions can be rated.
        """
        if not isinstance(feedback, Feedback):
            raise InvalidRatingError(
                f"rate takes a confidante.Feedback, not a {type(feedback).__name__}; "
                "pass Feedback(interaction_id=..., score=...)."
            )
        feedback.check_length(self.settings.max_message_chars)
        owner = self.journal.interaction_user(feedback.interaction_id, of_user=feedback.user_id)
        rating = Rating(
            interaction_id=feedback.interaction_id,
            user_id=owner,
            score=feedback.score,
            thumbs=feedback.thumbs,
            comment=feedback.comment,
            correction=feedback.correction,
            source=feedback.source,
            created_at=utc_now(),
        )
        self.journal.add_rating(rating)
        # Embedding and graph writes belong to the learning thread, in order with the turns.
        await asyncio.get_running_loop().run_in_executor(
            self._learning, self._learn_preferences_from, rating
        )
        return rating

    def _learn_preferences_from(self, rating: Rating) -> None:
        """Instructions about replies in a rating's comment become preferences at once."""
        manner = self.learner.manner
        if manner is None or not rating.comment:
            return
        found = [
            self.learner.instruction_observation(i, rating.interaction_id, rating.created_at)
            for i in manner.instructions(rating.comment)
        ]
        if found:
            self.graph.learn(rating.user_id, found)

    async def preferences(self, user_id: str) -> list[Fact]:
        """How ``user_id`` asked to be answered: current ``reply_*`` facts, oldest first.

        Each came from the user's message (or a rating's comment, then its source is the
        interaction id) and is applied to every later prompt until replaced or removed.
        """
        user_id = validate_user_id(user_id)
        return self._preference_facts(user_id)

    async def remove_preference(self, user_id: str, preference_id: str) -> Fact:
        """Stop applying one preference; it is closed, kept as history, and returned."""
        user_id = validate_user_id(user_id)
        preference_id = validate_id(preference_id, "preference_id")
        fact = self.graph.fact(user_id, preference_id)
        closed = (
            self.graph.retire(user_id, preference_id, at=utc_now(), reason=REMOVED_BY_USER)
            if fact is not None and is_reply_preference(fact.predicate)
            else None
        )
        if closed is None:
            raise UnknownPreferenceError(
                f"User {user_id!r} has no current preference {preference_id!r}; "
                "list them with preferences()."
            )
        return closed

    async def set_training_opt_out(self, user_id: str, opted_out: bool) -> None:
        """Keep ``user_id``'s interactions out of training batches from now on (or let them in).

        Batches written before opting out are not changed; ``forget`` removes those rows too.
        """
        user_id = validate_user_id(user_id)
        if not isinstance(opted_out, bool):
            raise InvalidInputError(f"opted_out must be True or False; got {opted_out!r}.")
        self.journal.set_training_opt_out(user_id, opted_out, at=utc_now())

    async def memories(
        self, user_id: str, *, limit: int | None = None, after: str | None = None
    ) -> list[Recollection]:
        """The memories held for ``user_id`` (messages and facts), oldest first.

        Every one by default; with ``limit``, at most that many (up to
        ``Settings.max_page_size``), those after the memory id ``after`` when it is given:
        pass the last id of one page to get the next.
        """
        user_id = validate_user_id(user_id)
        if limit is None and after is None:
            documents = self.memory.documents.all(user_id)
        else:
            documents = self._memory_page(user_id, limit, after)
        return [
            self._with_validity(
                user_id,
                Recollection(
                    id=d.doc_id,
                    text=d.text,
                    kind=d.kind,
                    score=1.0,
                    source_ids=d.source_ids,
                    created_at=d.created_at,
                ),
            )
            for d in documents
        ]

    def _memory_page(self, user_id: str, limit: int | None, after: str | None) -> list[Document]:
        most = self.settings.max_page_size
        limit = count_within(most if limit is None else limit, "limit", most, "MAX_PAGE_SIZE")
        if after is not None:
            after = validate_id(after, "after")
        page = self.memory.documents.page(user_id, after=after, limit=limit)
        if page is None:
            raise UnknownMemoryError(
                f"User {user_id!r} has no memory with id {after!r} to list the memories after."
            )
        return page

    async def delete_memory(self, user_id: str, memory_id: str) -> None:
        """Delete one memory; a fact memory leaves the profile too.

        The transcript in the journal is kept (it is the record of past interactions) until
        ``forget``; the memory is no longer recalled or shown.
        """
        user_id = validate_user_id(user_id)
        memory_id = validate_id(memory_id, "memory_id")
        async with self._lock(user_id):
            removed = await asyncio.to_thread(self.memory.delete, user_id, [memory_id])
            if memory_id.startswith(FACT_PREFIX):
                removed += self.graph.remove(user_id, memory_id.removeprefix(FACT_PREFIX))
        if not removed:
            raise UnknownMemoryError(
                f"User {user_id!r} has no memory with id {memory_id!r}; list them with memories()."
            )

    async def forget(self, user_id: str) -> None:
        """Erase everything about ``user_id`` from every store, training batch and adapter.

        LoRA adapters trained on the user's rows are deleted, shared ones included (see
        ``forget_user_adapters``): retrain them from the rewritten batches. A vLLM server that
        loaded one keeps it in memory until restarted, but no turn is routed to it any more.
        """
        user_id = validate_user_id(user_id)
        async with self._lock(user_id):
            if self.distiller is not None:  # first: if it fails, forget can be retried
                await asyncio.to_thread(self.distiller.forget, user_id)
            # After the batches, so no run started from here on trains on the user's rows.
            await asyncio.to_thread(forget_user_adapters, self.settings, user_id)
            if self._user_adapters is not None:
                self._user_adapters.refresh()
            await asyncio.to_thread(self.memory.delete, user_id)
            self.graph.forget(user_id)
            self.journal.delete_user(user_id)
            if self._database is not None:
                self._database.checkpoint()
                # Last, once nothing is left to read with it: copies of the user's rows in
                # backups stay ciphertext for good (a no-op without encryption).
                self._database.sealer.erase(user_id)

    async def export(self, user_id: str) -> dict[str, Any]:
        """Everything held about ``user_id``, as JSON-ready data."""
        user_id = self._require_user(user_id)
        # A long history takes a while to gather: in a thread, other requests go on meanwhile.
        return await asyncio.to_thread(self._gather_export, user_id)

    def _gather_export(self, user_id: str) -> dict[str, Any]:
        return export_user(
            user_id,
            journal=self.journal,
            graph=self.graph,
            documents=self.memory.documents,
            at=utc_now(),
        )

    async def export_json(self, user_id: str) -> bytes:
        """``export`` as UTF-8 JSON, made in a background process when there is one.

        Gathering and encoding a long history is seconds of pure Python: in a thread of this
        process it would take the interpreter from every other request meanwhile.
        """
        user_id = self._require_user(user_id)

        def here() -> bytes:
            return json.dumps(self._gather_export(user_id), ensure_ascii=False).encode()

        if self._background is None:
            return await asyncio.to_thread(here)
        return await self._background.export_json(user_id, here)

    @property
    def model_name(self) -> str:
        """The name of the model that generates replies."""
        return self.llm.model_name

    def start_background(self) -> None:
        """Start the background processes now, if the settings ask for any (blocks a second).

        A server does, so that its first large request does not wait for one to start.
        """
        if self._background is not None:
            self._background.start()

    async def warm_up(self, progress: Callable[[str], None] | None = None) -> None:
        """Get the models ready now rather than during the first reply.

        The embedder encodes a word (loading it, if it loads on first use); a model loaded in
        this process is loaded; a model server is asked whether it answers
        (``BackendUnavailableError`` if not). ``progress`` hears each step as it starts.
        """
        say = progress or (lambda step: None)
        if self._background is not None:
            say("Starting the background processes...")
            await asyncio.to_thread(self.start_background)
        say("Loading the embedder...")
        await asyncio.to_thread(self.memory.embeddings.embed_query, "hello")
        if self.learner.manner is not None:
            await asyncio.to_thread(self.learner.manner.warm_up)
        if isinstance(self.llm, LoadableLLM):
            say(f"Loading the model ({self.llm.model_name})...")
            await self.llm.load()
        elif isinstance(self.llm, CheckableLLM):
            say(f"Asking the model server for {self.llm.model_name}...")
            await self.llm.check()

    async def close(self) -> None:
        """Flush and close the stores."""
        await asyncio.to_thread(self._learning.shutdown)  # learning under way ends first
        if self._background is not None:
            await asyncio.to_thread(self._background.close)
        await asyncio.to_thread(self.memory.close)  # writes vectors still buffered
        closer = getattr(self._owned_llm, "aclose", None)
        self._owned_llm = None
        if closer is not None:
            await closer()  # the model server's connections, or an in-process engine
        if self._database is not None:
            self._database.checkpoint()
            self._database.close()
            self._database = None
        if self._writer_lock is not None:
            self._writer_lock.release()  # last: the next writer finds every file complete
            self._writer_lock = None

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
