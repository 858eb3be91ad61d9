"""One writer per data dir: a second assistant is refused with the holder named, never diverges."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from confidante import AsyncAssistant, DataDirInUseError, Settings
from confidante.testing import HashEmbedder, ScriptedLLM

_HOLDER = """
import sys, time
from pathlib import Path
from confidante import Assistant, Settings
from confidante.testing import HashEmbedder, ScriptedLLM

settings = Settings(data_dir=Path(sys.argv[1]))
assistant = Assistant.open(settings=settings, llm=ScriptedLLM(["ok"]), embeddings=HashEmbedder())
assistant.observe("carl", [{"role": "user", "content": "I live in Oslo."}])
print("ready", flush=True)
time.sleep(600)
"""


def _open(data_dir: Path) -> AsyncAssistant:
    return AsyncAssistant.open(
        settings=Settings(data_dir=data_dir), llm=ScriptedLLM(["ok"]), embeddings=HashEmbedder()
    )


@pytest.fixture
def holder(tmp_path: Path) -> Iterator[subprocess.Popen[str]]:
    """Another process with ``tmp_path`` open for writing, as a running server would have."""
    process = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(tmp_path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "ready"
        yield process
    finally:
        process.kill()
        process.wait(30)


async def test_a_second_assistant_in_this_process_is_refused_until_the_first_closes(
    tmp_path: Path,
) -> None:
    first = _open(tmp_path)
    with pytest.raises(DataDirInUseError, match="this process") as refused:
        _open(tmp_path)
    assert str(tmp_path) in str(refused.value)
    await first.observe("ana", [{"role": "user", "content": "I live in Porto."}])
    await first.close()
    second = _open(tmp_path)
    try:
        assert (await second.profile("ana")).facts
    finally:
        await second.close()


async def test_another_process_is_named_and_its_crash_frees_the_dir(
    tmp_path: Path, holder: subprocess.Popen[str]
) -> None:
    with pytest.raises(DataDirInUseError) as refused:
        _open(tmp_path)
    assert f"process {holder.pid}" in str(refused.value)
    assert "DELETE /v1/users/me" in str(refused.value)  # what to do instead

    os.kill(holder.pid, signal.SIGKILL)  # the kernel lets go of the lock with the process
    holder.wait(30)
    after = _open(tmp_path)
    try:
        assert any("Oslo" in f.statement for f in (await after.profile("carl")).facts)
    finally:
        await after.close()


def test_cli_forget_is_refused_while_held_and_readers_still_work(
    tmp_path: Path, holder: subprocess.Popen[str]
) -> None:
    env = {**os.environ, "CONFIDANTE_DATA_DIR": str(tmp_path), "NO_COLOR": "1"}
    env |= {"COLUMNS": "300", "HF_HUB_OFFLINE": "1"}

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "confidante", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )

    forget = cli("forget", "--user", "carl", "--yes")
    assert forget.returncode != 0
    assert f"process {holder.pid}" in forget.stderr
    assert "Traceback" not in forget.stderr
    profile = cli("profile", "--user", "carl")  # the database alone: no lock needed
    assert profile.returncode == 0, profile.stderr
    assert "Oslo" in profile.stdout
