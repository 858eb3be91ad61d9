"""How the person wants to be answered, and the mood a message shows, read with the embedder.

Both are nearest-example classifiers over the packaged sentence embedder: a sentence takes
the label of the labelled examples (``manner_examples``) it is closest to, when it is close
enough and clearly closer to them than to the examples of anything else. No model call.

A lasting instruction ("keep it short", "don't call me sir", "answer in Portuguese") becomes
a profile preference of its aspect (length, language, address, emoji, tone, format); a newer
one of the same aspect replaces the older. A one-off request ("write a short poem") is not one.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass

import numpy as np
from langchain_core.embeddings import Embeddings

from confidante.extraction.language import normalise, sentences
from confidante.extraction.manner_examples import (
    CALM,
    DISTRESSED,
    INSTRUCTIONS,
    NOT_INSTRUCTIONS,
)

ASPECTS = tuple(INSTRUCTIONS)
NOT_ONE = "none"
# A sentence's score for a label: the mean cosine of its nearest examples of that label.
NEAREST = 3
# Chosen by leaving each labelled example out in turn and reading it with the others.
INSTRUCTION_MIN = 0.30  # nearest instructions at least this close...
INSTRUCTION_LEAD = 0.02  # ...and this much closer than the nearest non-instructions
DISTRESS_MIN = 0.25
DISTRESS_LEAD = 0.02
# Longer sentences are stories or tasks, not instructions about replies.
MOST_WORDS = 30
# A short message is also read whole: an instruction may take two sentences ("I go by Sam
# now. Could you use that?").
WHOLE_MESSAGE_WORDS = 40
_POLITE_EDGES = re.compile(
    r"^(?:(?:oh|also|and|ok|okay|so|hey|btw|by the way|one more thing)[,\s]+)+|[\s,]+$", re.I
)


@dataclass(frozen=True, kw_only=True)
class Instruction:
    """A lasting instruction about replies, as the person said it."""

    aspect: str
    text: str
    score: float


def _unit(vectors: list[list[float]]) -> np.ndarray:
    array = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(array, axis=1)
    norms[norms == 0] = 1.0
    return array / norms[:, None]


def _label_scores(similarities: np.ndarray, labels: list[str]) -> dict[str, float]:
    """Per label, the mean of the ``NEAREST`` highest similarities among its examples."""
    scores: dict[str, float] = {}
    tags = np.asarray(labels)
    for label in dict.fromkeys(labels):
        mine = np.sort(similarities[tags == label])[::-1][:NEAREST]
        scores[label] = float(mine.mean())
    return scores


# (texts, labels) of each kind of labelled example.
_LABELLED: dict[str, tuple[list[str], list[str]]] = {
    "instruction": (
        [t for a in ASPECTS for t in INSTRUCTIONS[a]] + list(NOT_INSTRUCTIONS),
        [a for a in ASPECTS for _ in INSTRUCTIONS[a]] + [NOT_ONE] * len(NOT_INSTRUCTIONS),
    ),
    "mood": (
        list(DISTRESSED) + list(CALM),
        ["distressed"] * len(DISTRESSED) + ["calm"] * len(CALM),
    ),
}


class MannerReader:
    """Reads instructions about replies and distress in messages (``embeddings`` is shared)."""

    def __init__(self, embeddings: Embeddings) -> None:
        self._embeddings = embeddings
        self._lock = threading.Lock()
        self._embedded: dict[str, tuple[np.ndarray, list[str]]] = {}

    def _examples(self, kind: str) -> tuple[np.ndarray, list[str]]:
        """The labelled examples' unit vectors and labels, embedded once."""
        with self._lock:
            if kind not in self._embedded:
                texts, labels = _LABELLED[kind]
                self._embedded[kind] = (_unit(self._embeddings.embed_documents(texts)), labels)
            return self._embedded[kind]

    def warm_up(self) -> None:
        """Embed the labelled examples now rather than while reading the first message."""
        for kind in _LABELLED:
            self._examples(kind)

    def instructions(self, text: str) -> list[Instruction]:
        """The lasting instructions about replies in ``text``, one per aspect at most."""
        said = sentences(normalise(text))
        candidates = [s for s in said if _may_instruct(s)]
        whole = " ".join(said)
        if len(said) > 1 and len(whole.split()) <= WHOLE_MESSAGE_WORDS:
            candidates.append(whole)
        if not candidates:
            return []
        vectors, labels = self._examples("instruction")
        similarities = _unit(self._embeddings.embed_documents(candidates)) @ vectors.T
        found: dict[str, Instruction] = {}
        for sentence, row in zip(candidates, similarities, strict=True):
            scores = _label_scores(row, labels)
            rejected = scores.pop(NOT_ONE)
            aspect, score = max(scores.items(), key=lambda item: item[1])
            if score >= INSTRUCTION_MIN and score - rejected >= INSTRUCTION_LEAD:
                if sentence is whole and aspect in found:
                    continue  # a sentence of its own says it more precisely
                # The last instruction of an aspect in a message is the one meant.
                text = _POLITE_EDGES.sub("", sentence).strip()
                found[aspect] = Instruction(aspect=aspect, text=text, score=score)
        return list(found.values())

    def distress(self, text: str) -> float | None:
        """How clearly ``text`` shows distress or frustration (a lead over calm), or None."""
        parts = sentences(normalise(text)) or [text]
        vectors, labels = self._examples("mood")
        similarities = _unit(self._embeddings.embed_documents(parts[-8:])) @ vectors.T
        best: float | None = None
        for row in similarities:
            scores = _label_scores(row, labels)
            lead = scores["distressed"] - scores["calm"]
            if scores["distressed"] >= DISTRESS_MIN and lead >= DISTRESS_LEAD:
                best = lead if best is None else max(best, lead)
        return best


def _may_instruct(sentence: str) -> bool:
    """Whether a sentence is short enough to be an instruction rather than a story or task."""
    words = sentence.split()
    return 0 < len(words) <= MOST_WORDS
