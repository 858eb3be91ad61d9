"""The graph's vocabulary: the relations it knows, the words that name them, and a candidate fact.

Extractors produce ``FactCandidate``s; the graph reconciles them into facts. Nothing here
extracts: this module is what both sides agree on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

# The user's own node in every user graph. First-person statements by the user
# (a message with no speaker name) are about this entity.
SELF = "user"

# Not a relation but a candidate's placeholder: "I switched to history", "doing keto instead"
# name a new value of something the subject already has, without saying what it is. The
# learner places it (``graph.changes``) by the value it replaces; unplaced, it is dropped.
CHANGED_TO = "changed_to"


# How the person wants to be answered, one relation per aspect so that a newer instruction
# replaces the older of its aspect only ("answer in English" leaves "keep it short").
REPLY_PREFIX = "reply_"
REPLY_ASPECTS = ("length", "language", "address", "emoji", "tone", "format")


def is_reply_preference(predicate: str) -> bool:
    """Whether ``predicate`` is an instruction about replies rather than a fact about a life."""
    return predicate.startswith(REPLY_PREFIX)


@dataclass(frozen=True, kw_only=True)
class Predicate:
    """A relation the graph knows: how to phrase it and whether a newer value replaces the old."""

    name: str
    phrase: str  # "{subject} lives in {object}"
    single_valued: bool
    # Part of who someone is, shown in every prompt; events are episodes, recalled when a
    # message calls for them (a profile of every "went hiking" would crowd the prompt out).
    in_profile: bool = True


PREDICATES: dict[str, Predicate] = {
    p.name: p
    for p in [
        Predicate(name="name", phrase="{subject}'s name is {object}", single_valued=True),
        Predicate(name="age", phrase="{subject} is {object} years old", single_valued=True),
        Predicate(name="lives_in", phrase="{subject} lives in {object}", single_valued=True),
        Predicate(name="from", phrase="{subject} is from {object}", single_valued=True),
        Predicate(name="works_at", phrase="{subject} works at {object}", single_valued=True),
        Predicate(name="job", phrase="{subject} works as {a} {object}", single_valued=True),
        Predicate(name="studies", phrase="{subject} studies {object}", single_valued=False),
        Predicate(name="partner", phrase="{subject}'s partner is {object}", single_valued=True),
        Predicate(name="diet", phrase="{subject} is {object}", single_valued=True),
        Predicate(name="birthday", phrase="{subject}'s birthday is {object}", single_valued=True),
        Predicate(name="likes", phrase="{subject} likes {object}", single_valued=False),
        Predicate(name="dislikes", phrase="{subject} dislikes {object}", single_valued=False),
        Predicate(
            name="allergic_to", phrase="{subject} is allergic to {object}", single_valued=False
        ),
        Predicate(name="family", phrase="{subject}'s {role} is {object}", single_valued=False),
        Predicate(name="friend", phrase="{subject}'s friend is {object}", single_valued=False),
        Predicate(name="pet", phrase="{subject} has a pet: {object}", single_valued=False),
        Predicate(name="speaks", phrase="{subject} speaks {object}", single_valued=False),
        Predicate(name="plays", phrase="{subject} plays {object}", single_valued=False),
        Predicate(name="owns", phrase="{subject} has {object}", single_valued=False),
        Predicate(name="plans", phrase="{subject} plans to {object}", single_valued=False),
        Predicate(name="did", phrase="{subject} {object}", single_valued=False, in_profile=False),
        *(
            Predicate(
                name=f"{REPLY_PREFIX}{aspect}",
                phrase='{subject} wants replies to follow: "{object}"',
                single_valued=True,
            )
            for aspect in REPLY_ASPECTS
        ),
    ]
}


@dataclass(frozen=True, kw_only=True)
class FactCandidate:
    """One fact an extractor found in one message, before the graph reconciles it.

    ``subject`` is an entity name, or ``SELF`` for the user. ``role`` refines ``family``
    ("sister", "husband"...). ``valid_from`` is when it became true, if the text says.
    """

    subject: str
    predicate: str
    object: str
    role: str | None = None
    confidence: float = 1.0
    valid_from: datetime | None = None
    negated: bool = False  # "I no longer live in Paris": closes the matching fact
    # "Taken up golf instead": the value replaces an older one of the relation, which the
    # learner finds (``graph.changes``) even where the relation holds several values.
    replaces: bool = False

    def statement(self, subject_label: str) -> str:
        """The fact as a sentence, with ``subject_label`` standing for the subject."""
        predicate = PREDICATES[self.predicate]
        article = "an" if self.object[:1].lower() in "aeiou" else "a"
        sentence = predicate.phrase.format(
            subject=subject_label, object=self.object, role=self.role or "relative", a=article
        )
        return sentence[0].upper() + sentence[1:]


# Words that name a relation to a person; "word=canon" maps an alias, "_" is a space. The
# rules read "my sister Ana" with them; graph expansion follows "my sister" to Ana.
_RELATION_TEXT = {
    "partner": """wife husband partner girlfriend boyfriend spouse missus=wife fiance=fiancé
        fiancé fiancee=fiancée fiancée married=spouse engaged=fiancé hitched=spouse""",
    "family": """mother mom=mother mum=mother father dad=father sister brother son daughter aunt
        auntie=aunt aunty=aunt uncle cousin grandmother grandma=grandmother granny=grandmother
        nana=grandmother grandfather grandpa=grandfather granddaughter grandson grandchild
        stepmother stepmom=stepmother stepfather stepdad=stepfather stepson stepdaughter niece
        nephew child kid=child children=child twins=child""",
    "friend": "friend bestie=best_friend buddy=friend pal=friend mate=friend",
}

# predicate -> {word: canonical role}: "mum" -> "mother", "sister" -> "sister".
RELATION_ALIASES: dict[str, dict[str, str]] = {
    predicate: {
        word.replace("_", " "): (canon or word).replace("_", " ")
        for word, _, canon in (w.partition("=") for w in text.split())
    }
    for predicate, text in _RELATION_TEXT.items()
}

# word -> (predicate, role); a plain friend has no role, a "bestie" is a best friend.
RELATION_WORDS: dict[str, tuple[str, str | None]] = {
    word: (predicate, None if role == "friend" else role)
    for predicate, words in RELATION_ALIASES.items()
    for word, role in words.items()
}


def relation_named(word: str) -> tuple[str, str | None] | None:
    """The (predicate, role) a relation word names, or None.

    "sister" -> family/sister, "kids" -> family/child, "wife" -> partner/wife, "friends" -> friend.
    """
    word = word.casefold()
    for candidate in (word, word.removesuffix("s"), word.removesuffix("es")):
        if candidate in RELATION_WORDS:
            return RELATION_WORDS[candidate]
    return None
