"""What Confidante writes is for its owner only: the data dir 0700, the database and training
batches 0600, whatever the umask lets others read."""

from __future__ import annotations

import stat
from pathlib import Path

from confidante import Assistant, Feedback, Settings
from confidante.serving.keys import KeyStore
from confidante.testing import HashEmbedder, ScriptedLLM


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_data_dir_is_0700_and_files_0600(settings: Settings):
    settings = settings.model_copy(
        update={"distill_min_examples": 1, "distill_validation_fraction": 0.0}
    )
    with Assistant.open(
        settings=settings, llm=ScriptedLLM(["Noted."]), embeddings=HashEmbedder()
    ) as a:
        reply = a.chat("kim", [{"role": "user", "content": "My doctor says my blood test is fine"}])
        a.rate(Feedback(interaction_id=reply.interaction_id, score=5))
        assert a.inner.distiller is not None
        batch = a.inner.distiller.run().batch
        assert batch is not None
    root = settings.data_dir
    assert mode(root) == 0o700
    for database in root.glob("confidante.db*"):
        assert mode(database) == 0o600, database
    batch_files = [p for p in batch.path.iterdir() if p.is_file()]
    assert batch_files and all(mode(p) == 0o600 for p in batch_files)


def test_an_open_data_dir_is_narrowed_and_a_key_store_dir_made_private(tmp_path: Path):
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    shared.chmod(0o755)
    settings = Settings(data_dir=shared, cache_dir=tmp_path / "cache")
    with Assistant.open(settings=settings, llm=ScriptedLLM(), embeddings=HashEmbedder()):
        pass
    assert mode(shared) == 0o700
    KeyStore.open(tmp_path / "keys-only").close()
    assert mode(tmp_path / "keys-only") == 0o700
    assert mode(tmp_path / "keys-only" / "confidante.db") == 0o600


def test_an_existing_open_dir_is_narrowed_by_the_key_store_too(tmp_path: Path):
    # `confidante keys create` may be the first command run on a data dir made by hand.
    made = tmp_path / "made-by-hand"
    made.mkdir(mode=0o755)
    made.chmod(0o755)
    KeyStore.open(made).close()
    assert mode(made) == 0o700
