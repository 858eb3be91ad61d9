"""A scripted OpenAI-compatible chat server on loopback, for running the real CLI in tests.

The CLI runs in its own process with ``CONFIDANTE_LLM_BACKEND=vllm`` pointed here, so its real
HTTP backend, streaming and error handling are exercised; only the words are scripted. A reply
is the script's text for the last user message, streamed a word at a time, ``delay_s`` apart.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from confidante.records import ChatMessages

Script = Callable[[str], tuple[str, float]]  # last user message -> (reply, seconds per word)


@dataclass
class StubServer:
    """What the stub saw: every chat request's messages, and how many streams were cut off."""

    url: str
    requests: list[ChatMessages] = field(default_factory=list)
    cut_off: int = 0


def _chunk(text: str, finish: str | None) -> bytes:
    choice = {"index": 0, "delta": {"content": text} if text else {}, "finish_reason": finish}
    body = {"id": "c", "object": "chat.completion.chunk", "created": 0, "model": "stub"}
    return f"data: {json.dumps({**body, 'choices': [choice]})}\n\n".encode()


def _handler(script: Script, state: StubServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass

        def _json(self, body: dict) -> None:
            data = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:  # noqa: N802
            self._json({"object": "list", "data": [{"id": "stub", "object": "model"}]})

        def do_POST(self) -> None:  # noqa: N802
            request = json.loads(self.rfile.read(int(self.headers["content-length"])))
            messages = request["messages"]
            state.requests.append(messages)
            question = next(m["content"] for m in reversed(messages) if m["role"] == "user")
            reply, delay_s = script(question)
            if not request.get("stream"):
                message = {"role": "assistant", "content": reply}
                usage = {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}
                choice = {"index": 0, "message": message, "finish_reason": "stop"}
                self._json({"id": "c", "object": "chat.completion", "created": 0,
                            "model": "stub", "choices": [choice], "usage": usage})  # fmt: skip
                return
            self.send_response(200)
            self.send_header("content-type", "text/event-stream")
            self.send_header("connection", "close")
            self.end_headers()
            try:
                for word in _words(reply):
                    self.wfile.write(_chunk(word, None))
                    self.wfile.flush()
                    time.sleep(delay_s)
                self.wfile.write(_chunk("", "stop") + b"data: [DONE]\n\n")
                self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError):
                state.cut_off += 1
            self.close_connection = True

    return Handler


def _words(text: str) -> Iterator[str]:
    first = True
    for word in text.split(" "):
        yield word if first else " " + word
        first = False


@contextmanager
def openai_stub(script: Script) -> Iterator[StubServer]:
    """Serve ``script`` at ``StubServer.url`` (an OpenAI base URL) until the block ends."""
    state = StubServer(url="")
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(script, state))
    server.daemon_threads = True
    state.url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
