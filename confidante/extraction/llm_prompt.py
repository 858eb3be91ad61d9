"""What the LLM fact extractor asks for: the output schema, the prompt, and how replies are read.

The prompt is a pure function of the turns, so it can be snapshot-tested. The schema is a
pydantic model: the prompt shows it as a one-line sketch with the predicate names, and its
full JSON schema goes to constrained decoding where the backend supports it. Replies are
read leniently (code fences, prose around the JSON, a truncated list), and each item is
validated on its own: a bad item is dropped, not fatal.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from confidante.errors import ExtractionError
from confidante.graph.schema import PREDICATES, SELF, is_reply_preference
from confidante.records import ChatMessages

# Longest part of one turn shown to the model; the rules still read the whole text.
MAX_TURN_CHARS = 1_000
# What a model may name: facts about lives. Reply preferences are the manner reader's.
EXTRACTED_PREDICATES = tuple(p for p in PREDICATES if not is_reply_preference(p))


@dataclass(frozen=True, kw_only=True)
class Turn:
    """One message to extract facts from: who said what, and when."""

    message_id: str
    text: str
    speaker: str = SELF  # SELF (the user) or a name in multi-party logs
    when: datetime | None = None


class ExtractedFact(BaseModel):
    """One fact as the model reports it, before it is tied to a turn and a speaker."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    subject: str = Field(
        min_length=1, max_length=80, description='Who it is about: "I" for the speaker, or a name.'
    )
    predicate: str = Field(json_schema_extra={"enum": list(EXTRACTED_PREDICATES)})
    object: str = Field(min_length=1, max_length=120, description="A few words from the turn.")
    role: str | None = Field(default=None, description='For family: "sister", "son"...')
    negated: bool = Field(default=False, description="True if it is no longer true.")
    message_index: int = Field(ge=1, description="The number of the turn it comes from.")

    @field_validator("predicate", mode="before")
    @classmethod
    def _known_predicate(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        name = "_".join(value.strip().lower().split())
        if name not in EXTRACTED_PREDICATES:
            raise ValueError(
                f"unknown predicate {value!r}; use one of {', '.join(EXTRACTED_PREDICATES)}"
            )
        return name


class ExtractedFacts(BaseModel):
    """The model's whole reply: every fact found in the numbered turns."""

    facts: list[ExtractedFact]


def facts_schema(turn_count: int) -> dict[str, Any]:
    """The JSON schema of a reply for ``turn_count`` turns (for constrained decoding)."""
    schema = ExtractedFacts.model_json_schema()
    schema["$defs"]["ExtractedFact"]["properties"]["message_index"]["maximum"] = turn_count
    return schema


def _shape() -> str:
    """The reply's schema as a one-line sketch: a 135M model follows it better than JSON Schema."""
    kinds = {"string": "string", "integer": "integer", "boolean": "boolean"}
    fields = []
    for name, spec in ExtractedFact.model_json_schema()["properties"].items():
        options = [o.get("type") for o in spec.get("anyOf", [spec])]
        kind = " or ".join(kinds.get(str(o), "null") for o in options)
        fields.append(f'"{name}": {kind}')
    return '{"facts": [{' + ", ".join(fields) + "}]}"


_EXAMPLE_TURN = "[1] Sam: I moved to Porto and my sister Lea works as a nurse."
_EXAMPLE_REPLY = json.dumps(
    {
        "facts": [
            {"subject": "I", "predicate": "lives_in", "object": "Porto", "message_index": 1},
            {
                "subject": "I",
                "predicate": "family",
                "object": "Lea",
                "role": "sister",
                "message_index": 1,
            },
            {"subject": "Lea", "predicate": "job", "object": "nurse", "message_index": 1},
        ]
    }
)
_INSTRUCTIONS = """\
You list facts about people from numbered chat turns. Reply with JSON only, in this shape:
{shape}
predicate is one of: {predicates}.
One item per fact a turn states. "I" is the speaker of that turn. message_index is the \
turn's number. Copy the object's words from the turn. No facts: {{"facts": []}}."""


def _speaker_label(speaker: str) -> str:
    return "User" if speaker == SELF else speaker


def extraction_prompt(turns: Sequence[Turn]) -> ChatMessages:
    """The messages that ask for the facts in ``turns``, numbered from 1."""
    system = _INSTRUCTIONS.format(shape=_shape(), predicates=", ".join(EXTRACTED_PREDICATES))
    lines = [
        f"[{i}] {_speaker_label(t.speaker)}: {' '.join(t.text[:MAX_TURN_CHARS].split())}"
        for i, t in enumerate(turns, start=1)
    ]
    # The example is a worked exchange: small models copy a format better than they follow it.
    return [
        {"role": "system", "content": system},
        {"role": "user", "content": "Turns:\n" + _EXAMPLE_TURN},
        {"role": "assistant", "content": _EXAMPLE_REPLY},
        {"role": "user", "content": "Turns:\n" + "\n".join(lines)},
    ]


def repair_prompt(asked: ChatMessages, reply: str, error: ExtractionError) -> ChatMessages:
    """The messages that ask once more, showing the unreadable reply and what was wrong."""
    return [
        *asked,
        {"role": "assistant", "content": reply},
        {
            "role": "user",
            "content": f"That reply is not valid: {error}. Reply with the corrected JSON "
            'object only, like {"facts": [...]}.',
        },
    ]


_FENCE = re.compile(r"```(?:json)?\s*(.*?)(?:```|$)", re.DOTALL | re.IGNORECASE)
_FLAT_OBJECT = re.compile(r"\{[^{}]*\}")


def _raw_items(text: str) -> list[Any]:
    """The reply's fact items, unvalidated: inside code fences or after prose.

    A truncated reply keeps its complete items; raise ``ExtractionError`` if there are none.
    """
    fenced = _FENCE.search(text)
    body = fenced.group(1) if fenced else text
    decoder = json.JSONDecoder()
    for start in (i for i, c in enumerate(body) if c in "{["):
        try:
            value = decoder.raw_decode(body, start)[0]
        except json.JSONDecodeError:
            continue
        if isinstance(value, dict) and isinstance(value.get("facts"), list):
            return value["facts"]
        if isinstance(value, list) and any(isinstance(v, dict) for v in value):
            return value
    salvaged = [_loads(m.group()) for m in _FLAT_OBJECT.finditer(text)]
    items = [s for s in salvaged if isinstance(s, dict) and "predicate" in s]
    if not items:
        raise ExtractionError('no JSON object with a "facts" list found')
    return items


def _loads(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return None


def read_facts(text: str, turn_count: int) -> list[ExtractedFact]:
    """The valid facts in a reply; raise ``ExtractionError`` if no JSON of that shape is there.

    Items that fail validation (unknown predicate, empty object, a turn number out of range)
    are dropped. With one turn, a missing ``message_index`` means that turn.
    """
    found: list[ExtractedFact] = []
    for item in _raw_items(text):
        if isinstance(item, dict) and turn_count == 1:
            item = {"message_index": 1, **item}
        try:
            fact = ExtractedFact.model_validate(item)
        except ValidationError:
            continue
        if fact.message_index <= turn_count:
            found.append(fact)
    return found
