"""Forget means gone, byte for byte: after ``forget`` no file of Confidante's holds the user's
text, ids or the raw float32 bytes of their vectors, and after a restart no file of Chroma's
does either (Chroma's store is scrubbed before Chroma opens it)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np

from confidante import Assistant, Feedback, Settings
from confidante.testing import HashEmbedder, ScriptedLLM

MARKER = "Quokkaplumvault"


def planted(settings: Settings) -> tuple[list[bytes], list[bytes]]:
    """Fill the victim's memory (flushed to Chroma by a reopen) and a bystander's; returns the
    victim's byte markers and the bystander's."""
    embedder = HashEmbedder()
    texts = [f"My locker code at {MARKER} gym is {i}{i}{i}" for i in range(40)]
    ids: list[str] = []
    with Assistant.open(settings=settings, llm=ScriptedLLM(["Noted."]), embeddings=embedder) as a:
        for index, text in enumerate(texts):
            message_id = f"victim-supplied-id-{index:03d}"
            a.observe("victim", [{"role": "user", "content": text, "id": message_id}])
            ids.append(message_id)
            a.observe("bystander", [{"role": "user", "content": f"I keep bees, hive {index}"}])
        reply = a.chat("victim", [{"role": "user", "content": f"What is my {MARKER} code?"}])
        a.rate(Feedback(interaction_id=reply.interaction_id, score=5))
        assert a.inner.distiller is not None
        assert a.inner.distiller.run().batch is not None  # training rows with the victim's text
        ids.append(reply.interaction_id)
    vectors = embedder.embed_documents(texts[:10])
    # Stored as float32: a vector's first eight components are distinctive enough.
    vector_bytes = [np.asarray(v, dtype=np.float32).tobytes()[:32] for v in vectors]
    victim = [MARKER.encode(), MARKER.lower().encode(), *(i.encode() for i in ids), *vector_bytes]
    return victim, [b"hive 7"]


def files_holding(root: Path, markers: list[bytes]) -> dict[str, list[bytes]]:
    found: dict[str, list[bytes]] = {}
    for path in root.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            hits = [m for m in markers if m in data]
            if hits:
                found[str(path.relative_to(root))] = hits
    return found


RESTART = """
import sys
from pathlib import Path
from confidante import Assistant, Settings
from confidante.testing import HashEmbedder, ScriptedLLM
settings = Settings(data_dir=Path(sys.argv[1]), cache_dir=Path(sys.argv[2]))
with Assistant.open(settings=settings, llm=ScriptedLLM(), embeddings=HashEmbedder()) as a:
    assert a.recall("victim", "locker code") == []
    found = [r.text for r in a.recall("bystander", "hive 7", k=3)]
    assert found and found[0].endswith("hive 7"), found
    if sys.argv[3:] == ["write"]:  # the store still takes writes after the scrub
        a.observe("victim", [{"role": "user", "content": "A fresh start in a new town"}])
        assert a.recall("victim", "fresh start")
"""


def test_forget_leaves_no_text_id_or_vector_byte_on_disk(settings: Settings):
    settings = settings.model_copy(
        update={"distill_min_examples": 1, "distill_validation_fraction": 0.0}
    )
    victim, bystander = planted(settings)
    root = settings.data_dir
    assert files_holding(root, victim)  # the markers are there to be found
    chroma = root / "chroma"
    folders_before = {p.name for p in chroma.iterdir() if p.is_dir()}
    with Assistant.open(settings=settings, llm=ScriptedLLM(), embeddings=HashEmbedder()) as a:
        assert a.recall("victim", "locker code")
        a.forget("victim")
        outside_chroma = {k: v for k, v in files_holding(root, victim).items() if "chroma" not in k}
        assert outside_chroma == {}  # the database, batches and adapters at once
        assert a.recall("bystander", "bees hive")  # the others' vectors still answer
    restart = [sys.executable, "-c", RESTART, str(root), str(settings.cache_dir)]
    done = subprocess.run(restart, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert files_holding(root, victim) == {}  # Chroma's files too, after the restart
    folders_after = {p.name for p in chroma.iterdir() if p.is_dir()}
    assert len(folders_after) == len(folders_before) - 1  # the victim's index folder is gone
    # In another process again: this one's Chroma stays open until it exits (as a restarted
    # server's would be its only one).
    again = subprocess.run([*restart, "write"], capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr[-2000:]
    assert files_holding(root, victim) == {}
    assert files_holding(root, bystander)
