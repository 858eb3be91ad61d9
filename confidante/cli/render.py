"""Printing for the command line: tables of recollections, profiles and keys, and errors.

Whatever a model or a person wrote (replies, memories, facts) is printed as text, never as
rich markup: "[your name]" stays on screen and "[/b]" is just characters.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table
from rich.text import Text

if TYPE_CHECKING:
    from confidante.records import Profile, Recollection

# Results go to stdout; progress, explanations and errors to stderr, so output can be piped.
# No markup, emoji codes or highlighting in anything printed: strings are shown as they are.
out = Console(highlight=False, markup=False, emoji=False)
err = Console(stderr=True, highlight=False, markup=False, emoji=False)


def text(value: object, style: str = "") -> Text:
    """``value`` as literal text (brackets and all)."""
    return Text(str(value), style=style)


def table(title: str, columns: Sequence[str], rows: Iterable[Sequence[object]]) -> Table:
    """A table whose every cell is literal text."""
    grid = Table(title=Text(title), expand=True)
    for column in columns:
        grid.add_column(column, overflow="fold")
    for row in rows:
        grid.add_row(*(text(cell) for cell in row))
    return grid


def print_recollections(
    recollections: Sequence[Recollection], title: str = "Recalled", console: Console = out
) -> None:
    """A table of what was recalled, with the ids of the messages it came from."""
    if not recollections:
        console.print(text("(nothing recalled)", "dim"))
        return
    rows = [(r.kind, r.text, ", ".join(r.source_ids)) for r in recollections]
    console.print(table(title, ("kind", "text", "sources"), rows))


def print_profile(profile: Profile, console: Console = out) -> None:
    """The current facts about a user, with when each became true and its sources."""
    rows = [
        (
            f.statement,
            f"{f.valid_from:%Y-%m-%d %H:%M}" if f.valid_from else "",
            ", ".join(f.source_ids),
        )
        for f in profile.facts
    ]
    if not rows:
        console.print(text(f"No facts about {profile.user_id} yet.", "dim"))
        return
    console.print(table(f"Profile of {profile.user_id}", ("fact", "since", "sources"), rows))


def print_error(message: object) -> None:
    """``error: <message>`` on stderr; the message is literal text."""
    line = Text("error: ", style="bold red")
    line.append(str(message))
    err.print(line)
