"""Property-based attacks through the SDK (hypothesis): isolation and hostile strings.

Users with generated ids (any Unicode, look-alikes, prefixes of one another) each say
something only they said; nothing one of them can read holds another's words. Generated
strings, lone surrogates and control characters included, go into every field the SDK takes:
each call either works or raises a ``ConfidanteError``, and the assistant works afterwards.
``CONFIDANTE_PROPERTY_EXAMPLES`` sets the examples (``make stress`` runs more).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from uuid import uuid4

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from confidante import Assistant, ConfidanteError, Feedback, Settings
from confidante.testing import HashEmbedder, ScriptedLLM

EXAMPLES = int(os.environ.get("CONFIDANTE_PROPERTY_EXAMPLES", "25"))
# Every code point, lone surrogates and controls included.
ANY_TEXT = st.text(st.characters(codec=None, categories=None), max_size=40)
USER_IDS = st.text(st.characters(codec="utf-8"), min_size=1, max_size=30).filter(str.strip)
AT_MOST = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    database=None,
)


@pytest.fixture(scope="module")
def assistant(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Assistant]:
    root: Path = tmp_path_factory.mktemp("properties")
    with Assistant.open(
        settings=Settings(data_dir=root), llm=ScriptedLLM(["Noted."]), embeddings=HashEmbedder()
    ) as opened:
        yield opened


def readable_by(assistant: Assistant, user_id: str) -> str:
    """Everything the SDK lets one read about ``user_id``, as one text."""
    parts = [r.text for r in assistant.memories(user_id)]
    parts += [r.text for r in assistant.recall(user_id, "secret word", k=20)]
    parts += [f.statement for f in assistant.profile(user_id).facts]
    parts.append(repr(assistant.export(user_id)))
    return "\n".join(parts)


@AT_MOST
@given(ids=st.lists(USER_IDS, min_size=2, max_size=4, unique=True))
def test_no_user_reads_another_users_words(assistant: Assistant, ids: list[str]) -> None:
    run = uuid4().hex[:8]  # the module's assistant outlives examples: fresh users each time
    users = [f"{user_id}{run}" for user_id in ids] + [ids[0]]  # a prefix of another id, too
    users = list(dict.fromkeys(users))
    secrets = {user: f"zq{uuid4().hex[:10]}" for user in users}
    for user, secret in secrets.items():
        assistant.observe(user, [{"role": "user", "content": f"My secret word is {secret}."}])
    for user in users:
        seen = readable_by(assistant, user)
        assert secrets[user] in seen
        for other, secret in secrets.items():
            if other != user:
                assert secret not in seen, (user, other)
    assistant.forget(ids[0])  # and the prefix's own data does not take the others' with it
    for user in users[:-1]:
        assert secrets[user] in readable_by(assistant, user)


def works_or_refuses(call: object) -> None:
    assert callable(call)
    try:
        call()
    except ConfidanteError:
        pass


@AT_MOST
@given(text=ANY_TEXT, other=ANY_TEXT)
def test_hostile_strings_work_or_raise_typed_errors(
    assistant: Assistant, text: str, other: str
) -> None:
    user = f"hostile-{uuid4().hex[:8]}"
    message = {"role": "user", "content": text or "x", "id": other or None, "name": other or None}
    works_or_refuses(lambda: assistant.observe(text, [{"role": "user", "content": "hello"}]))
    works_or_refuses(lambda: assistant.observe(user, [message]))
    works_or_refuses(lambda: assistant.chat(user, [{"role": "user", "content": text}]))
    works_or_refuses(lambda: assistant.recall(user, text, k=3))
    works_or_refuses(lambda: assistant.recall(text, "hello", k=3))
    works_or_refuses(lambda: assistant.profile(text))
    works_or_refuses(lambda: assistant.export(text))
    works_or_refuses(lambda: assistant.memories(user, limit=2, after=text))
    works_or_refuses(lambda: assistant.delete_memory(user, text))
    works_or_refuses(
        lambda: assistant.rate(Feedback(interaction_id=text or "x", score=3, comment=other))
    )
    # Still whole: a plain turn is stored and recalled.
    assistant.observe(user, [{"role": "user", "content": "I keep bees on the roof."}])
    assert any("bees" in r.text for r in assistant.recall(user, "bees", k=5))
