"""Events people tell about: "I went camping last weekend" -> (speaker, did, went camping).

Each event is dated: when it was said, moved back by a relative time in the sentence
("yesterday", "last week", "two weeks ago"). Events are the facts most everyday chat holds,
and as short dated statements they are good keys back to the turn that told them.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from confidante.graph.schema import FactCandidate

_VERBS = (
    r"went|go\s+to|joined|signed\s+up\s+for|started|finished|visited|attended|took|bought"
    r"|got|made|painted|drew|wrote|read|saw|watched|ran|won|adopted|volunteered|participated"
    r"|gave|met|tried|learned|learnt|celebrated|hosted|organi[sz]ed|completed|built|baked"
    r"|cooked|planted|played|performed|traveled|travelled|moved|graduated|received|found"
    r"|picked\s+up|took\s+up|enrolled\s+in|applied\s+for|decided\s+to|spent"
)
_ADVERB = r"(?:just\s+|recently\s+|finally\s+|also\s+|actually\s+)?"
_EVENT = re.compile(
    rf"\b(?P<who>I|we)(?:'ve|\s+have)?\s+{_ADVERB}(?P<verb>{_VERBS})\s+(?P<rest>[^.!?;]{{2,120}})"
    # Chat often drops the "I": "Took a short trip to Rome." (past tense only, not "go to").
    rf"|^\s*{_ADVERB}(?P<verb2>(?!go\b)(?:{_VERBS}))\s+(?P<rest2>[^.!?;]{{2,120}})",
    re.IGNORECASE,
)
# Where the event's own words end: a new clause or a time phrase.
_CLAUSE_END = re.compile(
    r"\s*(?:,|\s-\s|\bbut\b|\bso\b|\bbecause\b|\band\b|\bwhich\b"
    r"|\bwhen\b|\bwhile\b|\bsince\b|\bit\s+was\b)",
    re.IGNORECASE,
)
_NUMBERS = {
    "a": 1,
    "an": 1,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "a couple of": 2,
    "a few": 3,
    "several": 3,
}
_UNITS = {"day": 1, "week": 7, "weekend": 7, "month": 30, "year": 365}
_RELATIVE = re.compile(
    r"\b(?:(?P<yesterday>yesterday)|(?P<today>today|tonight|this\s+morning)"
    r"|last\s+(?P<last>night|week|weekend|month|year|monday|tuesday|wednesday|thursday|friday"
    r"|saturday|sunday)"
    r"|(?P<count>a|an|one|two|three|four|five|six|a\s+couple\s+of|a\s+few|several|\d+)\s+"
    r"(?P<unit>day|week|weekend|month|year)s?\s+ago)\b",
    re.IGNORECASE,
)
_WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
_TRAILING = re.compile(r"[\s,;:'\"-]+$|\s+(?:the|a|an|my|our|to|with|for|and|of|at|in)$", re.I)
_MAX_WORDS = 9


def days_back(sentence: str, when: datetime) -> timedelta:
    """How long before ``when`` the sentence's relative time points (zero if it names none)."""
    match = _RELATIVE.search(sentence)
    if match is None or match["today"]:
        return timedelta(0)
    if match["yesterday"]:
        return timedelta(days=1)
    if match["last"]:
        unit = match["last"].lower()
        if unit in _WEEKDAYS:
            back = (when.weekday() - _WEEKDAYS.index(unit)) % 7 or 7
            return timedelta(days=back)
        return timedelta(days=1 if unit == "night" else _UNITS[unit])
    count = match["count"].lower()
    number = int(count) if count.isdigit() else _NUMBERS.get(" ".join(count.split()), 1)
    return timedelta(days=number * _UNITS[match["unit"].lower()])


def _event_text(verb: str, rest: str) -> str:
    # The time phrase is dropped ("took a trip last week to Rome" -> "took a trip to Rome").
    rest = _CLAUSE_END.split(_RELATIVE.sub(" ", rest), maxsplit=1)[0]
    words = " ".join(rest.split()[:_MAX_WORDS])
    for _ in range(3):
        words = _TRAILING.sub("", words)
    return f"{' '.join(verb.lower().split())} {words}".strip() if words else ""


class EventExtractor:
    """Finds things people did ("I went camping", "we adopted a cat"), dated when said."""

    def extract(
        self, text: str, *, speaker: str, when: datetime | None = None
    ) -> list[FactCandidate]:
        """Events in ``text``, told by ``speaker``; questions yield nothing."""
        found: list[FactCandidate] = []
        seen: set[str] = set()
        for sentence in re.split(r"(?<=[.!?])\s+", text):
            if sentence.rstrip().endswith("?"):
                continue
            for match in _EVENT.finditer(sentence):
                event = _event_text(
                    match["verb"] or match["verb2"], match["rest"] or match["rest2"]
                )
                if len(event.split()) < 2 or event.casefold() in seen:
                    continue
                seen.add(event.casefold())
                found.append(
                    FactCandidate(
                        subject=speaker,
                        predicate="did",
                        object=event,
                        confidence=0.6,
                        valid_from=when - days_back(sentence, when) if when else None,
                    )
                )
        return found
