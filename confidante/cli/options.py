"""Options shared by the commands, and the settings they build from them.

Cheap to import: ``--help`` and ``--version`` load nothing but this and typer. ``Settings`` is
imported when a command runs (pydantic-settings costs a noticeable part of start-up).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from confidante.config import Settings

DataDir = Annotated[
    Path | None, typer.Option("--data-dir", help="Where memories live (CONFIDANTE_DATA_DIR).")
]
User = Annotated[str, typer.Option("--user", "-u", help="Whose memory to use.")]


def settings_for(data_dir: Path | None, *, existing: bool = False) -> Settings:
    """The settings, with ``--data-dir`` applied.

    ``existing``: the command only reads (or changes what is there), so a data directory that
    does not exist is a mistake, most often a typo, and must not become a new empty store.
    """
    from confidante.config import Settings
    from confidante.errors import DataDirNotFoundError

    settings = Settings()
    if data_dir is not None:
        settings = settings.model_copy(update={"data_dir": data_dir})
    root = settings.resolved_data_dir()
    if existing and not root.is_dir():
        given = "--data-dir" if data_dir is not None else "CONFIDANTE_DATA_DIR (or the default)"
        raise DataDirNotFoundError(
            f"No data directory at {root} (from {given}); check the path. This command only "
            "reads, so it does not create one."
        )
    return settings
