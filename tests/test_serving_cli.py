"""`confidante keys ...` and `confidante serve`'s refusal to listen beyond loopback without keys."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from confidante import InsecureBindError, Settings
from confidante.cli.app import app
from confidante.serving.keys import KeyStore
from confidante.serving.server import serve
from confidante.testing import HashEmbedder, ScriptedLLM


def test_keys_create_list_revoke(tmp_path: Path):
    runner = CliRunner()
    created = runner.invoke(app, ["keys", "create", "--user", "maria", "--data-dir", str(tmp_path)])
    assert created.exit_code == 0, created.output
    secret = created.output.strip().splitlines()[-1]
    keys = KeyStore.open(tmp_path)
    key = keys.verify(secret)
    assert key is not None and key.user_id == "maria"
    listed = runner.invoke(
        app, ["keys", "list", "--data-dir", str(tmp_path)], env={"COLUMNS": "200"}
    )
    assert key.prefix in listed.output and secret not in listed.output
    revoked = runner.invoke(app, ["keys", "revoke", key.id, "--data-dir", str(tmp_path)])
    assert revoked.exit_code == 0 and keys.verify(secret) is None
    keys.close()


def test_serve_refuses_a_public_host_without_keys(tmp_path: Path):
    settings = Settings(data_dir=tmp_path, cache_dir=tmp_path / "cache", server_host="0.0.0.0")
    with pytest.raises(InsecureBindError):
        serve(settings, llm=ScriptedLLM(), embeddings=HashEmbedder())
