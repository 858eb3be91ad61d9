"""``confidante chat``: an interactive session, streamed, with local slash commands.

Replies appear token by token. Ctrl-C stops the reply being generated (the session goes on);
at the prompt it clears the line, as in Python's REPL; Ctrl-D or ``/quit`` leaves. Lines that
start with a known ``/command`` are handled here and never reach the model or the memory.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from confidante.cli.render import err, out, print_error, print_profile, print_recollections, text
from confidante.errors import ConfidanteError

if TYPE_CHECKING:
    from confidante.agent.sync import Assistant
    from confidante.records import Recollection

HELP = [
    ("/help", "this list"),
    ("/recall [QUERY]", "what was recalled for the last reply, or for QUERY"),
    ("/profile", "what the assistant knows about you now"),
    ("/forget", "erase everything about you (asks first)"),
    ("/quit", "leave (also /exit or Ctrl-D)"),
]
ESCAPE = "//"  # "//etc" sends "/etc": a message that starts with a slash


@dataclass
class ChatSession:
    """One person's session: the assistant, who they are, and what the last reply recalled."""

    assistant: Assistant
    user_id: str
    read_line: Callable[[str], str] = input
    last_context: list[Recollection] = field(default_factory=list)

    def run(self) -> None:
        """Read lines until ``/quit`` or end of input."""
        err.print(text(f"Chatting as {self.user_id}. /help lists the commands; Ctrl-D leaves."))
        while True:
            try:
                line = self.read_line("you> ").strip()
            except KeyboardInterrupt:
                err.print()  # a fresh prompt, as in Python's REPL
                continue
            except EOFError:
                err.print()
                return
            if not line:
                continue
            if line.startswith("/") and not line.startswith(ESCAPE):
                if not self.command(line):
                    return
                continue
            self.say(line.removeprefix("/") if line.startswith(ESCAPE) else line)

    def command(self, line: str) -> bool:
        """Handle a slash command locally; False when the session should end."""
        name, _, argument = line.partition(" ")
        if name in ("/quit", "/exit"):
            return False
        if name == "/help":
            for usage, what in HELP:
                out.print(text(f"  {usage:<17} {what}"))
            out.print(text(f"  {ESCAPE}...{'':<12} send a message that starts with /"))
        elif name == "/recall":
            self.recall(argument.strip())
        elif name == "/profile":
            self.guarded(self.show_profile)
        elif name == "/forget":
            self.forget()
        else:
            print_error(f"Unknown command {name}; /help lists the commands.")
        return True

    def recall(self, query: str) -> None:
        """Show the last reply's context, or recall ``query`` now."""
        if not query:
            print_recollections(self.last_context, title="Recalled for the last reply")
            return
        self.guarded(
            lambda: print_recollections(
                self.assistant.recall(self.user_id, query, k=10), title=f"Recalled for {query!r}"
            )
        )

    def show_profile(self) -> None:
        """The user's current facts; none yet is not an error here."""
        from confidante.errors import UnknownUserError
        from confidante.records import Profile

        try:
            profile = self.assistant.profile(self.user_id)
        except UnknownUserError:
            profile = Profile(user_id=self.user_id, facts=[])
        print_profile(profile)

    def forget(self) -> None:
        """Erase the user after asking; the session goes on with an empty memory."""
        try:
            answer = self.read_line(f"Erase everything about {self.user_id}? [y/N] ")
        except (KeyboardInterrupt, EOFError):
            answer = ""
        if answer.strip().lower() not in ("y", "yes"):
            err.print("Nothing was erased.")
            return
        self.guarded(lambda: self.assistant.forget(self.user_id))
        self.last_context = []
        err.print(text(f"Forgot everything about {self.user_id}."))

    def say(self, line: str) -> None:
        """Send ``line`` and stream the reply; Ctrl-C stops the reply, not the session."""
        from confidante.records import Reply

        status = err.status("Thinking...")
        status.start()
        started, failure = False, None
        stream = self.assistant.chat_stream(self.user_id, [{"role": "user", "content": line}])
        try:
            with closing(stream):
                for item in stream:
                    if isinstance(item, Reply):
                        self.last_context = item.context
                        break
                    if not started:
                        status.stop()
                        started = True
                        _write("assistant> ")
                    _write(item)
        except (KeyboardInterrupt, asyncio.CancelledError, ConfidanteError) as exc:
            # Ctrl-C while the event loop runs a step reaches us as KeyboardInterrupt, or, when
            # it lands as the step is being cancelled, as that step's CancelledError.
            failure = exc
        finally:
            status.stop()
        _write("\n" if started else "" if failure else "assistant> (no reply)\n")
        if isinstance(failure, KeyboardInterrupt | asyncio.CancelledError):
            err.print(text("[stopped]", "dim"))
        elif failure is not None:
            print_error(failure)

    def guarded(self, action: Callable[[], object]) -> None:
        """Run ``action``; our errors are printed and the session goes on."""
        try:
            action()
        except ConfidanteError as exc:
            print_error(exc)


def _write(chunk: str) -> None:
    """Model text, exactly as generated."""
    out.file.write(chunk)
    out.file.flush()


def run_chat(assistant: Assistant, user_id: str) -> None:
    """The interactive loop on this terminal (readline editing where available)."""
    try:
        import readline  # noqa: F401  (line editing and history for input())
    except ImportError:  # not on every platform
        pass
    ChatSession(assistant, user_id).run()
    sys.stdout.flush()
