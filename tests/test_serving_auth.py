"""Authentication that fails closed, over real HTTP on loopback: revocation, local mode chosen
at start and ended by the first key, loopback Host and Origin, key expiry and rate limits."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
import test_serving_helpers as helpers
from test_serving_helpers import Live
from typer.testing import CliRunner

from confidante import (
    Client,
    InsecureBindError,
    InvalidInputError,
    RateLimitExceededError,
    Settings,
)
from confidante.cli.app import app
from confidante.serving.keys import KeyStore
from confidante.serving.server import check_bind, serve
from confidante.testing import HashEmbedder, ScriptedLLM


@pytest.fixture
def keyed(tmp_path: Path) -> Iterator[Live]:
    """A server (auth on, the default) with keys for maria and sam."""
    yield from helpers.start(tmp_path, users=("maria", "sam"))


@pytest.fixture
def local(tmp_path: Path) -> Iterator[Live]:
    """A server started in local mode (``--no-auth``)."""
    yield from helpers.start(tmp_path, no_auth=True)


def error_of(response: httpx.Response, status: int) -> dict[str, object]:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    return error


def remember(live: Live, user: str, text: str, headers: dict[str, str] | None = None) -> None:
    sent = httpx.post(
        f"{live.url}/v1/observe",
        json={"user": user, "messages": [{"role": "user", "content": text}]},
        headers=headers or {},
    )
    assert sent.status_code == 200, sent.text


def test_revoking_every_key_locks_the_server_instead_of_opening_it(keyed: Live):
    remember(keyed, "maria", "my locker code is zebra-41", keyed.headers("maria"))
    for key in keyed.service.keys.list():
        keyed.service.keys.revoke(key.id)
    attempts = [
        httpx.get(f"{keyed.url}/v1/export", params={"user": "maria"}),
        httpx.get(
            f"{keyed.url}/v1/export", params={"user": "maria"}, headers=keyed.headers("maria")
        ),
        httpx.get(f"{keyed.url}/v1/profile", headers={"Authorization": "Bearer local"}),
        httpx.post(f"{keyed.url}/v1/memories/search", json={"user": "maria", "query": "locker"}),
        httpx.get(f"{keyed.url}/v1/models"),
    ]
    for answer in attempts:
        assert error_of(answer, 401)["type"] == "authentication_error"
        assert "zebra" not in answer.text


def test_without_no_auth_a_server_with_no_keys_refuses_everyone(tmp_path: Path):
    for live in helpers.start(tmp_path):
        answer = httpx.get(f"{live.url}/v1/export", params={"user": "kim"})
        assert "keys create" in str(error_of(answer, 401)["message"])
        assert httpx.get(f"{live.url}/health").status_code == 200


def test_local_mode_ends_for_good_with_the_first_key(local: Live):
    remember(local, "kim", "my bank PIN is 9931")
    secret = local.key(user="kim")
    assert error_of(httpx.get(f"{local.url}/v1/export", params={"user": "kim"}), 401)
    with_key = httpx.get(f"{local.url}/v1/export", headers={"Authorization": f"Bearer {secret}"})
    assert "9931" in with_key.text
    for key in local.service.keys.list():
        local.service.keys.revoke(key.id)
    again = httpx.get(f"{local.url}/v1/export", params={"user": "kim"})
    assert error_of(again, 401) and "9931" not in again.text


def test_local_mode_answers_loopback_names_only(local: Live):
    remember(local, "kim", "my passport number is X123")
    port = local.url.rsplit(":", 1)[1]
    export = f"{local.url}/v1/export"
    for host in (f"localhost:{port}", f"127.0.0.1:{port}", "localhost"):
        assert httpx.get(export, params={"user": "kim"}, headers={"Host": host}).status_code == 200
    for host in (f"attacker.example:{port}", "127.0.0.1.nip.io", f"[::ffff:8.8.8.8]:{port}"):
        refused = httpx.get(export, params={"user": "kim"}, headers={"Host": host})
        assert error_of(refused, 403)["type"] == "permission_error"
        assert "X123" not in refused.text
    for origin in ("http://attacker.example", "null", "file://", f"http://evil.test:{port}"):
        refused = httpx.post(
            f"{local.url}/v1/forget", params={"user": "kim"}, headers={"Origin": origin}
        )
        assert error_of(refused, 403)["code"] == "permission_denied"
    fine = httpx.get(export, params={"user": "kim"}, headers={"Origin": f"http://localhost:{port}"})
    assert "X123" in fine.text  # the refused forget requests did nothing


def test_local_mode_is_chosen_at_start_and_only_where_safe(tmp_path: Path):
    keys = KeyStore.open(tmp_path)
    check_bind("127.0.0.1", keys, no_auth=True)
    with pytest.raises(InsecureBindError, match="loopback only"):
        check_bind("0.0.0.0", keys, no_auth=True)
    key, _ = keys.create(user_id="maria")
    keys.revoke(key.id)
    with pytest.raises(InsecureBindError, match="keys only"):
        check_bind("127.0.0.1", keys, no_auth=True)
    keys.close()
    settings = Settings(data_dir=tmp_path, cache_dir=tmp_path / "cache", server_no_auth=True)
    with pytest.raises(InsecureBindError):
        serve(settings, llm=ScriptedLLM(), embeddings=HashEmbedder())


def test_expired_keys_are_refused(keyed: Live):
    _, brief = keyed.service.keys.create(user_id="maria", expires_in=timedelta(milliseconds=50))
    _, lasting = keyed.service.keys.create(user_id="maria", expires_in=timedelta(days=30))
    time.sleep(0.1)
    expired = httpx.get(f"{keyed.url}/v1/models", headers={"Authorization": f"Bearer {brief}"})
    assert "expired" in str(error_of(expired, 401)["message"])
    fine = httpx.get(f"{keyed.url}/v1/models", headers={"Authorization": f"Bearer {lasting}"})
    assert fine.status_code == 200


def test_a_key_over_its_rate_limit_gets_429_and_others_are_unaffected(keyed: Live):
    _, limited = keyed.service.keys.create(user_id="maria", rate_limit_per_minute=3)
    headers = {"Authorization": f"Bearer {limited}"}
    for _ in range(3):
        assert httpx.get(f"{keyed.url}/v1/models", headers=headers).status_code == 200
    refused = httpx.get(f"{keyed.url}/v1/models", headers=headers)
    error = error_of(refused, 429)
    assert error["type"] == "requests" and error["code"] == "rate_limit_exceeded"
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert httpx.get(f"{keyed.url}/v1/models", headers=keyed.headers("sam")).status_code == 200
    with Client(keyed.url, api_key=limited) as client, pytest.raises(RateLimitExceededError):
        client.export("maria")


def test_keys_cli_sets_expiry_and_rate_limit(tmp_path: Path):
    runner = CliRunner()
    made = runner.invoke(
        app,
        [
            "keys",
            "create",
            "--user",
            "ana",
            "--expires-in-days",
            "7",
            "--rate-limit",
            "30",
            "--json",
            "--data-dir",
            str(tmp_path),
        ],
    )
    assert made.exit_code == 0, made.output
    assert '"rate_limit_per_minute": 30' in made.output and '"expires_at": "' in made.output
    bad = runner.invoke(
        app, ["keys", "create", "--user", "ana", "--rate-limit", "0", "--data-dir", str(tmp_path)]
    )
    assert isinstance(bad.exception, InvalidInputError) and "at least 1" in str(bad.exception)
    listed = runner.invoke(
        app, ["keys", "list", "--data-dir", str(tmp_path)], env={"COLUMNS": "200"}
    )
    assert "30/min" in listed.output


def test_a_key_store_from_before_expiry_gains_the_new_columns(tmp_path: Path):
    import sqlite3

    old = sqlite3.connect(tmp_path / "confidante.db")
    old.executescript(
        "CREATE TABLE api_keys (id TEXT PRIMARY KEY, prefix TEXT NOT NULL, hash TEXT NOT NULL "
        "UNIQUE, user_id TEXT, admin INTEGER NOT NULL DEFAULT 0, created_at TEXT NOT NULL, "
        "revoked_at TEXT);"
    )
    old.close()
    keys = KeyStore.open(tmp_path)
    key, secret = keys.create(user_id="ana", rate_limit_per_minute=5)
    assert keys.verify(secret) == key and key.rate_limit_per_minute == 5
    keys.close()
