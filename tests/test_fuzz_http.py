"""Schemathesis against the app in process: every answer is declared, none is a 5xx.

Requests are generated from the OpenAPI schema, valid and invalid, with a user key and with
none; each response must have a status the schema declares for that route, the declared
content type and body, and never be a server error. ``CONFIDANTE_FUZZ_EXAMPLES`` sets the
examples per route (``make stress`` runs more).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import negative_data_rejection, positive_data_acceptance

from confidante import AsyncAssistant, Settings
from confidante.records import ChatMessages
from confidante.serving.server import Service
from confidante.testing import HashEmbedder, ScriptedLLM

EXAMPLES = int(os.environ.get("CONFIDANTE_FUZZ_EXAMPLES", "20"))
# Generated requests are slow to make and filter; that is the point here.
SUPPRESSED = [HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large]


def reply(messages: ChatMessages) -> str:
    return "Noted."


def build_service() -> tuple[Service, str]:
    root = Path(tempfile.mkdtemp(prefix="confidante-fuzz-"))
    assistant_settings = Settings(
        data_dir=root / "data",
        server_max_body_bytes=20_000,
        server_max_messages=8,
        server_max_tokens=64,
    )
    assistant = AsyncAssistant.open(
        settings=assistant_settings, llm=ScriptedLLM(reply), embeddings=HashEmbedder()
    )
    service = Service.build(assistant, host="127.0.0.1")
    key = service.keys.create(user_id="fuzzed")[1]
    return service, key


SERVICE, KEY = build_service()
schema = schemathesis.openapi.from_asgi("/openapi.json", SERVICE.app)


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=SUPPRESSED,
    database=None,
)
def test_every_answer_is_declared_and_none_is_a_server_error(case: schemathesis.Case) -> None:
    case.call_and_validate(
        headers={"Authorization": f"Bearer {KEY}"},
        # The limits on lengths and counts are settings, so not in the schema: a request the
        # schema allows may still be over one, and is then rightly a 400. A request the
        # schema forbids may be refused for its size first (413), which schemathesis counts
        # as accepting it; every status is still checked against the declared ones.
        excluded_checks=[
            positive_data_acceptance,
            negative_data_rejection,
        ],
    )


@schema.parametrize()
@settings(
    max_examples=max(3, EXAMPLES // 4),
    deadline=None,
    suppress_health_check=SUPPRESSED,
    database=None,
)
def test_without_a_key_nothing_but_health_answers(case: schemathesis.Case) -> None:
    response = case.call()
    if case.path in ("/health", "/ready", "/openapi.json", "/docs"):
        return
    assert response.status_code in (400, 401, 404, 405, 413), response.text
