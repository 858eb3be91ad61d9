"""Replace personal identifiers that training does not need with placeholders.

Emails, card numbers (Luhn-valid), phone numbers and street addresses become ``[EMAIL]``,
``[CARD]``, ``[PHONE]`` and ``[ADDRESS]``. Names and places stay: they are what a personal
assistant learns to use.
"""

from __future__ import annotations

import re

from confidante.records import ChatMessages

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
CARD = re.compile(r"(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d-])")
PHONE = re.compile(r"(?<![\w+])\+?(?:\(\d{1,4}\)|\d)[\d ().-]{5,18}\d(?!\w)")
STREET_TYPES = (
    "street|st|avenue|ave|road|rd|boulevard|blvd|lane|ln|drive|dr|court|ct|way|place|pl"
    "|terrace|square|sq|highway|hwy|parkway|pkwy"
)
ADDRESS = re.compile(
    rf"\b\d{{1,5}}[A-Za-z]?,?\s+(?:[A-Z][\w'-]*\.?\s+){{1,4}}(?i:{STREET_TYPES})\b"
    r"(?:,?\s+(?:apt|apartment|suite|unit|#)\.?\s*\w+)?"
)
DATE = re.compile(r"\d{4}[-./]\d{1,2}[-./]\d{1,4}|\d{1,2}[-./]\d{1,2}[-./]\d{2,4}")
MIN_PHONE_DIGITS, MAX_PHONE_DIGITS = 7, 15


def luhn_valid(digits: str) -> bool:
    """Whether a string of digits passes the Luhn checksum that card numbers carry."""
    total = 0
    for i, char in enumerate(reversed(digits)):
        value = int(char) * (2 if i % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def _card(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match.group())
    return "[CARD]" if luhn_valid(digits) else match.group()


def _phone(match: re.Match[str]) -> str:
    text = match.group()
    digits = sum(char.isdigit() for char in text)
    if DATE.fullmatch(text) or not MIN_PHONE_DIGITS <= digits <= MAX_PHONE_DIGITS:
        return text
    return "[PHONE]"


def scrub(text: str) -> str:
    """``text`` with emails, card numbers, phone numbers and street addresses replaced."""
    text = EMAIL.sub("[EMAIL]", text)
    text = CARD.sub(_card, text)
    text = ADDRESS.sub("[ADDRESS]", text)
    return PHONE.sub(_phone, text)


def scrub_messages(messages: ChatMessages) -> ChatMessages:
    """Chat messages with every content scrubbed."""
    return [{**m, "content": scrub(m["content"])} for m in messages]
