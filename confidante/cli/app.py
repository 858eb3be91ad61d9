"""The root of the ``confidante`` command line: its commands and the entry point.

Start-up is kept short: this module imports typer and the CLI's own small modules; each command
imports what it needs (the assistant, torch, Chroma...) when it runs, so ``--help``,
``--version`` and the commands that load no model answer at once.
"""

from __future__ import annotations

import json
import os
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from confidante.cli.encryption import encryption_app
from confidante.cli.keys import keys_app
from confidante.cli.models import models_app, needs_prepared_model, prepare_with_progress
from confidante.cli.options import DataDir, User, settings_for
from confidante.cli.render import err, out, print_error, print_profile, table, text

app = typer.Typer(
    help="Confidante: a personal assistant that remembers you.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # click's plain help: rendering it with rich costs start-up time
)
app.add_typer(models_app, name="models")
app.add_typer(keys_app, name="keys")
app.add_typer(encryption_app, name="encryption")


def _show_version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        print(f"confidante {version('confidante')}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_show_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Confidante: a personal assistant that remembers you."""


@app.command()
def chat(user: User, data_dir: DataDir = None) -> None:
    """Talk with your assistant; replies stream, Ctrl-C stops one, /help lists the commands."""
    from confidante.agent.sync import Assistant
    from confidante.cli.chat import run_chat

    settings = settings_for(data_dir)
    if needs_prepared_model(settings):
        prepare_with_progress(settings)
    with err.status("Opening your memory...") as status:
        assistant = Assistant.open(settings=settings)
        try:
            assistant.warm_up(progress=status.update)
        except BaseException:
            assistant.close()
            raise
    with assistant:
        run_chat(assistant, user)


@app.command()
def demo(
    data_dir: Annotated[
        Path | None,
        typer.Option("--data-dir", help="Keep the demo's data here (default: a temporary dir)."),
    ] = None,
) -> None:
    """Two sessions in a fresh data directory: tell facts, restart, ask about them."""
    from confidante.cli.demo import run_demo

    run_demo(data_dir)


@app.command()
def profile(user: User, data_dir: DataDir = None) -> None:
    """Show the current facts about a user."""
    from confidante.agent.reader import MemoryReader  # the database alone: no model loads

    with MemoryReader.open(settings_for(data_dir, existing=True)) as reader:
        print_profile(reader.profile(user))


@app.command()
def export(user: User, data_dir: DataDir = None) -> None:
    """Print everything held about a user as JSON."""
    from confidante.agent.reader import MemoryReader  # the database alone: no model loads

    with MemoryReader.open(settings_for(data_dir, existing=True)) as reader:
        print(json.dumps(reader.export(user), indent=2, ensure_ascii=False))


@app.command()
def forget(
    user: User,
    data_dir: DataDir = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask to confirm.")] = False,
) -> None:
    """Erase everything about a user from every store."""
    settings = settings_for(data_dir, existing=True)
    if not yes and not typer.confirm(f"Erase everything about {user!r}?", err=True):
        raise typer.Abort()
    from confidante.agent.sync import Assistant

    with Assistant.open(settings=settings) as assistant:
        assistant.forget(user)
    err.print(text(f"Forgot everything about {user}."))


@app.command()
def distill(data_dir: DataDir = None) -> None:
    """Turn ratings given since the last batch into a training batch (SFT, DPO, KTO)."""
    from confidante.training.distill import Distiller

    distiller = Distiller.open(settings_for(data_dir, existing=True))
    try:
        outcome = distiller.run()
    finally:
        distiller.close()
    if outcome.batch is None:
        err.print(text(outcome.message))
        return
    rows = list(outcome.batch.counts.items())
    out.print(table(f"Batch {outcome.batch.batch_id}", ("file", "rows"), rows))
    out.print(text("Written to "), text(outcome.batch.path, "bold"), sep="")


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
    with Assistant.open(settings=settings_for(data_dir, existing=True)) as assistant:
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
    err.print(text(f"Rated {rating.interaction_id} of {rating.user_id}."))


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

    settings = settings_for(data_dir, existing=True)
    if settings.model_dir is None:
        prepare_with_progress(settings)
    options = TrainOptions.from_settings(
        settings, epochs=epochs, max_steps=max_steps, learning_rate=learning_rate,
        lora_rank=lora_rank, dpo_epochs=dpo_epochs,
    )  # fmt: skip
    with err.status("Training...") as status:
        adapter = train_adapter(
            settings, batch, user_id=user, options=options, progress=status.update
        )
    rows = []
    for split in ("train", "validation"):
        before, after = adapter.loss(split, "before"), adapter.loss(split, "after")
        rows.append((split, *("-" if x is None else f"{x:.3f}" for x in (before, after))))
    columns = ("loss on preferred replies", "before", "after")
    out.print(table(f"Adapter {adapter.adapter_id}", columns, rows))
    out.print(text("Written to "), text(adapter.path, "bold"), sep="")
    out.print(text(f"Generate with it: CONFIDANTE_ADAPTER={adapter.adapter_id}"))


@app.command()
def serve(
    data_dir: DataDir = None,
    host: Annotated[
        str | None, typer.Option(help="Address to listen on (CONFIDANTE_SERVER_HOST).")
    ] = None,
    port: Annotated[int | None, typer.Option(help="Port (CONFIDANTE_SERVER_PORT).")] = None,
    no_auth: Annotated[
        bool,
        typer.Option(
            "--no-auth",
            help="Local mode: no API keys, requests name their user; loopback only, and only "
            "while no key was ever created (CONFIDANTE_SERVER_NO_AUTH).",
        ),
    ] = False,
) -> None:
    """Serve the OpenAI-compatible HTTP endpoint: with API keys, or locally with --no-auth."""
    from confidante.serving.server import serve as run_server

    settings = settings_for(data_dir)
    changes = {"server_host": host, "server_port": port, "server_no_auth": no_auth or None}
    settings = settings.model_copy(update={k: v for k, v in changes.items() if v is not None})
    if needs_prepared_model(settings):
        prepare_with_progress(settings)
    run_server(settings)


def _quiet_libraries() -> None:
    """Hide per-tensor loading bars; the CLI shows its own progress.

    Through the environment, which transformers reads when it loads: importing it here
    would add a second or more to every command, most of which never load a model.
    """
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")


def main() -> None:
    """Entry point: our errors print their fix and exit 1, without a traceback; Ctrl-C exits 130."""
    from confidante.errors import ConfidanteError

    _quiet_libraries()
    try:
        app()
    except ConfidanteError as exc:
        print_error(exc)
        raise SystemExit(1) from None
    except KeyboardInterrupt:
        err.print(text("Interrupted.", "dim"))
        raise SystemExit(130) from None
