"""Background processes: extraction and exports away from the serving process, at lower priority."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from confidante import AsyncAssistant, Settings
from confidante.agent.background import BackgroundWork, _ready
from confidante.agent.components import _default_extractor
from confidante.graph.schema import SELF
from confidante.testing import HashEmbedder, ScriptedLLM

STATEMENT = "I live in Lisbon and I work as a nurse at the Lisbon Children's Hospital."


def _gone(pid: int, within_s: float = 15.0) -> bool:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    return False


def _worker_pid(work: BackgroundWork) -> int:
    pid = work._call(_ready)
    assert pid is not None
    return pid


def _assistant(data_dir: Path, background: int) -> AsyncAssistant:
    settings = Settings(data_dir=data_dir, background_processes=background)
    return AsyncAssistant.open(
        settings=settings, llm=ScriptedLLM(["ok"]), embeddings=HashEmbedder()
    )


async def test_learning_and_export_match_the_in_process_ones(tmp_path: Path) -> None:
    answers = {}
    for background in (0, 1):
        assistant = _assistant(tmp_path / str(background), background)
        try:
            assistant.start_background()
            await assistant.observe("ana", [{"role": "user", "content": STATEMENT}])
            facts = (await assistant.profile("ana")).facts
            exported = json.loads(await assistant.export_json("ana"))
            assert exported["user_id"] == "ana"
            answers[background] = (
                sorted(f.statement for f in facts),
                [m["content"] for m in exported["messages"]],
                sorted(f["statement"] for f in exported["facts"]),
            )
        finally:
            await assistant.close()
    assert answers[1] == answers[0]
    assert "The user lives in Lisbon" in answers[1][0]


def test_workers_run_elsewhere_at_lower_priority_and_a_dead_one_is_replaced(
    tmp_path: Path,
) -> None:
    settings = Settings(data_dir=tmp_path)
    work = BackgroundWork(settings, extractor=_default_extractor(), processes=1, niceness=5)
    try:
        work.start()
        pid = _worker_pid(work)
        assert pid != os.getpid()
        assert os.getpriority(os.PRIO_PROCESS, pid) == os.getpriority(os.PRIO_PROCESS, 0) + 5
        os.kill(pid, signal.SIGKILL)
        assert _gone(pid)
        # The call that finds the worker dead is answered here; the next one by a new worker.
        found = work.extract(STATEMENT, speaker=SELF)
        assert {c.predicate for c in found} >= {"lives_in", "job"}
        replaced = _worker_pid(work)
        assert replaced != pid
        assert work.extract(STATEMENT, speaker=SELF) == found
    finally:
        work.close()


# A server that starts a worker and is then killed: it never gets to stop its workers.
_VANISHING_SERVER = """
import os, sys
from pathlib import Path
from confidante import Settings
from confidante.agent.background import BackgroundWork, _ready
from confidante.agent.components import _default_extractor

if __name__ == "__main__":
    work = BackgroundWork(
        Settings(data_dir=Path(sys.argv[1])),
        extractor=_default_extractor(),
        processes=1,
        niceness=1,
    )
    print(work._call(_ready), flush=True)
    os._exit(0)
"""


def test_a_worker_ends_when_its_server_is_killed(tmp_path: Path) -> None:
    server = subprocess.run(
        [sys.executable, "-c", _VANISHING_SERVER, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    worker = int(server.stdout.strip())
    assert worker != server.returncode  # a pid came back, not an empty line
    assert _gone(worker), "the worker outlived its server"


async def test_export_of_an_unknown_user_is_typed(tmp_path: Path) -> None:
    from confidante import UnknownUserError

    assistant = _assistant(tmp_path, 1)
    try:
        with pytest.raises(UnknownUserError):
            await assistant.export_json("nobody")
    finally:
        await assistant.close()
