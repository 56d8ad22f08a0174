"""The bot's real web server, run for a test on its own thread and event loop.

`channels.server.serve` with every channel the settings turn on (the web chat; Telegram too
when the settings carry a token and a base_url), listening on a free port on 127.0.0.1.
Synchronous tests (HTTP clients, selenium) talk to it over the network like a browser would;
`call` runs a coroutine on the server's loop (e.g. to deliver a late message).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import dataclasses
import secrets
import socket
import threading
from collections.abc import Coroutine
from typing import Any

from servicebot.answering.service import Service
from servicebot.channels import Core
from servicebot.channels.server import build_channels, serve
from servicebot.config import Settings


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def new_session() -> str:
    """A web chat session id, as the page makes one (32 hex digits)."""
    return secrets.token_hex(16)


class ServerThread:
    """Start with `start()` (returns once /healthz would answer ok), stop with `stop()`."""

    def __init__(self, settings: Settings, *, secret: str = "web-test-secret", sink=None, web_limits=None):
        if settings.web_port is None:
            settings = dataclasses.replace(settings, web_port=free_port(), web_listen="127.0.0.1")
        self.settings = settings
        self.core = Core(settings, Service.from_settings(settings, sink, secret))
        self.channels = build_channels(self.core)
        self.web_limits = web_limits  # web_limits.WebLimits, if not the defaults
        self.port = settings.web_port
        self.loop = asyncio.new_event_loop()
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="web-server", daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def web(self):
        return next(c for c in self.channels if c.name == "web")

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_until_complete(self._main())
        except BaseException as exc:  # reported by start()/stop()
            self._error = exc
            self._ready.set()
        finally:
            self.loop.close()

    async def _main(self) -> None:
        self._stop = asyncio.Event()
        listening: asyncio.Future[int] = self.loop.create_future()
        listening.add_done_callback(lambda _: self._ready.set())
        await serve(self.core, self.channels, self._stop, listening=listening, web_limits=self.web_limits)

    def start(self, timeout: float = 20.0) -> ServerThread:
        self._thread.start()
        if not self._ready.wait(timeout):
            raise TimeoutError("the web server did not start")
        if self._error is not None:
            raise self._error
        return self

    def call(self, coroutine: Coroutine[Any, Any, Any], timeout: float = 10.0) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def stop(self, timeout: float = 20.0) -> None:
        if self._stop is not None and not self.loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                self.loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise TimeoutError("the web server did not stop")
        if self._error is not None and not isinstance(self._error, concurrent.futures.CancelledError):
            raise self._error

    def __enter__(self) -> ServerThread:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
