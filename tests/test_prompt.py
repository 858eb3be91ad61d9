"""Prompt assembly under a token budget."""

from __future__ import annotations

from datetime import UTC, datetime

from confidante.agent.prompt import build_prompt
from confidante.llm.base import approximate_tokens
from confidante.records import Message, Recollection, RecollectionKind


def memory(i: int, text: str, kind: RecollectionKind = "message", day: int = 1) -> Recollection:
    return Recollection(
        id=f"r{i}",
        text=text,
        kind=kind,
        score=1.0 / i,  # type: ignore[arg-type]
        source_ids=[f"m{i}"],
        created_at=datetime(2024, 1, day, tzinfo=UTC),
    )


def words(n: int, word: str = "word") -> str:
    return " ".join([word] * n)


def build(budget: int, profile=(), recollections=(), history=(), turn=None):
    return build_prompt(
        system_prompt="Be brief.",
        profile=list(profile),
        recollections=list(recollections),
        history=list(history),
        turn=turn or [Message(role="user", content="What now?")],
        budget=budget,
        count_tokens=lambda text: len(text.split()),
    )


def test_layout_system_history_then_context_and_question():
    prompt = build(
        200,
        profile=[memory(1, "Ana lives in Rome", "profile")],
        recollections=[memory(3, "I bought a bike", day=9), memory(2, "I sold my car", day=2)],
        history=[Message(role="user", content="hello"), Message(role="assistant", content="hi")],
    )
    roles = [m["role"] for m in prompt.messages]
    assert roles == ["system", "user", "assistant", "user"]
    assert prompt.messages[0]["content"] == "Be brief."
    last = prompt.messages[-1]["content"]
    assert (
        last.index("Ana lives in Rome")
        < last.index("I sold my car")
        < last.index("I bought a bike")
        < last.index("What now?")
    )  # profile, then memories oldest first
    assert "[2024-01-02] I sold my car" in last
    assert [r.id for r in prompt.context] == ["r1", "r2", "r3"]


def test_budget_drops_what_does_not_fit_and_context_reports_only_what_went_in():
    big = memory(1, words(50, "big"))
    small = memory(2, "small memory")
    prompt = build(20, recollections=[big, small])
    assert [r.id for r in prompt.context] == ["r2"]
    assert "big" not in prompt.messages[-1]["content"]


def test_history_keeps_newest_messages_within_budget():
    history = [Message(role="user", content=words(8, f"old{i}")) for i in range(5)]
    prompt = build(30, history=history)
    kept = [m["content"] for m in prompt.messages[1:-1]]
    assert kept == [history[-2].content, history[-1].content]


def test_turn_always_goes_in_and_system_messages_join_the_system_text():
    turn = [
        Message(role="system", content="Answer in French."),
        Message(role="user", content=words(100)),
    ]
    prompt = build(5, profile=[memory(1, "x", "profile")], turn=turn)
    assert prompt.messages[0]["content"] == "Be brief.\n\nAnswer in French."
    assert prompt.messages[-1]["content"] == words(100)
    assert prompt.context == []


def test_speaker_names_are_kept():
    prompt = build(100, history=[Message(role="user", content="hey", name="Caroline")])
    assert prompt.messages[1]["content"] == "Caroline: hey"


def test_approximate_tokens_is_positive():
    assert approximate_tokens("") == 1 and approximate_tokens("x" * 40) == 11
