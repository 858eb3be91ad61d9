"""The README's HTTP examples (curl, openai, SDK, LangChain) run as written on a live server."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import test_serving_helpers as helpers
from test_serving_helpers import Live

keyed = helpers.keyed  # a module-scoped fixture

README = Path(__file__).parents[1] / "README.md"
DOCUMENTED = "http://127.0.0.1:8000"


def section_blocks(language: str) -> list[str]:
    text = README.read_text()
    section = text[text.index("## HTTP endpoint") :]
    section = section[: section.index("\n## ", 1)]
    return re.findall(rf"```{language}\n(.*?)```", section, flags=re.S)


def test_python_examples_run_as_written(keyed: Live, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("CONFIDANTE_API_KEY", keyed.keys["maria"])
    blocks = section_blocks("py")
    assert len(blocks) == 2
    for block in blocks:
        exec(compile(block.replace(DOCUMENTED, keyed.url), "README.md", "exec"), {})


@pytest.mark.skipif(shutil.which("curl") is None, reason="needs curl")
def test_curl_examples_run_as_written(keyed: Live):
    curl = next(b for b in section_blocks("bash") if "curl" in b)
    env = {**os.environ, "CONFIDANTE_API_KEY": keyed.keys["sam"]}
    done = subprocess.run(
        ["bash", "-c", "set -e\n" + curl.replace(DOCUMENTED, keyed.url)],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0, done.stderr
    assert '"interaction_id"' in done.stdout and "Porto" in done.stdout
    assert '"error"' not in done.stdout
