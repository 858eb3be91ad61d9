"""Forgetting a user's adapters: every LoRA adapter trained on their rows is deleted."""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from confidante.config import Settings
from confidante.errors import CorruptBatchError
from confidante.llm.adapters import (
    PARTIAL_SUFFIX,
    adapters_root,
    list_adapters,
    read_training_manifest,
)
from confidante.training.batch import read_batch

logger = logging.getLogger("confidante.training")


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
