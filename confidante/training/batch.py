"""Batch directories on disk: written whole or not at all, and rewritten when a user is forgotten.

A batch is ``<root>/<batch_id>/`` holding one JSONL file per format and split
(``sft.train.jsonl``, ``dpo.validation.jsonl``...) and ``manifest.json``: counts, the
sha256 of each file, the source interactions by user, the settings used, and for each row
(by the sha256 of its JSON) the interactions it came from, so ``forget`` can find a user's
rows without putting ids in the training files. A batch is written in ``<batch_id>.partial/``
and renamed into place, so a crash never leaves a half-written batch visible.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from confidante.database import PLAIN_TEXT, PRIVATE_FILE, Sealer
from confidante.errors import CorruptBatchError, EncryptionKeyError
from confidante.training.formats import KINDS, SPLITS, Example, split_of

MANIFEST = "manifest.json"
PARTIAL_SUFFIX = ".partial"
FORMAT_VERSION = 1


def file_name(kind: str, split: str) -> str:
    """The file holding one format's rows of one split, e.g. ``sft.train.jsonl``."""
    return f"{kind}.{split}.jsonl"


def row_key(row: dict[str, Any]) -> str:
    """The sha256 of a row's canonical JSON: how the manifest names a row."""
    return hashlib.sha256(json.dumps(row, sort_keys=True).encode()).hexdigest()


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _write_durably(path: Path, text: str) -> None:
    """Write ``path`` through a temporary file and an atomic replace, flushed to disk."""
    temporary = path.with_name(path.name + ".tmp")
    # Owner only: training rows are a person's words.
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE)
    with open(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def write_jsonl(path: Path, rows: Iterable[dict[str, Any]]) -> None:
    """One JSON object per line."""
    _write_durably(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """The rows of a JSONL file."""
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


SEALED = "sealed"


def stored_row(row: dict[str, Any], user_id: str, sealer: Sealer) -> dict[str, Any]:
    """What a batch file holds for ``row``, one of ``user_id``'s: the row, or it sealed."""
    if not sealer.encrypted:
        return row
    return {SEALED: sealer.seal(user_id, json.dumps(row, ensure_ascii=False))}


def open_rows(rows: Iterable[dict[str, Any]], sealer: Sealer) -> list[dict[str, Any]]:
    """The rows a batch file holds, sealed ones opened."""
    opened = []
    for row in rows:
        if SEALED in row:
            if not sealer.encrypted:
                raise EncryptionKeyError(
                    "The batch's rows are encrypted; set CONFIDANTE_ENCRYPTION_KEY_FILE to the "
                    "data dir's master key."
                )
            row = json.loads(sealer.unseal(None, row[SEALED]))
        opened.append(row)
    return opened


@dataclass(frozen=True, kw_only=True)
class Batch:
    """One batch directory and its manifest."""

    path: Path
    manifest: dict[str, Any]

    @property
    def batch_id(self) -> str:
        """The batch's id, which is also its directory name."""
        return self.manifest["batch_id"]

    @property
    def counts(self) -> dict[str, int]:
        """Rows per file."""
        return {name: entry["rows"] for name, entry in self.manifest["files"].items()}

    def files(self) -> dict[str, Path]:
        """Each file's path, by name."""
        return {name: self.path / name for name in self.manifest["files"]}


def read_batch(path: Path, *, verify: bool = True) -> Batch:
    """The batch at ``path``; ``CorruptBatchError`` if its manifest (or a file) is off."""
    try:
        manifest = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
        batch = Batch(path=path, manifest=manifest)
        for name, file in batch.files().items():
            if verify and _sha256(file) != manifest["files"][name]["sha256"]:
                raise CorruptBatchError(
                    f"{file} does not match the sha256 in its manifest; delete the batch "
                    "directory and distill again."
                )
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise CorruptBatchError(
            f"The batch at {path} is unreadable ({exc}); delete it and distill again."
        ) from exc
    return batch


def list_batches(root: Path, *, verify: bool = True) -> list[Batch]:
    """Every complete batch under ``root``, oldest first (in-progress ``.partial`` dirs skipped)."""
    if not root.is_dir():
        return []
    paths = (
        p for p in root.iterdir() if p.is_dir() and "." not in p.name and (p / MANIFEST).exists()
    )
    return [read_batch(p, verify=verify) for p in sorted(paths)]


def remove_partials(root: Path) -> None:
    """Delete what an interrupted run left behind."""
    if root.is_dir():
        for path in root.glob(f"*{PARTIAL_SUFFIX}"):
            shutil.rmtree(path, ignore_errors=True)


def _describe(path: Path, rows: list[dict[str, Any]]) -> dict[str, Any]:
    return {"rows": len(rows), "sha256": _sha256(path)}


def write_batch(
    root: Path,
    batch_id: str,
    examples: list[Example],
    *,
    validation_fraction: float,
    manifest: dict[str, Any],
    owners: Mapping[str, str],
    sealer: Sealer = PLAIN_TEXT,
) -> Batch:
    """Write every file and the manifest into ``<batch_id>.partial/``, then rename it into place.

    With an encrypting ``sealer``, each row is sealed for its user: the one ``owners`` (by
    interaction id) names as the owner of the row's first interaction.
    """
    partial = root / f"{batch_id}{PARTIAL_SUFFIX}"
    partial.mkdir(parents=True)
    try:
        files: dict[str, Any] = {}
        provenance: dict[str, dict[str, list[str]]] = {}
        for kind in KINDS:
            for split in SPLITS:
                name = file_name(kind, split)
                chosen = [
                    e
                    for e in examples
                    if e.kind == kind and split_of(e, validation_fraction) == split
                ]
                stored = [stored_row(e.row, owners[e.interaction_ids[0]], sealer) for e in chosen]
                write_jsonl(partial / name, stored)
                files[name] = _describe(partial / name, stored)
                provenance[name] = {
                    row_key(row): e.interaction_ids for row, e in zip(stored, chosen, strict=True)
                }
        full = {"format_version": FORMAT_VERSION, "batch_id": batch_id, **manifest}
        full |= {"files": files, "counts": counts_of(files), "provenance": provenance}
        _write_durably(partial / MANIFEST, json.dumps(full, indent=2, ensure_ascii=False))
        os.rename(partial, root / batch_id)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return Batch(path=root / batch_id, manifest=full)


def remove_user(batch: Batch, user_id: str) -> bool:
    """Rewrite ``batch`` without the rows that came from ``user_id``; True if it held any.

    Files are replaced one at a time, then the manifest. Rows are found by content, so if
    this is interrupted, running it again finishes the job.
    """
    manifest = batch.manifest
    if user_id not in manifest["users"]:
        return False
    gone = set(manifest["interactions"].get(user_id, []))
    for name, file in batch.files().items():
        sources = manifest["provenance"][name]
        rows = read_jsonl(file)
        kept = [r for r in rows if not gone & set(sources.get(row_key(r), []))]
        if len(kept) != len(rows):
            write_jsonl(file, kept)
        manifest["files"][name] = _describe(file, kept)
        manifest["provenance"][name] = {k: v for k, v in sources.items() if not gone & set(v)}
    manifest["users"] = [u for u in manifest["users"] if u != user_id]
    manifest["interactions"].pop(user_id, None)
    manifest["counts"] = counts_of(manifest["files"])
    _write_durably(batch.path / MANIFEST, json.dumps(manifest, indent=2, ensure_ascii=False))
    return True


def seal_batch(batch: Batch, sealer: Sealer) -> int:
    """Seal the rows of a batch written before encryption was on; returns how many were sealed.

    Each row is sealed for the user whose interactions it came from. Files are replaced one
    at a time, then the manifest; rows already sealed are kept, so a rerun finishes the job.
    """
    manifest = batch.manifest
    owner_of = {i: user for user, ids in manifest["interactions"].items() for i in ids}
    sealed = 0
    for name, file in batch.files().items():
        sources = manifest["provenance"][name]
        rows, new_sources = [], {}
        for row in read_jsonl(file):
            interactions = sources.get(row_key(row), [])
            if SEALED not in row:
                row = stored_row(row, owner_of[interactions[0]], sealer)
                sealed += 1
            rows.append(row)
            new_sources[row_key(row)] = interactions
        write_jsonl(file, rows)
        manifest["files"][name] = _describe(file, rows)
        manifest["provenance"][name] = new_sources
    _write_durably(batch.path / MANIFEST, json.dumps(manifest, indent=2, ensure_ascii=False))
    return sealed


def counts_of(files: dict[str, Any]) -> dict[str, dict[str, int]]:
    """Rows per format and split, from the manifest's file entries."""
    return {
        kind: {split: files[file_name(kind, split)]["rows"] for split in SPLITS} for kind in KINDS
    }
