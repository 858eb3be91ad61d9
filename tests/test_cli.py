"""The real command line, run as a new user would: subprocesses, and a pseudo-terminal for chat.

Chat generates through the real HTTP backend against a scripted OpenAI-compatible server on
loopback (tests/openai_stub.py), with the real embedder, Chroma and SQLite; only the words of
the replies are scripted.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from importlib.metadata import version
from pathlib import Path

import pexpect
import pytest
from openai_stub import StubServer, openai_stub

MARKUP = "Hello [your name], this stays: [/b] and [bold]this[/bold]."
STORY = " ".join(f"word{i}" for i in range(40))
SLOW = " ".join(f"tick{i}" for i in range(300))


def script(prompt: str) -> tuple[str, float]:
    question = prompt.strip().splitlines()[-1]  # recollections come before the question
    if "markup" in question:
        return MARKUP, 0.0
    if "story" in question:
        return STORY, 0.1
    if "slowly" in question:
        return SLOW, 0.1
    return "Noted.", 0.0


def cli_env(data_dir: Path, stub: StubServer | None = None, **extra: str) -> dict[str, str]:
    env = {**os.environ, "CONFIDANTE_DATA_DIR": str(data_dir), "HF_HUB_OFFLINE": "1"}
    env |= {"NO_COLOR": "1", "TERM": "dumb", "COLUMNS": "200"}
    if stub is not None:
        backend = {"CONFIDANTE_LLM_URL": stub.url, "CONFIDANTE_LLM_MODEL": "stub"}
        env |= {"CONFIDANTE_LLM_BACKEND": "vllm", **backend}
    return env | extra


def run(*args: str, env: dict[str, str], input: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "confidante", *args],
        env=env,
        input=input,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture
def stub() -> Iterator[StubServer]:
    with openai_stub(script) as server:
        yield server


def spawn_chat(env: dict[str, str], *, timeout: int = 180) -> pexpect.spawn:
    return pexpect.spawn(
        sys.executable,
        ["-m", "confidante", "chat", "--user", "maria"],
        env=env,
        encoding="utf-8",
        timeout=timeout,
        dimensions=(50, 200),
    )


def start_chat(data_dir: Path, stub: StubServer) -> pexpect.spawn:
    child = spawn_chat(cli_env(data_dir, stub))
    child.expect_exact("you> ")
    return child


def quit_chat(child: pexpect.spawn) -> None:
    child.sendline("/quit")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0


def test_help_and_version_answer_without_loading_anything(tmp_path: Path):
    helped = run("--help", env=cli_env(tmp_path))
    assert helped.returncode == 0
    for command in ("chat", "profile", "export", "forget", "serve", "keys", "models"):
        assert re.search(rf"^\s+{command}\s", helped.stdout, re.MULTILINE), command
    shown = run("--version", env=cli_env(tmp_path))
    assert shown.returncode == 0 and shown.stdout.strip() == f"confidante {version('confidante')}"
    assert not any(tmp_path.iterdir())  # nothing was opened


def test_keys_create_prints_only_the_key_on_stdout(tmp_path: Path):
    env = cli_env(tmp_path)
    created = run("keys", "create", "--user", "bob", env=env)
    assert created.returncode == 0
    assert re.fullmatch(r"cfd_\S+\n", created.stdout), created.stdout
    assert "shown only now" in created.stderr
    as_json = run("keys", "create", "--admin", "--json", env=env)
    details = json.loads(as_json.stdout)
    assert details["admin"] is True and details["key"].startswith(details["prefix"])
    listed = run("keys", "list", env=env)
    assert created.stdout.strip()[:12] in listed.stdout and details["prefix"] in listed.stdout


@pytest.mark.parametrize(
    "command",
    [
        ["profile", "--user", "bob"],
        ["export", "--user", "bob"],
        ["forget", "--user", "bob", "--yes"],
        ["keys", "list"],
        ["keys", "revoke", "key_x"],
        ["distill"],
        ["rate", "int_x", "--score", "5"],
    ],
)
def test_commands_that_read_refuse_a_data_dir_that_does_not_exist(tmp_path: Path, command):
    missing = tmp_path / "typo"
    done = run(*command, "--data-dir", str(missing), env=cli_env(tmp_path))
    assert done.returncode == 1
    assert "No data directory at" in done.stderr and str(missing) in done.stderr
    assert "Traceback" not in done.stderr
    assert not missing.exists()


def test_demo_removes_its_temporary_directory(tmp_path: Path, stub: StubServer):
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    done = run("demo", env=cli_env(tmp_path / "unused", stub, TMPDIR=str(scratch)))
    assert done.returncode == 0, done.stderr
    assert "Session 2" in done.stdout and "Profile of maria" in done.stdout
    assert "lives in Lisbon" in done.stdout  # learned in session 1, shown after the restart
    assert list(scratch.glob("confidante-demo-*")) == []
    assert len(stub.requests) == 10  # five turns in each session


def test_chat_streams_replies_as_text_and_ctrl_c_stops_only_the_reply(
    tmp_path: Path, stub: StubServer
):
    child = start_chat(tmp_path, stub)
    child.sendline("tell me a story")
    child.expect_exact("assistant> word0")
    assert "word39" not in str(child.before)
    child.expect_exact("word39")  # the rest arrives while we watch
    child.expect_exact("you> ")

    child.sendline("show me markup")
    child.expect_exact(MARKUP)  # brackets printed as typed, no MarkupError
    child.expect_exact("you> ")

    child.sendline("count slowly")
    child.expect_exact("tick1 ")
    child.sendintr()
    child.expect_exact("[stopped]", timeout=10)
    child.expect_exact("you> ")
    assert "tick299" not in str(child.before)
    quit_chat(child)
    assert stub.cut_off == 1  # the server's stream was closed, not drained


def test_chat_slash_commands_stay_local(tmp_path: Path, stub: StubServer):
    child = start_chat(tmp_path, stub)
    child.sendline("/help")
    child.expect_exact("/forget")
    child.sendline("I live in Porto.")
    child.expect_exact("Noted.")
    child.sendline("/profile")
    child.expect_exact("lives in Porto")
    child.sendline("/recall where do I live")
    child.expect_exact("I live in Porto.")
    child.sendline("/nonsense")
    child.expect_exact("Unknown command /nonsense")
    quit_chat(child)

    sent = [m["content"] for request in stub.requests for m in request]
    assert not any(text.startswith("/") for text in sent), sent
    exported = run("export", "--user", "maria", env=cli_env(tmp_path))
    assert exported.returncode == 0, exported.stderr
    assert "/help" not in exported.stdout and "/profile" not in exported.stdout
    assert "I live in Porto." in exported.stdout

    child = start_chat(tmp_path, stub)
    child.sendline("/forget")
    child.expect_exact("[y/N]")
    child.sendline("y")
    child.expect_exact("Forgot everything about maria")
    child.sendline("/profile")
    child.expect_exact("No facts about maria yet")
    child.sendeof()
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0


@pytest.mark.slow
def test_chat_with_the_real_model_streams_and_ctrl_c_stops_it(tmp_path: Path):
    child = spawn_chat(cli_env(tmp_path), timeout=300)
    child.expect_exact("you> ")  # embedder and SmolLM2 loaded before the first prompt
    child.sendline("Tell me a very long story about a dragon who lives by the sea.")
    child.expect_exact("assistant> ", timeout=120)
    child.expect(r"\w+")  # a first word, streamed
    child.sendintr()
    child.expect_exact("[stopped]", timeout=15)
    child.expect_exact("you> ")
    quit_chat(child)


HEAVY = ("chromadb", "torch", "transformers", "sentence_transformers", "networkx", "langchain_core")
IMPORTED_AFTER = """
import sys
from confidante.cli import main
sys.argv = ["confidante", *sys.argv[1:]]
try:
    main()
except SystemExit:
    pass
print("IMPORTED", sorted(name for name in {heavy!r} if name in sys.modules), file=sys.stderr)
"""


def heavy_imports(*args: str, env: dict[str, str]) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", IMPORTED_AFTER.format(heavy=HEAVY), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    line = next(x for x in done.stderr.splitlines() if x.startswith("IMPORTED"))
    return json.loads(line.removeprefix("IMPORTED ").replace("'", '"'))


def test_commands_that_load_no_model_import_no_heavy_library(tmp_path: Path, stub: StubServer):
    env = cli_env(tmp_path, stub)
    chatted = subprocess.run(
        [sys.executable, "-m", "confidante", "chat", "--user", "bob"],
        env=env, input="I live in Porto.\n/quit\n", capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert chatted.returncode == 0, chatted.stderr
    for command in (
        ["--help"],
        ["--version"],
        ["keys", "list"],
        ["profile", "--user", "bob"],
        ["export", "--user", "bob"],
    ):
        assert heavy_imports(*command, env=env) == [], command
    # --help and --version do not even build the settings (pydantic-settings takes a while)
    probe = IMPORTED_AFTER.format(heavy=("pydantic", "pydantic_settings", "sqlite3"))
    for command in ("--help", "--version"):
        done = subprocess.run(
            [sys.executable, "-c", probe, command], env=env, capture_output=True, text=True
        )
        assert "IMPORTED []" in done.stderr, done.stderr


def test_chat_shows_one_progress_line_while_it_loads(tmp_path: Path, stub: StubServer):
    child = spawn_chat(cli_env(tmp_path, stub, TERM="xterm"))  # a terminal showing live status
    child.expect_exact("Loading the embedder...")
    child.expect_exact("Asking the model server for stub...")
    child.expect_exact("you> ")
    quit_chat(child)
