"""Rated turns to training rows: SFT, DPO and KTO, in the conversational format TRL reads.

Every prompt is the exact list of messages the model saw (system message with the
personalized context, history, the user's turn), so training matches inference:

- SFT ``{"messages": [...prompt, assistant]}``: replies rated high, and corrections.
- DPO ``{"prompt": [...], "chosen": [assistant], "rejected": [assistant]}``: one prompt with
  replies rated differently, or a reply and its correction.
- KTO ``{"prompt": [...], "completion": [assistant], "label": bool}``: replies with thumbs.

Pure functions: rows are scrubbed, deduplicated and split here; writing is ``batch.py``'s.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from confidante.records import ChatMessages
from confidante.training.rated import RatedTurn
from confidante.training.scrub import scrub_messages

Kind = Literal["sft", "dpo", "kto"]
KINDS: tuple[Kind, ...] = ("sft", "dpo", "kto")
Split = Literal["train", "validation"]
SPLITS: tuple[Split, ...] = ("train", "validation")


@dataclass(frozen=True, kw_only=True)
class Feedback:
    """What is known about one rated interaction: its latest rating and any correction."""

    interaction_id: str
    user_id: str
    prompt: ChatMessages
    reply: str
    score: int | None
    thumbs: bool | None
    correction: str | None

    def liked(self, min_score: int) -> bool:
        """A high score, or thumbs up when there is no score."""
        return self.score >= min_score if self.score is not None else self.thumbs is True

    @property
    def value(self) -> int:
        """The rating on the 1-5 scale; thumbs count as 5 (up) or 1 (down)."""
        if self.score is not None:
            return self.score
        return 5 if self.thumbs else 1


@dataclass(kw_only=True)
class Example:
    """One row of one file, with the interactions it came from (kept out of the file)."""

    kind: Kind
    row: dict[str, Any]
    interaction_ids: list[str] = field(default_factory=list)


def _unit(key: str) -> float:
    """A number in [0, 1) fixed by ``key``."""
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big") / 2**64


def collect(turns: Iterable[RatedTurn]) -> list[Feedback]:
    """One ``Feedback`` per interaction: its latest score/thumbs and latest correction."""
    latest: dict[str, RatedTurn] = {}
    corrections: dict[str, str] = {}
    for turn in sorted(turns, key=lambda t: t.seq):
        latest[turn.rating.interaction_id] = turn
        if turn.rating.correction:
            corrections[turn.rating.interaction_id] = turn.rating.correction
    return [
        Feedback(
            interaction_id=iid,
            user_id=turn.rating.user_id,
            prompt=turn.prompt,
            reply=turn.reply,
            score=turn.rating.score,
            thumbs=turn.rating.thumbs,
            correction=corrections.get(iid),
        )
        for iid, turn in latest.items()
    ]


def _assistant(text: str) -> ChatMessages:
    return [{"role": "assistant", "content": text}]


def sft_examples(feedback: list[Feedback], min_score: int) -> list[Example]:
    """Replies rated high, and corrections, as whole conversations."""
    examples = []
    for f in feedback:
        for text in ([f.reply] if f.liked(min_score) else []) + [f.correction or ""]:
            if text.strip():
                row = {"messages": f.prompt + _assistant(text)}
                examples.append(Example(kind="sft", row=row, interaction_ids=[f.interaction_id]))
    return examples


def _pair(prompt: ChatMessages, chosen: str, rejected: str, ids: list[str]) -> Example:
    row = {"prompt": prompt, "chosen": _assistant(chosen), "rejected": _assistant(rejected)}
    return Example(kind="dpo", row=row, interaction_ids=ids)


def dpo_examples(feedback: list[Feedback]) -> list[Example]:
    """Preference pairs: corrections over their replies, higher-rated over lower-rated replies."""
    examples = [
        _pair(f.prompt, f.correction, f.reply, [f.interaction_id])
        for f in feedback
        if f.correction and f.correction.strip() != f.reply.strip()
    ]
    by_prompt: dict[str, list[Feedback]] = defaultdict(list)
    for f in feedback:
        by_prompt[json.dumps(f.prompt, sort_keys=True)].append(f)
    for group in by_prompt.values():
        for i, a in enumerate(group):
            for b in group[i + 1 :]:
                if a.value == b.value or a.reply.strip() == b.reply.strip():
                    continue
                high, low = (a, b) if a.value > b.value else (b, a)
                ids = [high.interaction_id, low.interaction_id]
                examples.append(_pair(high.prompt, high.reply, low.reply, ids))
    return examples


def kto_examples(feedback: list[Feedback]) -> list[Example]:
    """Replies with thumbs, labelled desirable (up) or not (down)."""
    return [
        Example(
            kind="kto",
            row={"prompt": f.prompt, "completion": _assistant(f.reply), "label": f.thumbs},
            interaction_ids=[f.interaction_id],
        )
        for f in feedback
        if f.thumbs is not None
    ]


def _scrubbed(row: dict[str, Any]) -> dict[str, Any]:
    return {k: scrub_messages(v) if isinstance(v, list) else v for k, v in row.items()}


def clean(examples: Iterable[Example]) -> list[Example]:
    """Rows scrubbed of personal identifiers, duplicates merged (keeping every source id)."""
    kept: dict[tuple[str, str], Example] = {}
    for example in examples:
        row = _scrubbed(example.row)
        key = (example.kind, json.dumps(row, sort_keys=True))
        if key in kept:
            merged = kept[key].interaction_ids
            merged.extend(i for i in example.interaction_ids if i not in merged)
        else:
            kept[key] = Example(
                kind=example.kind, row=row, interaction_ids=list(example.interaction_ids)
            )
    return list(kept.values())


def split_of(example: Example, validation_fraction: float) -> Split:
    """Train or validation, by a hash of the source interactions: stable across runs."""
    key = ",".join(sorted(example.interaction_ids))
    return "validation" if _unit(key) < validation_fraction else "train"


def build_examples(turns: Iterable[RatedTurn], *, min_score: int) -> list[Example]:
    """Every SFT, DPO and KTO row that the rated turns give, scrubbed and deduplicated."""
    feedback = collect(turns)
    return clean(
        sft_examples(feedback, min_score) + dpo_examples(feedback) + kto_examples(feedback)
    )
