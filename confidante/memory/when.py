"""Time in queries: "last week", "yesterday", "in May 2023", "on 8 May 2023" -> a time window."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

_MONTHS = {name.lower(): i for i, name in enumerate(calendar.month_name) if name}
_MONTHS.update({name.lower(): i for i, name in enumerate(calendar.month_abbr) if name})
_MONTH = "|".join(sorted(_MONTHS, key=len, reverse=True))
_DAY_MONTH_YEAR = re.compile(
    rf"\b(?:(?P<d1>\d{{1,2}})(?:st|nd|rd|th)?\s+(?P<m1>{_MONTH})\.?,?\s+(?P<y1>\d{{4}})"
    rf"|(?P<m2>{_MONTH})\.?\s+(?P<d2>\d{{1,2}})(?:st|nd|rd|th)?,?\s+(?P<y2>\d{{4}}))\b",
    re.IGNORECASE,
)
_MONTH_YEAR = re.compile(rf"\b(?P<m>{_MONTH})\.?,?\s+(?P<y>\d{{4}})\b", re.IGNORECASE)
_YEAR = re.compile(r"\b(?:in|during|of)\s+(?P<y>(?:19|20)\d{2})\b", re.IGNORECASE)
_UNITS = {"day": 1, "week": 7, "weekend": 7, "month": 31, "year": 366}
_NUMBERS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "few": 3}
_RELATIVE = re.compile(
    r"\b(?:(?P<yesterday>yesterday)|(?P<today>today|tonight|this\s+morning)"
    r"|(?P<which>last|this|past)\s+(?P<unit>week|weekend|month|year)"
    r"|(?P<count>a|an|one|two|three|four|five|few|\d+)\s+(?P<unit2>day|week|month|year)s?\s+ago)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Window:
    """A span of time a query is about, ends inclusive."""

    start: datetime
    end: datetime

    def __contains__(self, moment: datetime) -> bool:
        return self.start <= moment <= self.end


def _day(year: int, month: int, day: int) -> Window:
    start = datetime(year, month, day, tzinfo=UTC)
    return Window(start, start + timedelta(days=1) - timedelta(microseconds=1))


def _absolute(query: str) -> Window | None:
    if m := _DAY_MONTH_YEAR.search(query):
        month = _MONTHS[(m["m1"] or m["m2"]).lower()]
        day, year = int(m["d1"] or m["d2"]), int(m["y1"] or m["y2"])
        if 1 <= day <= calendar.monthrange(year, month)[1]:
            return _day(year, month, day)
    if m := _MONTH_YEAR.search(query):
        year, month = int(m["y"]), _MONTHS[m["m"].lower()]
        last = calendar.monthrange(year, month)[1]
        return Window(_day(year, month, 1).start, _day(year, month, last).end)
    if m := _YEAR.search(query):
        year = int(m["y"])
        return Window(_day(year, 1, 1).start, _day(year, 12, 31).end)
    return None


def _relative(query: str, now: datetime) -> Window | None:
    m = _RELATIVE.search(query)
    if m is None:
        return None
    if m["today"]:
        return Window(now - timedelta(days=1), now)
    if m["yesterday"]:
        return Window(now - timedelta(days=2), now)
    if m["which"]:
        span = timedelta(days=_UNITS[m["unit"].lower()])
        back = span if m["which"].lower() == "last" else timedelta(0)
        return Window(now - back - span, now)
    count = m["count"].lower()
    number = int(count) if count.isdigit() else _NUMBERS[count]
    center = now - timedelta(days=number * _UNITS[m["unit2"].lower()])
    slack = timedelta(days=max(2, _UNITS[m["unit2"].lower()] // 2))
    return Window(center - slack, center + slack)


def time_window(query: str, now: datetime) -> Window | None:
    """The time ``query`` asks about, if it names one; relative times count back from ``now``."""
    return _absolute(query) or _relative(query, now)
