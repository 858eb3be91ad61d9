"""``confidante encryption``: make a master key, and encrypt an existing data dir in place."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from confidante.cli.options import DataDir, settings_for
from confidante.cli.render import err, text

encryption_app = typer.Typer(
    help="Encryption at rest: each user's data key wrapped by your master key.",
    no_args_is_help=True,
    rich_markup_mode=None,
)


@encryption_app.command("new-key")
def new_key(
    out_file: Annotated[
        Path | None,
        typer.Option("--out", help="Write the key to this new file (mode 0600) instead of stdout."),
    ] = None,
) -> None:
    """Make a random master key.

    Keep it outside the data dir, and back it up apart from the data: without it the data
    cannot be read.
    """
    from confidante.encryption import new_master_key
    from confidante.errors import InvalidInputError

    key = new_master_key()
    if out_file is None:
        print(key)
        return
    try:
        # O_EXCL: never overwrite a key, which would make its data unreadable.
        descriptor = os.open(out_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise InvalidInputError(
            f"{out_file} exists; choose a new file (a key is never overwritten)."
        ) from None
    with open(descriptor, "w", encoding="ascii") as handle:
        handle.write(key + "\n")
    hint = f"set CONFIDANTE_ENCRYPTION_KEY_FILE={out_file}"
    err.print(text(f"Wrote a master key to {out_file}; {hint}."))


@encryption_app.command("enable")
def enable(data_dir: DataDir = None) -> None:
    """Encrypt a data dir written without encryption, in place, with the configured master key.

    Stop the server first. Chroma's vectors stay as they are (see the README).
    """
    from confidante.agent.encrypt import enable_encryption

    report = enable_encryption(settings_for(data_dir, existing=True))
    err.print(
        text(f"Encrypted {report.values} stored values and {report.batch_rows} training rows.")
    )


@encryption_app.command("rotate")
def rotate(
    new_key_file: Annotated[
        Path, typer.Option("--new-key-file", help="The new master key (see `new-key`).")
    ],
    data_dir: DataDir = None,
) -> None:
    """Re-wrap every user's data key with a new master key; then switch the setting to it.

    Stop the server first. The configured (old) key opens the key ring; afterwards only the
    new one does. The stored data is not rewritten.
    """
    from confidante.encryption import rotate_master_key

    count = rotate_master_key(settings_for(data_dir, existing=True), new_key_file)
    hint = f"set CONFIDANTE_ENCRYPTION_KEY_FILE={new_key_file}"
    err.print(text(f"Re-wrapped {count} data keys with the new master key; {hint}."))
