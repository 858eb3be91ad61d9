"""Running the app: ``serve`` for the command line, ``BackgroundServer`` for tests and benches."""

from __future__ import annotations

import asyncio
import gc
import socket
import sys
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Self

import uvicorn
from fastapi import FastAPI

from confidante.agent.assistant import AsyncAssistant
from confidante.config import Settings
from confidante.errors import InsecureBindError
from confidante.llm.base import ChatLLM
from confidante.serving.app import create_app
from confidante.serving.auth import Authenticator
from confidante.serving.handlers import Handlers
from confidante.serving.hosts import is_loopback
from confidante.serving.keys import KeyStore

if TYPE_CHECKING:
    from langchain_core.embeddings import Embeddings


def check_bind(host: str, keys: KeyStore, *, no_auth: bool = False) -> None:
    """Refuse to start where serving would not be safe.

    Without authentication (``no_auth``): only on loopback, and only while no key was ever
    created in the data dir. With it: beyond loopback only once a usable key exists.
    """
    if no_auth and not is_loopback(host):
        raise InsecureBindError(
            f"Without authentication (--no-auth) the server listens on loopback only, not "
            f"{host!r}; serve on 127.0.0.1, or drop --no-auth and use API keys."
        )
    if no_auth and keys.any_ever():
        raise InsecureBindError(
            "API keys were created for this data dir, so it is served with keys only; drop "
            "--no-auth (CONFIDANTE_SERVER_NO_AUTH) and send a key."
        )
    if not is_loopback(host) and not keys.any_active():
        raise InsecureBindError(
            f"No usable API key exists, so the server only listens on loopback, not {host!r}; "
            "create one with `confidante keys create --user NAME` or serve on 127.0.0.1."
        )


@dataclass(kw_only=True)
class Service:
    """An assistant, its keys and the app that serves them."""

    assistant: AsyncAssistant
    keys: KeyStore
    app: FastAPI

    @classmethod
    def build(cls, assistant: AsyncAssistant, *, host: str) -> Self:
        """The app for ``assistant`` with keys in its database.

        Local mode if the settings ask for it (``server_no_auth``) and it is safe on ``host``.
        """
        no_auth = assistant.settings.server_no_auth
        keys = KeyStore.open(assistant.settings.resolved_data_dir())
        try:
            check_bind(host, keys, no_auth=no_auth)
        except BaseException:
            keys.close()
            raise
        auth = Authenticator(keys, local_mode=no_auth)
        return cls(assistant=assistant, keys=keys, app=create_app(Handlers(assistant, auth)))

    def close(self) -> None:
        """Close the key store and the assistant."""
        self.keys.close()
        asyncio.run(self.assistant.close())


def freeze_startup_objects() -> None:
    """Keep what startup loaded (libraries, models, stores) out of the garbage collector's scans.

    Serving allocates steadily, so full collections recur, and each walked every object the
    process ever loaded: 100 ms once in a 320-request bench run, stalling every request.
    """
    gc.collect()
    gc.freeze()


# Seconds a thread may hold the GIL while another waits for it (Python's default is 0.005).
GIL_SWITCH_INTERVAL_S = 0.0005


def share_the_interpreter() -> None:
    """Hand the GIL over sooner, so a request's short steps don't queue behind long ones.

    Learning from a large import runs in a thread, in pure Python for seconds. A request's
    query embedding, in another thread, gives the GIL up at every tensor operation and must
    then wait a whole switch interval to get it back: hundreds of those made one short search
    wait most of a second. A tenth of the interval divides that wait by ten (bench/stall.py).
    """
    sys.setswitchinterval(GIL_SWITCH_INTERVAL_S)


def serve(
    settings: Settings, *, llm: ChatLLM | None = None, embeddings: Embeddings | None = None
) -> None:
    """Open the assistant under ``settings`` and serve it until interrupted."""
    keys = KeyStore.open(settings.resolved_data_dir())
    try:  # before the model loads: refusing should be quick
        check_bind(settings.server_host, keys, no_auth=settings.server_no_auth)
    finally:
        keys.close()
    if "background_processes" not in settings.model_fields_set:
        # A server shares its cores among clients: large requests' pure-Python work goes to
        # a process of lower priority (see ``agent.background``).
        settings = settings.model_copy(update={"background_processes": 1})
    assistant = AsyncAssistant.open(settings=settings, llm=llm, embeddings=embeddings)
    service = Service.build(assistant, host=settings.server_host)
    assistant.start_background()
    freeze_startup_objects()
    share_the_interpreter()
    try:
        uvicorn.run(
            service.app, host=settings.server_host, port=settings.server_port, log_level="info"
        )
    finally:
        service.close()


class BackgroundServer:
    """Serves an app on a free loopback port in a thread: ``with BackgroundServer(app) as url``."""

    def __init__(self, app: FastAPI, *, log_level: str = "warning") -> None:
        config = uvicorn.Config(app, log_level=log_level, access_log=False, lifespan="off")
        self.server = uvicorn.Server(config)
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.socket.bind(("127.0.0.1", 0))
        self.port: int = self.socket.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.socket]}, daemon=True
        )

    def __enter__(self) -> str:
        self._thread.start()
        while not self.server.started:
            if not self._thread.is_alive():
                raise RuntimeError("The server thread stopped before it started.")
            self._thread.join(0.01)
        return self.url

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self._thread.join(10)
        self.socket.close()
