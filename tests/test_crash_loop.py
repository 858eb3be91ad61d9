"""Kill -9 a writer at random moments: no acknowledged turn is lost, nothing is corrupted.

Each trial starts a process that opens the assistant (learning what the last crash left
unlearned), then stores turns, sending the ids of each one the SDK acknowledged (``observe``
returned, or ``chat`` replied) up a pipe; it is killed with SIGKILL at a random moment. After
each kill, the database and Chroma's pass ``PRAGMA integrity_check`` and hold every
acknowledged id; at the end the assistant opens and recalls what was said. Processes come
from a fork server that imported Confidante once, so a trial costs its work, not an import.
``CONFIDANTE_CRASH_TRIALS`` sets the trials (``make stress`` runs more).
"""

from __future__ import annotations

import multiprocessing
import os
import random
import signal
import sqlite3
import time
from multiprocessing.connection import Connection
from pathlib import Path

from confidante import Assistant, Settings
from confidante.testing import HashEmbedder, ScriptedLLM

TRIALS = int(os.environ.get("CONFIDANTE_CRASH_TRIALS", "20"))


def write_until_killed(data_dir: str, trial: int, acks: Connection) -> None:
    """Child: store turns as fast as it can, acknowledging each one up ``acks``."""
    settings = Settings(data_dir=Path(data_dir))
    with Assistant.open(
        settings=settings, llm=ScriptedLLM(["Noted."]), embeddings=HashEmbedder()
    ) as assistant:
        assistant.recall("user0", "canal", k=1)  # opens Chroma, which is lazy
        acks.send(("ready", []))
        n = 0
        while True:
            user = f"user{n % 3}"
            message_id = f"t{trial}-m{n}"
            if n % 2:
                content = f"Trial {trial} turn {n}: I walked along canal {n}."
                assistant.observe(user, [{"role": "user", "content": content, "id": message_id}])
                acks.send(("message", [message_id]))
            else:
                turn = [{"role": "user", "content": f"Trial {trial} turn {n}: rowing {n}?"}]
                reply = assistant.chat(user, turn)
                acks.send(("interaction", [reply.interaction_id]))
            n += 1


def integrity(path: Path) -> str:
    with sqlite3.connect(path) as connection:
        return connection.execute("PRAGMA integrity_check").fetchone()[0]


def stored_ids(database: Path, table: str) -> set[str]:
    with sqlite3.connect(database) as connection:
        return {row[0] for row in connection.execute(f"SELECT id FROM {table}")}


def test_no_acknowledged_turn_is_lost_to_kill_9(tmp_path: Path) -> None:
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["confidante", "confidante.agent.assistant", "chromadb"])
    data_dir = tmp_path / "data"
    acknowledged: dict[str, set[str]] = {"message": set(), "interaction": set()}
    draw = random.Random(20)
    for trial in range(TRIALS):
        receiving, sending = context.Pipe(duplex=False)
        writer = context.Process(target=write_until_killed, args=(str(data_dir), trial, sending))
        writer.start()
        sending.close()
        assert receiving.poll(120), "the writer did not open the assistant"
        assert receiving.recv()[0] == "ready"
        # Anywhere from the first turn's write to a dozen turns in.
        time.sleep(draw.uniform(0.02, 0.8))
        os.kill(writer.pid or 0, signal.SIGKILL)
        writer.join(30)
        assert writer.exitcode == -signal.SIGKILL
        while receiving.poll():  # what was acknowledged before the kill
            try:
                kind, ids = receiving.recv()
            except EOFError:
                break
            if kind != "ready":
                acknowledged[kind].update(ids)
        receiving.close()
        database = data_dir / "confidante.db"
        assert integrity(database) == "ok"
        assert integrity(data_dir / "chroma" / "chroma.sqlite3") == "ok"
        assert acknowledged["message"] <= stored_ids(database, "messages")
        assert acknowledged["interaction"] <= stored_ids(database, "interactions")
    assert acknowledged["message"] and acknowledged["interaction"], acknowledged
    settings = Settings(data_dir=data_dir)
    with Assistant.open(settings=settings, llm=ScriptedLLM(["ok"]), embeddings=HashEmbedder()) as a:
        memories = {m.id for m in a.memories("user1")}
        assert {f"msg:{m}" for m in acknowledged["message"]} & memories
        assert a.recall("user1", "canal", k=3)
