"""Facts in short answers to someone's question: "where is everyone from?" / "Busan".

An answer alone says nothing ("Busan"); with the question before it, it says where its
speaker is from. A question asked of the others (you, everyone, anyone) names the relation;
each short reply that follows, from someone else, gives its speaker a value of it. Only what
reads as a bare value counts: a reply with its own subject ("I'm good, I eat anything") is left
to the rules, and a question about a third person ("how old is Abuela?") is not read here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from confidante.graph.schema import FactCandidate

# What a question asks about, by its wording; the first that matches wins.
_ASKS = [
    ("from", r"\bwhere\b.*\bfrom\b|\bwhat\s+country\b"),
    ("lives_in", r"\bwhere\b.*\b(?:live|living|based|staying)\b"),
    ("works_at", r"\bwhere\b.*\bwork(?:ing)?\b|\bwho\b.*\bwork(?:ing)?\s+for\b"),
    (
        "job",
        r"\bwhat\b.*\b(?:do\s+(?:you|u)\s+do(?:\s+for\s+(?:work|a\s+living))?|role|job"
        r"|position|line\s+of\s+work)\b",
    ),
    ("allergic_to", r"\ballergic\b|\ballerg(?:y|ies)\b"),
    ("age", r"\bhow\s+old\b"),
    ("studies", r"\bwhat\b.*\b(?:study|studying|major(?:ing)?)\b"),
    ("speaks", r"\b(?:what|which)\b.*\blanguages?\b"),
    ("plays", r"\bwhat\b.*\bplay\b"),
]
_ASKED = [(predicate, re.compile(pattern, re.IGNORECASE)) for predicate, pattern in _ASKS]
# Asked of the people in the conversation, not about someone else.
_OF_THEM = re.compile(
    r"\b(?:you|your|u|ur|y'all|yall|everyone|everybody|anyone|anybody|guys|folks)\b",
    re.IGNORECASE,
)
# Where a bare value ends: "peanuts, badly", "Lahore but grew up in Houston".
_VALUE_END = re.compile(r"[,;.!?()]|\s[-\u2013\u2014]\s|\s+(?:but|and\s+then|though|lol|haha)\b")
_FOR_ME = re.compile(r"\s+(?:for\s+me|here|too|tbh|honestly|mostly)$", re.IGNORECASE)
_OWN_SUBJECT = re.compile(
    r"\b(?:i|i'm|im|i've|me|my|we|we're|you|your|he|she|they|it|it's|that|this|there)\b",
    re.IGNORECASE,
)
_NOT_VALUES = frozenset(
    "none nothing no nope nah yes yeah yep same idk dunno not sure maybe anything everything "
    "ok okay thanks lol haha hmm wow oh ah aw aww omg yay ugh hey hi hello well so sure great "
    "nice cool awesome amazing thank sorry good".split()
)
# A reply with one of these is a sentence, not a value: "flowers bring joy".
_VERBS = frozenset(
    "is are was were be been am bring brings brought go goes went get gets got have has had do "
    "does did love loves like likes make makes made feel feels think want need know".split()
)
_NAMED_VALUES = frozenset({"from", "lives_in", "works_at"})
_NAME_JOINS = frozenset("of de da do del la le the and upon on am im".split())
_WORDS = re.compile(r"[^\W\d_][\w'.&-]*|\d+")
MAX_VALUE_WORDS = 4
# An answer is a short reply: a long one is a turn of its own, for the rules to read.
MAX_ANSWER_WORDS = 8
# Replies that may still answer a question: a group chat answers in turn, not at once.
ANSWER_WINDOW = 6


@dataclass(frozen=True, kw_only=True)
class Question:
    """A question that named a relation, who asked it, and how many replies it has had."""

    predicate: str
    asker: str
    replies: int = 0


def question_in(text: str, speaker: str) -> Question | None:
    """The relation ``text`` asks the others about, if it is such a question."""
    if not text.rstrip().endswith("?") or not _OF_THEM.search(text):
        return None
    for predicate, asked in _ASKED:
        if asked.search(text):
            return Question(predicate=predicate, asker=speaker)
    return None


def _value(text: str, predicate: str) -> str | None:
    head = _VALUE_END.split(text.strip(), maxsplit=1)[0].strip()
    head = _FOR_ME.sub("", head).strip(" \"'")
    words = _WORDS.findall(head)
    if not words or len(words) > MAX_VALUE_WORDS or _OWN_SUBJECT.search(head):
        return None
    if head.casefold() in _NOT_VALUES or words[0].casefold() in _NOT_VALUES:
        return None
    if predicate == "age":
        return head if head.isdigit() and 0 < int(head) < 120 else None
    if any(w.isdigit() for w in words) or any(w.casefold() in _VERBS for w in words):
        return None
    if predicate in _NAMED_VALUES and not all(
        w[:1].isupper() or w.casefold() in _NAME_JOINS for w in words
    ):
        return None  # a place or an employer is a name: "Busan", "Rio de Janeiro"
    return head


def answer_facts(question: Question, text: str, speaker: str) -> list[FactCandidate]:
    """The fact a reply by ``speaker`` gives as its answer to ``question``, if it is one."""
    if speaker == question.asker or text.rstrip().endswith("?"):
        return []
    if len(_WORDS.findall(text)) > MAX_ANSWER_WORDS:
        return []
    value = _value(text, question.predicate)
    if value is None:
        return []
    return [
        FactCandidate(subject=speaker, predicate=question.predicate, object=value, confidence=0.6)
    ]
