"""Prompt assembly: system text, history, then the new turn with what is known and recalled.

Two layouts. ``profile_first`` puts the profile facts in the system message, so system text
and profile form a prefix that stays unchanged across a user's turns and a serving engine's
prefix cache (vLLM's) skips recomputing it. Otherwise profile facts lead the last user
message with the recollections, where small models use them best (measured on SmolLM2-135M:
it answers "who is my sister?" or "where do I work?" from there, and often not from the
system message). Recollections always lead the last user message. Everything is fitted under
a token budget; what did not fit is not reported as context.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from confidante.records import ChatMessages, Message, Recollection


@dataclass(frozen=True, kw_only=True)
class Prompt:
    """The messages sent to the model and exactly the recollections they contain."""

    messages: ChatMessages
    context: list[Recollection]


def _dated(recollection: Recollection) -> str:
    when = recollection.created_at
    return f"[{when:%Y-%m-%d}] {recollection.text}" if when else recollection.text


def _fit(
    items: Sequence[Recollection],
    render: Callable[[Recollection], str],
    budget: int,
    count_tokens: Callable[[str], int],
) -> tuple[list[Recollection], int]:
    """Take items in order while their lines fit in ``budget``; return them and tokens used."""
    taken: list[Recollection] = []
    used = 0
    for item in items:
        cost = count_tokens(render(item)) + 2
        if used + cost > budget:
            continue
        taken.append(item)
        used += cost
    return taken, used


def _as_chat(message: Message) -> dict[str, str]:
    content = f"{message.name}: {message.content}" if message.name else message.content
    return {"role": message.role, "content": content}


def build_prompt(
    *,
    system_prompt: str,
    profile: Sequence[Recollection],
    recollections: Sequence[Recollection],
    history: Sequence[Message],
    turn: Sequence[Message],
    budget: int,
    count_tokens: Callable[[str], int],
    profile_first: bool = False,
    preferences: Sequence[str] = (),
    mood_note: str | None = None,
) -> Prompt:
    """Assemble the prompt for one turn under ``budget`` tokens (the turn itself always goes in).

    Profile facts are kept first; recollections are chosen by score, then shown oldest first;
    history fills what budget remains, newest messages kept. The context is prepended to the
    turn's last message, which must be a user message; with ``profile_first`` the profile
    goes at the end of the system message instead. ``preferences`` (how the person wants
    to be answered) always end the system message: they change rarely, so they stay in the
    cached prefix. ``mood_note`` leads the turn, just before the question.
    """
    said = [_as_chat(m) for m in turn if m.role != "system"]
    system = "\n\n".join([system_prompt, *(m.content for m in turn if m.role == "system")])
    if preferences:
        system += "\n\nHow I want you to reply, always:\n" + "\n".join(
            f"- {p}" for p in preferences
        )
    remaining = budget - count_tokens(system) - sum(count_tokens(m["content"]) for m in said)
    remaining -= count_tokens(mood_note) if mood_note else 0
    kept_profile, used = _fit(profile, lambda r: r.text, remaining, count_tokens)
    remaining -= used
    kept_memories, used = _fit(recollections, _dated, remaining, count_tokens)
    remaining -= used
    kept_memories.sort(key=lambda r: (r.created_at is None, r.created_at))

    sections: list[str] = []
    if kept_profile and profile_first:
        system += "\n\nFacts about me, the person you talk to:\n" + "\n".join(
            f"- {r.text}" for r in kept_profile
        )
    elif kept_profile:
        sections.append("Facts about me:\n" + "\n".join(f"- {r.text}" for r in kept_profile))
    if kept_memories:
        sections.append(
            "Things I said earlier that may be relevant:\n"
            + "\n".join(f"- {_dated(r)}" for r in kept_memories)
        )

    kept_history: ChatMessages = []
    for message in reversed(history):
        chat = _as_chat(message)
        cost = count_tokens(chat["content"]) + 4
        if cost > remaining:
            break
        kept_history.insert(0, chat)
        remaining -= cost

    if mood_note:
        sections.append(mood_note)
    if sections:
        # Small models use context best right before the question; the system text and
        # history stay an unchanged prefix across turns, so prefix caches still hit.
        said[-1] = {**said[-1], "content": "\n\n".join([*sections, said[-1]["content"]])}
    messages: ChatMessages = [{"role": "system", "content": system}, *kept_history, *said]
    return Prompt(messages=messages, context=[*kept_profile, *kept_memories])
