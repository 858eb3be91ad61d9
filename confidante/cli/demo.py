"""The demo: a person tells the assistant about themselves, the assistant restarts, then helps.

Everything printed is the real output of the real model and stores; nothing is canned except
what the person says. Without ``--data-dir`` it runs in a temporary directory that is removed
afterwards, also when it is interrupted.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from rich.panel import Panel

from confidante.agent.sync import Assistant
from confidante.cli.models import needs_prepared_model, prepare_with_progress
from confidante.cli.render import err, out, print_profile, print_recollections, text
from confidante.config import Settings

USER = "maria"

SESSION_ONE = [
    "Hi! My name is Maria and I live in Lisbon.",
    "I work at the Lisbon Children's Hospital as a nurse.",
    "I'm allergic to peanuts, so I have to be careful with snacks.",
    "My sister Ana is visiting me next month.",
    "I love hiking and I hate crowded beaches.",
]

SESSION_TWO = [
    "What is my name and which city do I live in?",
    "Can you suggest a snack I can safely eat?",
    "Where do I work?",
    "Who is visiting me next month?",
    "What could I do this weekend that I would enjoy?",
]


def _session(assistant: Assistant, lines: list[str]) -> None:
    for line in lines:
        out.print(text(f"{USER}> ", "bold green"), text(line), sep="")
        with err.status("Thinking..."):
            reply = assistant.chat(USER, [{"role": "user", "content": line}])
        if reply.context:
            print_recollections(reply.context, title="recalled for this turn")
        else:
            out.print(text("(nothing recalled yet)", "dim"))
        out.print(text("assistant> ", "bold blue"), text(reply.content), "\n", sep="")


def _both_sessions(settings: Settings) -> None:
    out.print(Panel("Session 1: Maria introduces herself", style="bold"))
    with err.status("Loading models..."):
        assistant = Assistant.open(settings=settings)
    with assistant:
        _session(assistant, SESSION_ONE)

    out.print(
        Panel(
            "The assistant was closed. Session 2 opens a new one on the same directory.",
            style="bold",
        )
    )
    with err.status("Loading models..."):
        assistant = Assistant.open(settings=settings)
    with assistant:
        _session(assistant, SESSION_TWO)
        print_profile(assistant.profile(USER))


def run_demo(data_dir: Path | None = None) -> None:
    """Run both sessions in ``data_dir``, or in a temporary directory removed afterwards."""
    settings = Settings()
    if needs_prepared_model(settings):
        prepare_with_progress(settings)
    if data_dir is not None:
        out.print(text("Data directory: "), text(data_dir, "bold"), "\n", sep="")
        _both_sessions(settings.model_copy(update={"data_dir": data_dir}))
        return
    with tempfile.TemporaryDirectory(prefix="confidante-demo-") as directory:
        out.print(
            text("Data directory (removed at the end): "), text(directory, "bold"), "\n", sep=""
        )
        _both_sessions(settings.model_copy(update={"data_dir": Path(directory)}))
