"""Keyword search: terms of a text and a BM25 index that grows one document at a time."""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Iterable

# Words too common to say anything about what a query is after.
STOPWORDS = frozenset(
    """a about above after again against all am an and any are as at be because been before
    being below between both but by can could did do does doing down during each few for from
    further had has have having he her here hers herself him himself his how i if in into is it
    its itself just me more most my myself no nor not now of off on once only or other our ours
    out over own same she should so some such than that the their theirs them then there these
    they this those through to too under until up very was we were what when where which while
    who whom why will with would you your yours yourself""".split()
)
_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_SUFFIXES = ("ing", "ed", "es", "s", "ly")
# A query's rarest terms carry its BM25 score; past this many, a long query's common words
# would cost a pass over most postings each and change little.
MAX_QUERY_TERMS = 32


def keywords(text: str) -> list[str]:
    """Lower-case content words of ``text``, in order, stopwords removed."""
    return [w for w in _WORD.findall(text.lower()) if w not in STOPWORDS]


def _stem(word: str) -> str:
    """A light suffix strip, so "painted", "paints" and "painting" meet ("running" -> "run")."""
    for suffix in _SUFFIXES:
        if len(word) > len(suffix) + 2 and word.endswith(suffix):
            stem = word[: -len(suffix)]
            if suffix in ("ing", "ed") and stem[-1] == stem[-2] and stem[-1] not in "aeiouls":
                stem = stem[:-1]
            return stem
    return word


def terms(text: str) -> list[str]:
    """The index terms of ``text``: stemmed keywords."""
    return [_stem(w) for w in keywords(text)]


class LexicalIndex:
    """BM25 (Robertson/Sparck Jones, k1=1.2, b=0.75) over documents numbered 0, 1, 2...

    Documents can grow after they are added (``extend``), which is how a turn gains the words
    of the turn that follows it.
    """

    def __init__(self, k1: float = 1.2, b: float = 0.75) -> None:
        self.k1, self.b = k1, b
        self._postings: dict[str, dict[int, int]] = defaultdict(dict)
        self._lengths: list[int] = []
        self._total = 0

    def __len__(self) -> int:
        return len(self._lengths)

    def add(self, tokens: Iterable[str]) -> int:
        """Add a document; returns its number."""
        self._lengths.append(0)
        number = len(self._lengths) - 1
        self.extend(number, tokens)
        return number

    def extend(self, number: int, tokens: Iterable[str]) -> None:
        """Add words to document ``number``."""
        count = 0
        for token in tokens:
            posting = self._postings[token]
            posting[number] = posting.get(number, 0) + 1
            count += 1
        self._lengths[number] += count
        self._total += count

    def scores(self, query: Iterable[str]) -> dict[int, float]:
        """BM25 score of every document that shares a term with ``query``.

        Only the query's ``MAX_QUERY_TERMS`` rarest terms count.
        """
        n = len(self._lengths)
        if not n:
            return {}
        average = max(self._total / n, 1e-9)
        result: dict[int, float] = defaultdict(float)
        postings = [p for term in set(query) if (p := self._postings.get(term))]
        for posting in sorted(postings, key=len)[:MAX_QUERY_TERMS]:
            idf = math.log(1 + (n - len(posting) + 0.5) / (len(posting) + 0.5))
            for number, tf in posting.items():
                norm = self.k1 * (1 - self.b + self.b * self._lengths[number] / average)
                result[number] += idf * tf * (self.k1 + 1) / (tf + norm)
        return result
