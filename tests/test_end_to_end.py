"""The real thing: packaged embedder, prepared SmolLM2 in process, Chroma, SQLite, restart."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from confidante import Assistant, Settings

pytestmark = pytest.mark.slow


def test_facts_from_session_one_reach_session_two(
    settings: Settings, real_llm, packaged_embeddings
):
    with Assistant.open(settings=settings, llm=real_llm, embeddings=packaged_embeddings) as a:
        first = a.chat("maria", [{"role": "user", "content": "Hi! My name is Maria."}])
        a.chat("maria", [{"role": "user", "content": "I'm allergic to peanuts."}])
        assert first.content.strip()  # the real model said something
        told = {m["id"] for m in a.export("maria")["messages"] if m["role"] == "user"}

    # A new assistant on the same directory: nothing shared but the files.
    with Assistant.open(settings=settings, llm=real_llm, embeddings=packaged_embeddings) as b:
        reply = b.chat("maria", [{"role": "user", "content": "Suggest a snack for me."}])
        assert reply.content.strip()
        profile = {r.text for r in reply.context if r.kind == "profile"}
        assert "Maria is allergic to peanuts" in profile
        sources = {s for r in reply.context for s in r.source_ids}
        assert sources and sources <= told
        found = b.recall("maria", "peanut allergy", k=3)
        assert found and set(found[0].source_ids) <= told
        stored = b.export("maria")["interactions"][-1]
        assert "Maria is allergic to peanuts" in stored["prompt"][-1]["content"]
        assert stored["model"] == "SmolLM2-135M-Instruct"


def test_cli_reads_the_same_store_from_a_new_process(settings: Settings, packaged_embeddings):
    from confidante.testing import ScriptedLLM

    with Assistant.open(settings=settings, llm=ScriptedLLM(), embeddings=packaged_embeddings) as a:
        a.observe("sam", [{"role": "user", "content": "I live in Oslo.", "id": "o1"}])
    env = {**os.environ, "CONFIDANTE_DATA_DIR": str(settings.data_dir)}
    cli = [sys.executable, "-m", "confidante"]
    shown = subprocess.run(
        [*cli, "profile", "--user", "sam"], env=env, capture_output=True, text=True, check=True
    )
    assert "lives in Oslo" in shown.stdout and "o1" in shown.stdout
    exported = subprocess.run(
        [*cli, "export", "--user", "sam"], env=env, capture_output=True, text=True, check=True
    )
    assert json.loads(exported.stdout)["messages"][0]["id"] == "o1"
    missing = subprocess.run(
        [*cli, "profile", "--user", "nobody"], env=env, capture_output=True, text=True
    )
    assert missing.returncode == 1 and "chat with or observe" in missing.stderr  # errors: stderr
    subprocess.run(
        [*cli, "forget", "--user", "sam", "--yes"], env=env, check=True, capture_output=True
    )
    gone = subprocess.run(
        [*cli, "profile", "--user", "sam"], env=env, capture_output=True, text=True
    )
    assert gone.returncode == 1


def test_models_prepare_is_idempotent(tmp_path: Path):
    from confidante.llm.weights import is_prepared, prepare_model, prepared_model_dir

    cache = Settings().cache_dir
    path = prepare_model(cache)
    assert path == prepared_model_dir(cache) and is_prepared(path)
    before = (path / "model.safetensors").stat().st_mtime_ns
    assert prepare_model(cache) == path
    assert (path / "model.safetensors").stat().st_mtime_ns == before


def test_readme_python_example_runs_as_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    readme = (Path(__file__).parents[1] / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", readme, flags=re.S)
    assert blocks
    monkeypatch.chdir(tmp_path)
    for block in blocks:
        exec(compile(block, "README.md", "exec"), {})
    assert (tmp_path / "my-data" / "confidante.db").exists()


def test_interactive_cli_chat_shows_recollections(settings: Settings):
    env = {**os.environ, "CONFIDANTE_DATA_DIR": str(settings.data_dir), "COLUMNS": "200"}
    typed = "I live in Oslo.\nWhere do I live?\n/recall\n/quit\n"
    done = subprocess.run(
        [sys.executable, "-m", "confidante", "chat", "--user", "kim"],
        input=typed,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("assistant>") == 2
    recalled = done.stdout.split("/recall")[-1] if "/recall" in done.stdout else done.stdout
    assert "lives in Oslo" in recalled
