"""Placing a change whose sentence names only the new value: "I switched to history".

An extractor that reads a change of state without the relation ("switched to X", "X
instead") gives a ``CHANGED_TO`` candidate. What X replaces is in what the graph already
holds about the subject: the current value the message names ("law was making me
miserable"), else the current value most like X in meaning (pickleball for badminton). The
change then closes that value and opens X under the same relation. A change that matches
nothing the subject has is dropped: the message stays a memory, the profile is left alone.
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
            continue
        placed.append(replace(change, predicate=old.predicate, object=old.object, negated=True))
        if not known:
            placed.append(replace(change, predicate=old.predicate))
    return placed
