"""Encryption at rest, opt-in: each user's text sealed with their own data key.

A value is sealed with AES-256-GCM (``cryptography``) under the user's data key, a random
key made on the user's first write. Data keys are stored wrapped (AES-GCM again) by the
operator's master key, in ``keyring.db`` beside the data; the master key itself comes from a
setting or a file outside the data dir and is never written by Confidante. Forgetting a user
deletes their data key (``erase``), so a copy of their rows restored from a backup stays
ciphertext for good.

A sealed value reads ``cf1:<key id>:<base64 of nonce + ciphertext>``; the key id is
authenticated with it, so a value cannot be decrypted under another user's key unnoticed.
What is not sealed (vectors in Chroma, ids, times, fact predicates) is listed in the README.
"""

from __future__ import annotations

import base64
import binascii
import os
import secrets
import sqlite3
import threading
from collections import OrderedDict
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from confidante.config import Settings
from confidante.database import PLAIN_TEXT, Database, Sealer
from confidante.errors import EncryptionError, EncryptionKeyError
from confidante.records import utc_now

TOKEN_PREFIX = "cf1:"
KEYRING_FILE = "keyring.db"
DATABASE_FILE = "confidante.db"
KEY_BYTES = 32
NONCE_BYTES = 12
# Known plain text sealed by the master key: tells a wrong master key from damaged data.
KEY_CHECK = b"confidante master key check v1"

KEYRING_SCHEMA = """
CREATE TABLE IF NOT EXISTS data_keys (
    key_id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL UNIQUE,
    wrapped BLOB NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS keyring_meta (
    name TEXT PRIMARY KEY,
    value BLOB NOT NULL
);
"""


def new_master_key() -> str:
    """A fresh random master key, as the base64 text a key file or the setting holds."""
    return base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode()


def _decode_master_key(text: str, origin: str) -> bytes:
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise EncryptionKeyError(
            f"The master key in {origin} is not base64; make one with "
            "`confidante encryption new-key`."
        ) from exc
    if len(key) != KEY_BYTES:
        raise EncryptionKeyError(
            f"The master key in {origin} is {len(key)} bytes, not {KEY_BYTES}; make one with "
            "`confidante encryption new-key`."
        )
    return key


def load_master_key(settings: Settings, data_dir: Path) -> bytes | None:
    """The configured master key, or None when encryption is off.

    A key file must be outside the data dir (a key kept beside the data protects nothing)
    and readable by its owner only.
    """
    if settings.encryption_key is not None and settings.encryption_key_file is not None:
        raise EncryptionKeyError(
            "Both CONFIDANTE_ENCRYPTION_KEY and CONFIDANTE_ENCRYPTION_KEY_FILE are set; keep one."
        )
    if settings.encryption_key is not None:
        return _decode_master_key(
            settings.encryption_key.get_secret_value(), "CONFIDANTE_ENCRYPTION_KEY"
        )
    path = settings.encryption_key_file
    if path is None:
        return None
    path = path.expanduser().resolve()
    if path.is_relative_to(data_dir.expanduser().resolve()):
        raise EncryptionKeyError(
            f"The master key file {path} is inside the data dir {data_dir}; keep it "
            "elsewhere (another disk, a secrets mount), or a copy of the data carries its key."
        )
    try:
        if path.stat().st_mode & 0o077:
            raise EncryptionKeyError(
                f"The master key file {path} can be read by other accounts; run `chmod 600 {path}`."
            )
        text = path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        raise EncryptionKeyError(f"Cannot read the master key file {path}: {exc}") from exc
    return _decode_master_key(text, str(path))


def _seal_bytes(aead: AESGCM, data: bytes, associated: bytes) -> bytes:
    nonce = os.urandom(NONCE_BYTES)
    return nonce + aead.encrypt(nonce, data, associated)


def _open_bytes(aead: AESGCM, sealed: bytes, associated: bytes) -> bytes:
    return aead.decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], associated)


def _wrapping_context(key_id: str, user_id: str) -> bytes:
    return f"data key {key_id} of {user_id}".encode()


class UserKeySealer:
    """Seals each user's text with their data key; the keys live wrapped in ``keyring``.

    Unwrapped keys are cached for ``cached_users`` users. Thread-safe.
    """

    encrypted = True

    def __init__(self, master_key: bytes, keyring: Database, *, cached_users: int) -> None:
        self._master = AESGCM(master_key)
        self._keyring = keyring
        self._lock = threading.Lock()
        self._cached_users = cached_users
        # Unwrapped keys by user and by key id, least recently used first.
        self._by_user: OrderedDict[str, tuple[str, AESGCM]] = OrderedDict()
        self._by_key: OrderedDict[str, tuple[str, AESGCM]] = OrderedDict()
        keyring.script(KEYRING_SCHEMA)
        self._check_master_key()

    def _check_master_key(self) -> None:
        rows = self._keyring.query("SELECT value FROM keyring_meta WHERE name = 'check'")
        if not rows:
            with self._keyring.transaction() as conn:
                conn.execute(
                    "INSERT OR IGNORE INTO keyring_meta VALUES ('check', ?)",
                    (_seal_bytes(self._master, KEY_CHECK, b"check"),),
                )
            return
        try:
            _open_bytes(self._master, rows[0]["value"], b"check")
        except InvalidTag:
            raise EncryptionKeyError(
                f"The master key does not open {self._keyring.path}: this data dir was "
                "encrypted with another key. Set the key it was created with."
            ) from None

    def _unwrap(self, key_id: str, user_id: str, wrapped: bytes) -> tuple[str, AESGCM]:
        try:
            key = _open_bytes(self._master, wrapped, _wrapping_context(key_id, user_id))
        except InvalidTag:
            raise EncryptionError(
                f"The data key {key_id} in {self._keyring.path} is damaged or was moved."
            ) from None
        entry = (key_id, AESGCM(key))
        self._remember(self._by_user, user_id, entry)
        self._remember(self._by_key, key_id, (user_id, entry[1]))
        return entry

    def _remember(
        self, cache: OrderedDict[str, tuple[str, AESGCM]], name: str, entry: tuple[str, AESGCM]
    ) -> None:
        cache[name] = entry
        cache.move_to_end(name)
        while len(cache) > self._cached_users:
            cache.popitem(last=False)

    @staticmethod
    def _recall(
        cache: OrderedDict[str, tuple[str, AESGCM]], name: str
    ) -> tuple[str, AESGCM] | None:
        entry = cache.get(name)
        if entry is not None:
            cache.move_to_end(name)
        return entry

    def _own_key(self, user_id: str) -> tuple[str, AESGCM]:
        with self._lock:
            held = self._recall(self._by_user, user_id)
            if held is not None:
                return held
            key_id = secrets.token_hex(8)
            key = secrets.token_bytes(KEY_BYTES)
            with self._keyring.transaction() as conn:
                conn.execute(
                    "INSERT OR IGNORE INTO data_keys VALUES (?, ?, ?, ?)",
                    (
                        key_id,
                        user_id,
                        _seal_bytes(self._master, key, _wrapping_context(key_id, user_id)),
                        utc_now().isoformat(),
                    ),
                )
            row = self._keyring.query(
                "SELECT key_id, wrapped FROM data_keys WHERE user_id = ?", (user_id,)
            )[0]
            return self._unwrap(row["key_id"], user_id, row["wrapped"])

    def _key_named(self, key_id: str) -> tuple[str, AESGCM]:
        with self._lock:
            held = self._recall(self._by_key, key_id)
            if held is not None:
                return held
            rows = self._keyring.query(
                "SELECT user_id, wrapped FROM data_keys WHERE key_id = ?", (key_id,)
            )
            if not rows:
                raise EncryptionError(
                    f"No data key {key_id} in {self._keyring.path}: the value belongs to a "
                    "forgotten user (its key was erased) or to another data dir."
                )
            user_id = rows[0]["user_id"]
            _, aead = self._unwrap(key_id, user_id, rows[0]["wrapped"])
            return user_id, aead

    def seal(self, user_id: str, text: str) -> str:
        """``text`` sealed with the user's data key (made on first use)."""
        key_id, aead = self._own_key(user_id)
        sealed = _seal_bytes(aead, text.encode("utf-8"), key_id.encode())
        return f"{TOKEN_PREFIX}{key_id}:{base64.b64encode(sealed).decode()}"

    def unseal(self, user_id: str | None, stored: str) -> str:
        """The text of a sealed value; ``EncryptionError`` if its key is gone or it was altered."""
        if not stored.startswith(TOKEN_PREFIX):
            raise EncryptionError(
                f"A stored value in {self._keyring.path.removesuffix(KEYRING_FILE)} is not "
                "encrypted; run `confidante encryption enable` on this data dir."
            )
        key_id, _, body = stored[len(TOKEN_PREFIX) :].partition(":")
        owner, aead = self._key_named(key_id)
        if user_id is not None and owner != user_id:
            raise EncryptionError(f"A value of {user_id!r} is sealed with another user's key.")
        try:
            return _open_bytes(aead, base64.b64decode(body), key_id.encode()).decode("utf-8")
        except (InvalidTag, binascii.Error, ValueError):
            raise EncryptionError(
                f"A stored value of {owner!r} is damaged and cannot be decrypted."
            ) from None

    def erase(self, user_id: str) -> None:
        """Delete the user's data key from the key ring (and the cache): crypto-erasure."""
        with self._lock:
            held = self._by_user.pop(user_id, None)
            if held is not None:
                self._by_key.pop(held[0], None)
            with self._keyring.transaction() as conn:
                conn.execute("DELETE FROM data_keys WHERE user_id = ?", (user_id,))
            self._keyring.checkpoint()

    def rewrap(self, new_master_key: bytes) -> int:
        """Wrap every data key with ``new_master_key`` instead, atomically; returns how many.

        The sealed values are untouched: only the key ring changes.
        """
        new = AESGCM(new_master_key)
        with self._lock, self._keyring.transaction() as conn:
            rows = conn.execute("SELECT key_id, user_id, wrapped FROM data_keys").fetchall()
            for row in rows:
                context = _wrapping_context(row["key_id"], row["user_id"])
                try:
                    key = _open_bytes(self._master, row["wrapped"], context)
                except InvalidTag:
                    raise EncryptionError(
                        f"The data key {row['key_id']} in {self._keyring.path} is damaged; "
                        "nothing was changed."
                    ) from None
                conn.execute(
                    "UPDATE data_keys SET wrapped = ? WHERE key_id = ?",
                    (_seal_bytes(new, key, context), row["key_id"]),
                )
            conn.execute(
                "UPDATE keyring_meta SET value = ? WHERE name = 'check'",
                (_seal_bytes(new, KEY_CHECK, b"check"),),
            )
        self._master = new
        self._keyring.checkpoint()
        return len(rows)

    def close(self) -> None:
        """Close the key ring."""
        self._keyring.close()


def holds_user_data(database_path: Path) -> bool:
    """Whether the database at ``database_path`` has rows of any user's text."""
    if not database_path.exists():
        return False
    # as_uri escapes what a path may hold ("?", "#", spaces); read-only, so nothing is created.
    conn = sqlite3.connect(f"{database_path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        # Everything stored about a user starts as a message or, added directly, a fact.
        return any(
            conn.execute(f"SELECT 1 FROM {t} LIMIT 1").fetchone()
            for t in ("messages", "facts")
            if t in tables
        )
    except sqlite3.Error as exc:
        raise EncryptionError(f"Cannot read {database_path}: {exc}") from exc
    finally:
        conn.close()


def open_sealer(settings: Settings, data_dir: Path, *, new_data_allowed: bool = False) -> Sealer:
    """The sealer for ``data_dir`` as configured: plain text, or the user keys in its keyring.

    Refuses (``EncryptionKeyError``) an encrypted data dir without its master key, and
    (``EncryptionError``) a master key for a data dir that already holds plain text, unless
    ``new_data_allowed`` (how ``enable_encryption`` starts).
    """
    master = load_master_key(settings, data_dir)
    keyring = data_dir / KEYRING_FILE
    if master is None:
        if keyring.exists():
            raise EncryptionKeyError(
                f"The data dir {data_dir} is encrypted; set CONFIDANTE_ENCRYPTION_KEY_FILE (or "
                "CONFIDANTE_ENCRYPTION_KEY) to its master key."
            )
        return PLAIN_TEXT
    if not keyring.exists() and not new_data_allowed and holds_user_data(data_dir / DATABASE_FILE):
        raise EncryptionError(
            f"The data dir {data_dir} holds unencrypted data; encrypt it in place with "
            "`confidante encryption enable`, or unset the master key."
        )
    return UserKeySealer(master, Database(keyring), cached_users=settings.cached_users)


def rotate_master_key(settings: Settings, new_key_file: Path) -> int:
    """Re-wrap an encrypted data dir's data keys with the master key in ``new_key_file``.

    Opens the key ring with the configured (old) key; afterwards only the new one opens it.
    Returns how many data keys were re-wrapped.
    """
    root = settings.resolved_data_dir()
    if not (root / KEYRING_FILE).exists():
        raise EncryptionError(f"The data dir {root} is not encrypted; there is no key to rotate.")
    new_settings = settings.model_copy(
        update={"encryption_key_file": new_key_file, "encryption_key": None}
    )
    new_key = load_master_key(new_settings, root)
    assert new_key is not None
    sealer = open_sealer(settings, root)
    if not isinstance(sealer, UserKeySealer):
        raise EncryptionKeyError("No master key is set; set the current one to rotate it.")
    try:
        return sealer.rewrap(new_key)
    finally:
        sealer.close()


def open_database(settings: Settings, data_dir: Path | None = None) -> Database:
    """The data dir's database, with the sealer its settings call for."""
    root = settings.resolved_data_dir() if data_dir is None else data_dir
    sealer = open_sealer(settings, root)
    return Database(root / DATABASE_FILE, sealer=sealer)
