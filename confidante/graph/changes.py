"""Placing a change whose sentence names only the new value: "I switched to history".

An extractor that reads a change of state without the relation ("switched to X", "X
instead") gives a ``CHANGED_TO`` candidate. What X replaces is in what the graph already
holds about the subject: the current value the message names ("law was making me
miserable"), else the current value most like X in meaning (pickleball for badminton). The
change then closes that value and opens X under the same relation. When nothing held is
replaced, a value that is clearly of one kind (a sport, a subject, a language, a town, a diet,
by the embedder against descriptions of each) opens under that relation; anything else is
dropped: the message stays a memory, the profile is left alone.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import replace

from confidante.graph.schema import CHANGED_TO, FactCandidate
from confidante.records import Fact

# The relations a person switches between values of; a name, an age or a relative is not
# "switched to".
SWITCHABLE = frozenset(
    {
        "job",
        "works_at",
        "studies",
        "lives_in",
        "diet",
        "likes",
        "dislikes",
        "plays",
        "owns",
        "speaks",
        "plans",
    }
)
# A rule's reading of the new value may also replace a pet ("adopted a kitten instead").
REPLACEABLE = SWITCHABLE | {"pet"}
# How alike (cosine, normalised embeddings) a new value must be to the value it replaces
# when the message does not name the old one.
MIN_LIKENESS = 0.3

# When the subject holds nothing the new value replaces, what kind of value it is says the
# relation: the embedder compares it with descriptions of each kind (zero-shot). Job and
# employer descriptions compete but never win: "nurse" is as near "an employer" as "a job".
KINDS = {
    "studies": ("a university subject", "a field of study", "an academic degree course"),
    "plays": ("a sport", "a team game", "a board game or video game", "a musical instrument"),
    "diet": ("a diet", "a way of eating"),
    "lives_in": ("a city", "a town", "a country"),
    "speaks": ("a language",),
    "works_at": ("a company", "an employer"),
    "job": ("a job title", "an occupation"),
}
PLACED_BY_KIND = frozenset({"studies", "plays", "diet", "lives_in", "speaks"})
MIN_KIND_LIKENESS = 0.35
MIN_KIND_MARGIN = 0.07  # over the next kind: an unclear value is left alone

Likeness = Callable[[str, Sequence[str]], list[float]]
_WORD = re.compile(r"[^\W\d_]{3,}")
_KEPT = re.compile(
    r"\b(?:still|same)\s+(?:(?:in|at|with|doing|the|my|our)\s+)?([\w'-]+(?:\s+[\w'-]+)?)",
    re.IGNORECASE,
)
_PLAIN = frozenset("the and for with from now new old our my".split())


def _content_words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.casefold()) if w not in _PLAIN}


def _named_in(value: str, text: str) -> bool:
    """Whether ``text`` says a content word of ``value`` ("law" in "law was making me...")."""
    said = _content_words(text)
    return bool(_content_words(value) & said)


def _replaced(value: str, held: Sequence[Fact], text: str, likeness: Likeness) -> Fact | None:
    """The held fact that ``value`` replaces: named in the message, else the most alike.

    What the message says goes on ("still in Dresden", "same uni") is not replaced.
    """
    kept = {w for m in _KEPT.finditer(text) for w in _content_words(m.group(1))}
    held = [f for f in held if not (_content_words(f.object) & kept)]
    if not held:
        return None
    # The message without the new value is where the old one may be named.
    rest = text.casefold().replace(value.casefold(), " ")
    named = [f for f in held if _named_in(f.object, rest)]
    if named:
        return named[-1]
    scores = likeness(value, [f.object for f in held])
    best = max(range(len(held)), key=scores.__getitem__)
    return held[best] if scores[best] >= MIN_LIKENESS else None


def kind_of(value: str, likeness: Likeness) -> str | None:
    """The relation whose kind of value ``value`` clearly is, if one of ``PLACED_BY_KIND``."""
    labels = [(kind, text) for kind, texts in KINDS.items() for text in texts]
    scores = likeness(value, [text for _, text in labels])
    best: dict[str, float] = {}
    for (kind, _), score in zip(labels, scores, strict=True):
        best[kind] = max(best.get(kind, -1.0), score)
    ranked = sorted(best.items(), key=lambda item: -item[1])
    (kind, top), (_, second) = ranked[0], ranked[1]
    clear = top >= MIN_KIND_LIKENESS and top - second >= MIN_KIND_MARGIN
    return kind if clear and kind in PLACED_BY_KIND else None


def place_changes(
    candidates: Sequence[FactCandidate],
    *,
    current: Sequence[Fact],
    text: str,
    likeness: Likeness,
) -> list[FactCandidate]:
    """``candidates`` with each change placed: a ``CHANGED_TO`` one closes and opens, or goes.

    A candidate that ``replaces`` also closes the value it replaces, when one is found.

    ``current`` is what the graph holds now; ``text`` the message the candidates came from;
    ``likeness`` scores a value against others (cosine of their embeddings).
    """
    placed = [c for c in candidates if c.predicate != CHANGED_TO]
    for change in [c for c in candidates if c.predicate == CHANGED_TO or c.replaces]:
        new_words = _content_words(change.object)
        if not new_words:
            continue
        # A value read with its relation ("taken up golf instead" is a sport) leaves only what
        # it replaces to find, under that relation.
        known = change.predicate != CHANGED_TO
        if known and change.predicate not in REPLACEABLE:
            continue
        relations = {change.predicate} if known else SWITCHABLE
        held = [
            f
            for f in current
            if f.subject == change.subject
            and f.predicate in relations
            and not (_content_words(f.object) & new_words)
        ]
        old = _replaced(change.object, held, text, likeness)
        if old is None:
            kind = None if known else kind_of(change.object, likeness)
            if kind is not None:  # nothing held to close: the new value alone
                placed.append(replace(change, predicate=kind))
            continue
        placed.append(replace(change, predicate=old.predicate, object=old.object, negated=True))
        if not known:
            placed.append(replace(change, predicate=old.predicate))
    return placed
