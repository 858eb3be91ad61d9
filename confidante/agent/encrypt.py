"""Encrypting a data dir written without encryption, in place (``confidante encryption enable``)."""

from __future__ import annotations

from dataclasses import dataclass

from confidante.config import Settings
from confidante.database import Database
from confidante.encryption import (
    DATABASE_FILE,
    TOKEN_PREFIX,
    load_master_key,
    open_sealer,
)
from confidante.errors import DataDirNotFoundError, EncryptionKeyError
from confidante.graph import store as facts
from confidante.memory import documents, journal
from confidante.training.batch import list_batches, seal_batch


def sealed_columns() -> dict[str, tuple[str, ...]]:
    """Every table's columns that hold a user's words, as the stores declare them."""
    return journal.SEALED_COLUMNS | documents.SEALED_COLUMNS | facts.SEALED_COLUMNS


@dataclass(frozen=True, kw_only=True)
class EncryptionReport:
    """What ``enable_encryption`` sealed."""

    values: int
    batch_rows: int


def enable_encryption(settings: Settings) -> EncryptionReport:
    """Encrypt a data dir written without encryption, in place, with the configured master key.

    Every stored value of a user's words is sealed in one transaction, then each training
    batch's rows; the database is then vacuumed so no plain page is left in it or its log.
    Values already sealed are kept, so after an interruption a rerun finishes the job.
    """
    root = settings.resolved_data_dir()
    if not (root / DATABASE_FILE).exists():
        raise DataDirNotFoundError(
            f"No Confidante data in {root}; pass the --data-dir the assistant uses."
        )
    if load_master_key(settings, root) is None:
        raise EncryptionKeyError(
            "No master key is set; make one with `confidante encryption new-key --out FILE` and "
            "set CONFIDANTE_ENCRYPTION_KEY_FILE=FILE."
        )
    database = Database(
        root / DATABASE_FILE, sealer=open_sealer(settings, root, new_data_allowed=True)
    )
    try:
        sealer = database.sealer
        values = 0
        with database.transaction() as conn:
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
            for table, columns in sealed_columns().items():
                if table not in tables:
                    continue
                listed = ", ".join(columns)
                for row in conn.execute(
                    f"SELECT rowid AS row_number, user_id, {listed} FROM {table}"
                ).fetchall():
                    update = {
                        c: sealer.seal(row["user_id"], row[c])
                        for c in columns
                        if row[c] is not None and not row[c].startswith(TOKEN_PREFIX)
                    }
                    if update:
                        assignments = ", ".join(f"{c} = ?" for c in update)
                        conn.execute(
                            f"UPDATE {table} SET {assignments} WHERE rowid = ?",
                            (*update.values(), row["row_number"]),
                        )
                        values += len(update)
        batch_rows = sum(
            seal_batch(b, sealer) for b in list_batches(root / "batches", verify=False)
        )
        # Rewritten rows leave their plain versions in free pages and the log until these.
        database.script("VACUUM")
        database.checkpoint()
    finally:
        database.close()
    return EncryptionReport(values=values, batch_rows=batch_rows)
