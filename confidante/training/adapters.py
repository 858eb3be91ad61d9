"""Where trained LoRA adapters live, and how a setting names one.

``confidante train`` writes ``<data_dir>/adapters/<adapter_id>/``: peft's
``adapter_config.json`` and ``adapter_model.safetensors`` (what ``PeftModel.from_pretrained``
and vLLM's ``--lora-modules name=path`` load) and ``training.json`` (how it was trained). A run
writes ``<adapter_id>.partial/`` and renames it into place, so a folder without that suffix is
always complete. ``training.json`` lists the users whose rows were trained on (``users``), so
``forget_user_adapters`` can delete every adapter that holds a forgotten user's data. No heavy
imports here: the assistant resolves its adapter at start-up.
"""

from __future__ import annotations

import json
import logging
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from confidante.config import Settings
from confidante.errors import CorruptBatchError, ModelNotFoundError
from confidante.training.batch import read_batch

logger = logging.getLogger("confidante.training")

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


@dataclass(frozen=True, kw_only=True)
class ForgottenAdapters:
    """What ``forget_user_adapters`` deleted: adapter ids, and interrupted runs' folders."""

    adapter_ids: list[str]
    partials: list[str]


def forget_user_adapters(settings: Settings, user_id: str) -> ForgottenAdapters:
    """Delete every adapter trained on ``user_id``'s rows, and every ``.partial`` folder.

    Deleted: the user's personal adapters (``train --user``), and every shared adapter whose
    ``training.json`` lists them in ``users``: an adapter can repeat what it was trained on, so
    a shared adapter goes too, and must be retrained (``confidante train --batch ID``) from the
    batches ``forget`` rewrote without the user. An adapter written before ``users`` was
    recorded is judged by its batch: kept only if the batch is still there, does not list the
    user and still holds every row the adapter was trained on (a batch rewritten by any
    ``forget`` since may have held this user); otherwise deleted. So is one whose
    ``training.json`` cannot be read. A folder without ``training.json`` was not trained here
    (it holds none of this data directory's batches) and is kept. ``.partial`` folders are
    runs that were killed, or are still running: whose rows they hold is not recorded, so all
    go. A run still training checks its batch before it publishes, and publishes nothing when
    a user it learned from is gone (``train.require_users_still_held``). Each doomed
    adapter is first renamed to ``<id>.partial``, so an interrupted call never leaves a
    half-deleted adapter that looks complete, and running it again finishes the job. A vLLM
    server that loaded a deleted adapter keeps it in memory until it restarts; nobody is routed
    to it any more.
    """
    root = adapters_root(settings)
    if not root.is_dir():
        return ForgottenAdapters(adapter_ids=[], partials=[])
    batches = settings.resolved_data_dir() / "batches"
    stale = sorted(root.glob(f"*{PARTIAL_SUFFIX}"))
    for partial in stale:
        _remove(partial)
    doomed = [p for p in list_adapters(settings) if _trained_on(p, user_id, batches)]
    for folder in doomed:  # out of sight at once: no turn is routed to it from here on
        _remove(folder.rename(folder.with_name(folder.name + PARTIAL_SUFFIX)))
    forgotten = ForgottenAdapters(
        adapter_ids=[p.name for p in doomed], partials=[p.name for p in stale]
    )
    if doomed:
        logger.warning(
            "Deleted %d LoRA adapter(s) trained on rows of a forgotten user: %s; retrain them "
            "with `confidante train --batch ID` from the rewritten batches.",
            len(doomed),
            ", ".join(forgotten.adapter_ids),
        )
    return forgotten


def _remove(folder: Path) -> None:
    """Delete ``folder`` and what it holds (already gone is fine: a run cleaned up after itself)."""
    try:
        shutil.rmtree(folder)
    except FileNotFoundError:
        pass


def _trained_on(folder: Path, user_id: str, batches: Path) -> bool:
    """True if the adapter in ``folder`` may have been trained on ``user_id``'s rows."""
    try:
        manifest = read_training_manifest(folder)
    except (OSError, ValueError):
        return True  # a record that cannot be read proves nothing
    if not isinstance(manifest, dict):
        return True
    if not manifest:
        return False  # trained elsewhere, on none of this data directory's batches
    users = manifest.get("users")
    if users is not None:
        return not isinstance(users, list) or user_id in users
    owner = manifest.get("user_id")
    if owner:  # a personal adapter trains on its owner's rows alone
        return owner == user_id
    return _batch_may_have_held(manifest, user_id, batches)


def _batch_may_have_held(manifest: dict[str, Any], user_id: str, batches: Path) -> bool:
    """True if the batch of a shared adapter without ``users`` may have held the user's rows."""
    batch_id = manifest.get("batch_id")
    if not isinstance(batch_id, str) or not batch_id or "/" in batch_id or batch_id[0] == ".":
        return True
    try:
        batch = read_batch(batches / batch_id, verify=False).manifest
        if user_id in batch["users"]:
            return True
        trained: dict[str, dict[str, int]] = manifest["rows"]
        return any(
            batch["counts"].get(kind, {}).get(split, 0) < rows
            for kind, splits in trained.items()
            for split, rows in splits.items()
        )
    except (CorruptBatchError, KeyError, TypeError, AttributeError):
        return True
