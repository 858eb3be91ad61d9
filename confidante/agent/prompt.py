"""Prompt assembly: stable system text and profile first, then recollections, then history.

The stable part leads so that a serving engine's prefix cache hits across a user's turns.
Everything is fitted under a token budget; what did not fit is not reported as context.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from confidante.agent.llm import ChatMessages
from confidante.records import Message, Recollection


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
) -> Prompt:
    """Assemble the prompt for one turn under ``budget`` tokens (the turn itself always goes in).

    Profile facts are kept first; recollections are chosen by score, then shown oldest first;
    history fills what budget remains, newest messages kept.
    """
    remaining = budget - count_tokens(system_prompt)
    kept_profile, used = _fit(profile, lambda r: r.text, remaining, count_tokens)
    remaining -= used
    kept_memories, used = _fit(recollections, _dated, remaining, count_tokens)
    remaining -= used
    kept_memories.sort(key=lambda r: (r.created_at is None, r.created_at))

    sections = [system_prompt]
    if kept_profile:
        sections.append(
            "What you know about the user:\n" + "\n".join(f"- {r.text}" for r in kept_profile)
        )
    if kept_memories:
        sections.append(
            "Things said earlier that may be relevant:\n"
            + "\n".join(f"- {_dated(r)}" for r in kept_memories)
        )
    system = [m for m in turn if m.role == "system"]
    sections.extend(m.content for m in system)

    kept_history: list[dict[str, str]] = []
    for message in reversed(history):
        chat = _as_chat(message)
        cost = count_tokens(chat["content"]) + 4
        if cost > remaining:
            break
        kept_history.insert(0, chat)
        remaining -= cost

    messages: ChatMessages = [{"role": "system", "content": "\n\n".join(sections)}]
    messages.extend(kept_history)
    messages.extend(_as_chat(m) for m in turn if m.role != "system")
    return Prompt(messages=messages, context=[*kept_profile, *kept_memories])
