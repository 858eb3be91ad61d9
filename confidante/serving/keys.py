"""API keys, stored as sha256 hashes in the assistant's SQLite file, each for one user or admin.

A key is ``cfd_`` plus 32 random bytes (URL-safe base64), so a plain sha256 is enough: there is
nothing to brute-force. Only the hash and a short display prefix are stored; the key itself is
shown once, when it is created. A key may expire and may carry a limit of requests per minute.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import sqlite3
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from confidante.database import Database, make_private_dir
from confidante.errors import InvalidInputError, NotFoundError
from confidante.records import new_id, utc_now, validate_user_id

SCHEMA = """
CREATE TABLE IF NOT EXISTS api_keys (
    id TEXT PRIMARY KEY,
    prefix TEXT NOT NULL,
    hash TEXT NOT NULL UNIQUE,
    user_id TEXT,
    admin INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    revoked_at TEXT,
    expires_at TEXT,
    rate_limit_per_minute INTEGER
);
"""
# Columns added after the first release, for key stores created before them.
ADDED_COLUMNS = {"expires_at": "TEXT", "rate_limit_per_minute": "INTEGER"}
TOKEN_PREFIX = "cfd_"
DISPLAY_CHARS = 12


def hash_token(token: str) -> str:
    """The stored form of a key."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True, kw_only=True)
class ApiKey:
    """A stored key: who it acts for (``user_id``, or any user when ``admin``), never the secret."""

    id: str
    prefix: str
    user_id: str | None
    admin: bool
    created_at: datetime
    revoked_at: datetime | None = None
    expires_at: datetime | None = None
    rate_limit_per_minute: int | None = None

    def active_at(self, now: datetime) -> bool:
        """Whether the key works at ``now``: not revoked, not expired."""
        return self.revoked_at is None and (self.expires_at is None or now < self.expires_at)

    @property
    def active(self) -> bool:
        """Whether the key works now."""
        return self.active_at(utc_now())


def _when(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _key_from_row(row: sqlite3.Row) -> ApiKey:
    return ApiKey(
        id=row["id"],
        prefix=row["prefix"],
        user_id=row["user_id"],
        admin=bool(row["admin"]),
        created_at=datetime.fromisoformat(row["created_at"]),
        revoked_at=_when(row["revoked_at"]),
        expires_at=_when(row["expires_at"]),
        rate_limit_per_minute=row["rate_limit_per_minute"],
    )


class KeyStore:
    """Create, list, revoke and verify API keys in one SQLite database."""

    def __init__(self, database: Database) -> None:
        self.database = database
        database.script(SCHEMA)
        have = {row["name"] for row in database.query("PRAGMA table_info(api_keys)")}
        for column, kind in ADDED_COLUMNS.items():
            if column not in have:
                database.script(f"ALTER TABLE api_keys ADD COLUMN {column} {kind};")

    @classmethod
    def open(cls, data_dir: Path) -> KeyStore:
        """The key store in ``data_dir/confidante.db`` (the assistant's database file)."""
        make_private_dir(data_dir)  # an existing one is narrowed too: it holds key hashes
        return cls(Database(data_dir / "confidante.db"))

    def create(
        self,
        *,
        user_id: str | None = None,
        admin: bool = False,
        expires_in: timedelta | None = None,
        rate_limit_per_minute: int | None = None,
    ) -> tuple[ApiKey, str]:
        """A new key for one user, or an admin key; returns the record and the secret (once).

        ``expires_in``: the key stops working that long from now; ``rate_limit_per_minute``:
        requests beyond it within any minute are refused (HTTP 429).
        """
        if admin == (user_id is not None):
            raise InvalidInputError("A key is either for one user (--user NAME) or --admin.")
        if user_id is not None:
            user_id = validate_user_id(user_id)
        if expires_in is not None and expires_in <= timedelta(0):
            raise InvalidInputError("A key's lifetime must be positive (--expires-in-days).")
        if rate_limit_per_minute is not None and rate_limit_per_minute < 1:
            raise InvalidInputError("A rate limit is at least 1 request per minute.")
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        now = utc_now()
        key = ApiKey(
            id=new_id("key"),
            prefix=token[:DISPLAY_CHARS],
            user_id=user_id,
            admin=admin,
            created_at=now,
            expires_at=now + expires_in if expires_in is not None else None,
            rate_limit_per_minute=rate_limit_per_minute,
        )
        with self.database.transaction() as conn:
            conn.execute(
                "INSERT INTO api_keys (id, prefix, hash, user_id, admin, created_at, expires_at,"
                " rate_limit_per_minute) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    key.id,
                    key.prefix,
                    hash_token(token),
                    user_id,
                    int(admin),
                    key.created_at.isoformat(),
                    key.expires_at.isoformat() if key.expires_at else None,
                    rate_limit_per_minute,
                ),
            )
        return key, token

    def list(self) -> list[ApiKey]:
        """Every key, oldest first, revoked ones included."""
        rows = self.database.query("SELECT * FROM api_keys ORDER BY created_at, id")
        return [_key_from_row(row) for row in rows]

    def revoke(self, key_id: str) -> ApiKey:
        """Revoke a key by its id or display prefix; it stops working at once."""
        rows = self.database.query(
            "SELECT * FROM api_keys WHERE id = ? OR prefix = ?", (key_id, key_id)
        )
        if len(rows) != 1:
            raise NotFoundError(
                f"No single key matches {key_id!r}; see the ids with `confidante keys list`."
            )
        key = _key_from_row(rows[0])
        if key.active:
            with self.database.transaction() as conn:
                conn.execute(
                    "UPDATE api_keys SET revoked_at = ? WHERE id = ?",
                    (utc_now().isoformat(), key.id),
                )
        return _key_from_row(
            self.database.query("SELECT * FROM api_keys WHERE id = ?", (key.id,))[0]
        )

    def verify(self, token: str) -> ApiKey | None:
        """The active (not revoked, not expired) key whose secret is ``token``, or ``None``."""
        digest = hash_token(token)
        rows = self.database.query(
            "SELECT * FROM api_keys WHERE hash = ? AND revoked_at IS NULL", (digest,)
        )
        # The lookup is by hash; compare again in constant time for good measure.
        if rows and hmac.compare_digest(rows[0]["hash"], digest):
            key = _key_from_row(rows[0])
            return key if key.active else None
        return None

    def any_active(self) -> bool:
        """Whether any key can be used now."""
        return any(key.active for key in self.list())

    def any_ever(self) -> bool:
        """Whether a key was ever created, revoked and expired ones included."""
        return bool(self.database.query("SELECT 1 FROM api_keys LIMIT 1"))

    def close(self) -> None:
        """Close the database connection."""
        self.database.close()
