"""Where trained LoRA adapters live, and how a setting or a user leads to one (the read side).

``confidante train`` writes ``<data_dir>/adapters/<adapter_id>/``: peft's
``adapter_config.json`` and ``adapter_model.safetensors`` (what ``PeftModel.from_pretrained``
and vLLM's ``--lora-modules name=path`` load) and ``training.json`` (how it was trained, and on
whose rows). A run writes ``<adapter_id>.partial/`` and renames it into place, so a folder
without that suffix is always complete. Backends find adapters here; training writes and
deletes them (``confidante.training``). No heavy imports: the assistant resolves its adapter
at start-up.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from confidante.config import Settings
from confidante.errors import ModelNotFoundError

ADAPTERS = "adapters"
ADAPTER_CONFIG = "adapter_config.json"
TRAINING_MANIFEST = "training.json"
PARTIAL_SUFFIX = ".partial"


def adapters_root(settings: Settings) -> Path:
    """``<data_dir>/adapters``."""
    return settings.resolved_data_dir() / ADAPTERS


def is_adapter(path: Path) -> bool:
    """True if ``path`` is a complete peft adapter folder."""
    return not path.name.endswith(PARTIAL_SUFFIX) and (path / ADAPTER_CONFIG).is_file()


def list_adapters(settings: Settings) -> list[Path]:
    """Every complete adapter under the data directory, oldest id first."""
    root = adapters_root(settings)
    return sorted(p for p in root.iterdir() if is_adapter(p)) if root.is_dir() else []


def resolve_adapter(settings: Settings) -> Path | None:
    """The adapter folder ``settings.adapter`` names (a name under the data dir, or a path).

    ``None`` when no adapter is set; ``ModelNotFoundError`` when the name leads nowhere.
    """
    if not settings.adapter:
        return None
    named = adapters_root(settings) / settings.adapter
    path = Path(settings.adapter).expanduser()
    for candidate in (named, path):
        if is_adapter(candidate):
            return candidate.resolve()
    known = ", ".join(p.name for p in list_adapters(settings)) or "none yet"
    raise ModelNotFoundError(
        f"No LoRA adapter at {settings.adapter!r} (looked in {named} and {path}; adapters in "
        f"this data dir: {known}); train one with `confidante train --batch ID`, or unset "
        "CONFIDANTE_ADAPTER."
    )


def read_training_manifest(path: Path) -> dict[str, Any]:
    """The ``training.json`` of an adapter folder ({} for an adapter trained elsewhere)."""
    manifest = path / TRAINING_MANIFEST
    return json.loads(manifest.read_text(encoding="utf-8")) if manifest.exists() else {}


class UserAdapters:
    """The newest adapter trained on each user's interactions alone (``train --user``).

    Asked on every turn, so the folder is read again only when it changed: a training run
    renames its adapter into place, which changes the folder's mtime; otherwise one ``stat``.
    """

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._root = adapters_root(settings)
        self._stamp: int | None = None
        self._newest: dict[str, Path] = {}

    def for_user(self, user_id: str) -> Path | None:
        """The user's newest adapter folder, or ``None``."""
        try:
            stamp = self._root.stat().st_mtime_ns
        except FileNotFoundError:
            return None
        if stamp != self._stamp:
            newest: dict[str, Path] = {}
            for folder in list_adapters(self._settings):  # ids sort by user, then time
                owner = read_training_manifest(folder).get("user_id")
                if owner:
                    newest[owner] = folder
            self._newest, self._stamp = newest, stamp
        return self._newest.get(user_id)

    def refresh(self) -> None:
        """Read the folder again on the next call, whatever its mtime says.

        Deleting an adapter changes the folder's mtime too, but two changes within one tick of
        a coarse file-system clock can leave it as it was; ``forget`` calls this to be sure.
        """
        self._stamp = None
