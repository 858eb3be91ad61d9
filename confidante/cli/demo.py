"""The demo: a person tells the assistant about themselves, the assistant restarts, then helps.

Everything printed is the real output of the real model and stores; nothing is canned except
what the person says.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from rich.console import Console
from rich.panel import Panel

from confidante.agent.sync import Assistant
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


def _session(console: Console, assistant: Assistant, lines: list[str]) -> None:
    from confidante.cli.app import print_recollections

    for text in lines:
        console.print(f"[bold green]{USER}>[/bold green] {text}")
        reply = assistant.chat(USER, [{"role": "user", "content": text}])
        if reply.context:
            print_recollections(reply.context, title="recalled for this turn")
        else:
            console.print("[dim](nothing recalled yet)[/dim]")
        console.print(f"[bold blue]assistant>[/bold blue] {reply.content}\n")


def run_demo(console: Console, data_dir: Path | None = None) -> None:
    """Run both sessions in ``data_dir`` (a fresh temporary directory by default)."""
    from confidante.cli.app import prepare_with_progress, print_profile

    directory = data_dir or Path(tempfile.mkdtemp(prefix="confidante-demo-"))
    settings = Settings().model_copy(update={"data_dir": directory})
    prepare_with_progress(settings)
    console.print(f"Data directory: [bold]{directory}[/bold]\n")

    console.print(Panel("Session 1: Maria introduces herself", style="bold"))
    with console.status("Loading models..."):
        assistant = Assistant.open(settings=settings)
    with assistant:
        _session(console, assistant, SESSION_ONE)

    console.print(
        Panel(
            "The assistant was closed. Session 2 opens a new one on the same directory.",
            style="bold",
        )
    )
    with console.status("Loading models..."):
        assistant = Assistant.open(settings=settings)
    with assistant:
        _session(console, assistant, SESSION_TWO)
        print_profile(assistant.profile(USER))
