"""Encryption at rest: with a master key set, no file Confidante writes holds a user's words in
plain bytes; everything reads back; a wrong, missing or exposed key is refused; forgetting a
user erases their data key, so a backup of their rows stays ciphertext; a plain data dir is
encrypted in place by ``confidante encryption enable``."""

from __future__ import annotations

import base64
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import SecretStr

from confidante import Assistant, Feedback, Settings
from confidante.encryption import KEYRING_FILE, new_master_key, open_database
from confidante.errors import EncryptionError, EncryptionKeyError
from confidante.testing import HashEmbedder, ScriptedLLM
from confidante.training.distill import Distiller
from confidante.training.train import load_rows, open_batch

MARKER = "Zanzibarquill"


def key_file(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "master.key"
    path.write_text(new_master_key() + "\n")
    path.chmod(0o600)
    return path


@pytest.fixture
def encrypted(settings: Settings, tmp_path: Path) -> Settings:
    return settings.model_copy(
        update={
            "encryption_key_file": key_file(tmp_path / "secrets"),
            "distill_min_examples": 1,
            "distill_validation_fraction": 0.0,
        }
    )


def plant(settings: Settings, user: str = "victim") -> str:
    """A history for ``user`` with the marker in every kind of store; returns a reply's id."""
    llm = ScriptedLLM([f"Glad you like {MARKER} tea."])
    with Assistant.open(settings=settings, llm=llm, embeddings=HashEmbedder()) as a:
        a.observe(user, [{"role": "user", "content": f"I live in {MARKER}.", "name": "Ines"}])
        a.observe(user, [{"role": "user", "content": f"My sister {MARKER} is a nurse."}])
        reply = a.chat(user, [{"role": "user", "content": f"I love {MARKER} tea."}])
        a.rate(
            Feedback(
                interaction_id=reply.interaction_id,
                score=5,
                comment=f"{MARKER} was right",
                correction=f"Say {MARKER} more often.",
            )
        )
        a.observe("bystander", [{"role": "user", "content": "I keep bees in Braga."}])
        assert a.inner.distiller is not None
        assert a.inner.distiller.run().batch is not None
    return reply.interaction_id


def files_holding(root: Path, marker: bytes) -> list[str]:
    return [
        str(p.relative_to(root))
        for p in root.rglob("*")
        if p.is_file() and marker in p.read_bytes()
    ]


def test_no_plain_words_on_disk_and_everything_reads_back(encrypted: Settings):
    plant(encrypted)
    root = encrypted.data_dir
    # The marker is in no file: the database and its log, the batches, the key ring, Chroma.
    assert files_holding(root, MARKER.encode()) == []
    assert files_holding(root, b"bees in Braga") == []
    assert (root / KEYRING_FILE).stat().st_mode & 0o777 == 0o600

    with Assistant.open(settings=encrypted, llm=ScriptedLLM(), embeddings=HashEmbedder()) as a:
        profile = a.profile("victim")
        assert any(f.object == MARKER for f in profile.facts), profile.facts
        assert any(MARKER in r.text for r in a.recall("victim", f"{MARKER} tea", k=3))
        export = a.export("victim")
        texts = [m["content"] for m in export["messages"]]
        assert f"I love {MARKER} tea." in texts
        assert export["ratings"][0]["correction"] == f"Say {MARKER} more often."
        assert export["messages"][0]["name"] == "Ines"
        assert MARKER in str(export["interactions"][0]["prompt"])
        assert a.recall("bystander", "bees")[0].text == "I keep bees in Braga."

    # Training reads the sealed batch rows back with the key ring.
    distiller = Distiller.open(encrypted)
    try:
        batch_id = distiller.batches()[0].batch_id
    finally:
        distiller.close()
    database = open_database(encrypted)
    try:
        rows = load_rows(open_batch(encrypted, batch_id), "victim", sealer=database.sealer)
    finally:
        database.close()
    assert MARKER in rows.sft_train[0]["completion"][0]["content"]


def test_the_key_is_refused_when_wrong_missing_malformed_exposed_or_beside_the_data(
    encrypted: Settings, tmp_path: Path
):
    plant(encrypted)
    wrong = encrypted.model_copy(update={"encryption_key_file": key_file(tmp_path / "other")})
    with pytest.raises(EncryptionKeyError, match="another key"):
        open_database(wrong)
    missing = encrypted.model_copy(update={"encryption_key_file": None})
    with pytest.raises(EncryptionKeyError, match="is encrypted"):
        Assistant.open(settings=missing, llm=ScriptedLLM(), embeddings=HashEmbedder())
    malformed = tmp_path / "malformed.key"
    malformed.write_text("not a key")
    malformed.chmod(0o600)
    with pytest.raises(EncryptionKeyError, match="not base64"):
        open_database(encrypted.model_copy(update={"encryption_key_file": malformed}))
    short = encrypted.model_copy(
        update={
            "encryption_key_file": None,
            "encryption_key": SecretStr(base64.b64encode(b"k" * 16).decode()),
        }
    )
    with pytest.raises(EncryptionKeyError, match="16 bytes"):
        open_database(short)
    assert encrypted.encryption_key_file is not None
    encrypted.encryption_key_file.chmod(0o644)
    with pytest.raises(EncryptionKeyError, match="chmod 600"):
        open_database(encrypted)
    encrypted.encryption_key_file.chmod(0o600)
    beside = encrypted.data_dir / "master.key"
    shutil.copy(encrypted.encryption_key_file, beside)
    beside.chmod(0o600)
    with pytest.raises(EncryptionKeyError, match="inside the data dir"):
        open_database(encrypted.model_copy(update={"encryption_key_file": beside}))
    # The same key given in the environment's form opens it.
    as_text = encrypted.encryption_key_file.read_text().strip()
    inline = encrypted.model_copy(
        update={"encryption_key_file": None, "encryption_key": SecretStr(as_text)}
    )
    open_database(inline).close()


def test_a_master_key_is_refused_on_plain_data_until_it_is_encrypted(
    settings: Settings, tmp_path: Path
):
    plain = settings.model_copy(
        update={"distill_min_examples": 1, "distill_validation_fraction": 0.0}
    )
    interaction_id = plant(plain)
    assert files_holding(plain.data_dir, MARKER.encode())
    keyed = plain.model_copy(update={"encryption_key_file": key_file(tmp_path / "secrets")})
    with pytest.raises(EncryptionError, match="unencrypted data"):
        open_database(keyed)

    from confidante.agent.encrypt import enable_encryption

    report = enable_encryption(keyed)
    assert report.values > 10 and report.batch_rows >= 1
    assert files_holding(plain.data_dir, MARKER.encode()) == []
    assert enable_encryption(keyed).values == 0  # a rerun finds nothing left to seal
    with Assistant.open(settings=keyed, llm=ScriptedLLM(), embeddings=HashEmbedder()) as a:
        assert any(f.object == MARKER for f in a.profile("victim").facts)
        export = a.export("victim")
        assert any(i["id"] == interaction_id for i in export["interactions"])
        assert export["ratings"][0]["comment"] == f"{MARKER} was right"
        assert a.recall("victim", f"{MARKER} tea", k=1)[0].text == f"I love {MARKER} tea."


def test_forget_erases_the_data_key_so_a_backup_stays_ciphertext(encrypted: Settings):
    plant(encrypted)
    plant(encrypted, user="bystander")
    root = encrypted.data_dir
    backup = root.parent / "backup.db"
    with sqlite3.connect(root / "confidante.db") as source, sqlite3.connect(backup) as copy:
        source.backup(copy)

    with Assistant.open(settings=encrypted, llm=ScriptedLLM(), embeddings=HashEmbedder()) as a:
        a.forget("victim")
    keyring = sqlite3.connect(root / KEYRING_FILE)
    owners = [r[0] for r in keyring.execute("SELECT user_id FROM data_keys")]
    keyring.close()
    assert owners == ["bystander"]

    # The backup's rows are all there, but the victim's can no longer be opened.
    copy = sqlite3.connect(backup)
    rows = dict(
        copy.execute(
            "SELECT user_id, content FROM messages WHERE user_id IN ('victim', 'bystander')"
            " GROUP BY user_id"
        ).fetchall()
    )
    copy.close()
    database = open_database(encrypted)
    try:
        with pytest.raises(EncryptionError, match="forgotten user"):
            database.sealer.unseal("victim", rows["victim"])
        assert database.sealer.unseal("bystander", rows["bystander"])
    finally:
        database.close()


def test_a_changed_or_moved_value_is_refused(encrypted: Settings):
    plant(encrypted)
    plant(encrypted, user="other")
    path = encrypted.data_dir / "confidante.db"
    with sqlite3.connect(path) as conn:
        (victim_text,) = conn.execute(
            "SELECT content FROM messages WHERE user_id = 'victim' LIMIT 1"
        ).fetchone()
    database = open_database(encrypted)
    try:
        sealer = database.sealer
        assert sealer.unseal("victim", victim_text) == f"I live in {MARKER}."
        with pytest.raises(EncryptionError, match="another user's key"):
            sealer.unseal("other", victim_text)  # a row copied into another user's history
        head, _, body = victim_text.rpartition(":")
        raw = bytearray(base64.b64decode(body))
        raw[-1] ^= 1
        with pytest.raises(EncryptionError, match="damaged"):
            sealer.unseal("victim", f"{head}:{base64.b64encode(bytes(raw)).decode()}")
        with pytest.raises(EncryptionError, match="not encrypted"):
            sealer.unseal("victim", "plain words slipped in")
    finally:
        database.close()


def test_rotating_the_master_key_rewraps_the_data_keys(encrypted: Settings, tmp_path: Path):
    from confidante.encryption import rotate_master_key

    plant(encrypted)
    plant(encrypted, user="other")
    new_file = key_file(tmp_path / "new")
    assert rotate_master_key(encrypted, new_file) == 3  # victim, other, bystander
    with pytest.raises(EncryptionKeyError, match="another key"):
        open_database(encrypted)  # the old key no longer opens it
    rotated = encrypted.model_copy(update={"encryption_key_file": new_file})
    with Assistant.open(settings=rotated, llm=ScriptedLLM(), embeddings=HashEmbedder()) as a:
        assert any(f.object == MARKER for f in a.profile("victim").facts)
        assert a.recall("other", f"{MARKER} tea", k=1)[0].text == f"I love {MARKER} tea."


def test_cli_makes_a_private_key_file_and_never_overwrites_one(tmp_path: Path):
    env = {**os.environ, "CONFIDANTE_DATA_DIR": str(tmp_path / "data")}
    out = tmp_path / "master.key"
    command = [sys.executable, "-m", "confidante", "encryption", "new-key", "--out", str(out)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert out.stat().st_mode & 0o777 == 0o600
    assert len(base64.b64decode(out.read_text().strip())) == 32
    again = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert again.returncode != 0 and "never overwritten" in again.stderr


def test_plain_data_is_found_under_any_path(tmp_path: Path):
    from confidante.encryption import holds_user_data

    odd = tmp_path / "data ?#dir"
    odd.mkdir()
    database = odd / "confidante.db"
    with sqlite3.connect(database) as conn:
        conn.execute("CREATE TABLE messages (content TEXT)")
    assert holds_user_data(database) is False
    with sqlite3.connect(database) as conn:
        conn.execute("INSERT INTO messages VALUES ('hello')")
    assert holds_user_data(database) is True
