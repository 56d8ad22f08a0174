"""One process for every configured channel: `servicebot run`.

Telegram runs when a token is set, the web chat when `web_port` is set, the WeChat Official
Account's endpoint when `wechat_token` is set too, the staff desk (on a server of its own, so
that no residents' route ever serves it) when `desk_port` is set; all share one
`Core` (the service, the interaction log, the FAQ watcher) on one asyncio event loop. The
web server is Starlette on uvicorn — the pattern python-telegram-bot's own custom-webhook
example uses — assembled from the routes each web-facing channel contributes (the web chat,
Telegram's webhook, WeChat's `/wechat`) plus `/healthz`, so one port serves them all.

Start order: open the core; bind the listening socket (a port in use stops startup before
anything talks to Telegram, and Telegram's first webhook call waits in the backlog); start
each channel; then serve. Stop runs the same steps backwards: stop serving (in-flight
requests finish), stop the channels (Telegram finishes what it already received), close the
core (the log writes what it holds). Signals are handled here, not by uvicorn: SIGINT and
SIGTERM stop, SIGHUP reloads the FAQ.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import uvicorn
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from servicebot.answering import replies
from servicebot.answering.service import Service
from servicebot.channels import ChannelAdapter, Core
from servicebot.channels.http_shared import SecurityMiddleware, security_headers
from servicebot.channels.web_limits import WebLimits, guarded_protocol
from servicebot.config import Settings
from servicebot.errors import ConfigError, ServicebotError
from servicebot.logs import LogThrottle

if TYPE_CHECKING:
    from servicebot.staffdesk.site import DeskSite

log = logging.getLogger(__name__)

SHUTDOWN_GRACE = 5  # seconds in-flight web requests get to finish when stopping


def build_channels(core: Core) -> list[ChannelAdapter]:
    """Every channel the settings turn on."""
    settings = core.settings
    channels: list[ChannelAdapter] = []
    if settings.token:
        from servicebot.channels.tg import TelegramChannel

        channels.append(TelegramChannel(core))
    if settings.web_port is not None:
        from servicebot.channels.web import WebChannel

        channels.append(WebChannel(core))
    if settings.wechat_token and settings.web_port is not None:
        from servicebot.channels.wechat import WechatChannel

        channels.append(WechatChannel(core))
    return channels


def build_desk(core: Core) -> DeskSite | None:
    """The staff desk in a browser, when `desk_port` is set: an app of its own, on a server of
    its own, so that no route of the residents' server ever serves it."""
    if core.settings.desk_port is None or core.desk is None:
        return None
    from servicebot.staffdesk.site import DeskSite

    return DeskSite(core)


def _announce_tickets(core: Core) -> None:
    """With `wecom_webhook_url`, new tickets are announced to the 企业微信 group robot too (the
    desk starts and stops it with its worker)."""
    if not core.settings.wecom_webhook_url or core.desk is None:
        return
    from servicebot.staffdesk.notify import WecomRobot

    core.desk.notices.append(WecomRobot(core.settings.wecom_webhook_url))


def build_app(core: Core, channels: Sequence[ChannelAdapter]) -> ASGIApp:
    """The web server's app: /healthz plus every channel's routes, inside `LastResort` (an
    unexpected error is one short log line and a JSON 500), inside the security headers, so
    that every response — an error included — carries them."""

    async def healthz(request: Request) -> Response:
        if core.ready and core.service.snapshot.faq.entries:
            return PlainTextResponse("ok", headers={"Cache-Control": "no-store"})
        return PlainTextResponse("starting", status_code=503, headers={"Cache-Control": "no-store"})

    routes: list[BaseRoute] = [Route("/healthz", healthz, methods=["GET"])]
    for channel in channels:
        routes.extend(channel.routes())
    app = Starlette(routes=routes, exception_handlers={Exception: lambda request, exc: _internal_error()})
    return SecurityMiddleware(LastResort(app), core.settings)


def _internal_error() -> Response:
    return JSONResponse(
        {"error": "internal", "message": replies.ERROR_TEXT}, status_code=500, headers={"Cache-Control": "no-store"}
    )


def where(exc: BaseException) -> str:
    """An exception for a log line: its type and the innermost frame, never its message (it
    might quote a resident) nor a whole stack (a RecursionError's is a thousand frames)."""
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return type(exc).__name__
    last = frames[-1]
    return f"{type(exc).__name__} at {Path(last.filename).name}:{last.lineno} in {last.name}"


class LastResort:
    """Around the Starlette app: an exception a handler let through is logged as one line (at
    most one a minute per kind, with a count) and answered with a JSON 500 if nothing was sent
    yet; it goes no further, so uvicorn prints no traceback. A client that hung up while its
    request was being read gets nothing (there is no one to answer)."""

    def __init__(self, app: ASGIApp):
        self.app = app
        self.errors = LogThrottle(log)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking)
        except ClientDisconnect:
            return
        except Exception as exc:
            self.errors.error(
                type(exc).__name__, "error while answering %s %s: %s", scope["method"], scope["path"], where(exc)
            )
            if not started:
                await _internal_error()(scope, receive, send)


class _Uvicorn(uvicorn.Server):
    """uvicorn's server without its own signal handling: the process's signals stop
    everything in order (see `serve`), not just the web server."""

    @contextlib.contextmanager
    def capture_signals(self):
        yield


class WebServer:
    """uvicorn serving the app on a socket bound before the channels start — the residents'
    (`web_listen:web_port`), or the staff desk's (`listen`, `port`) — within `limits`
    (`web_limits`: read timeout, idle timeout, connections; the defaults fit the process)."""

    def __init__(
        self,
        app: ASGIApp,
        settings: Settings,
        limits: WebLimits | None = None,
        *,
        listen: str | None = None,
        port: int | None = None,
    ):
        self.settings = settings
        self.limits = limits or WebLimits.for_process()
        self.listen = settings.web_listen if listen is None else listen
        self.port_wanted = settings.web_port if port is None else port
        self.config = uvicorn.Config(
            app,
            http=guarded_protocol(self.limits, security_headers(settings)),
            log_config=None,  # logging is configured by the entry point
            access_log=False,  # an access log would hold residents' addresses
            lifespan="off",  # channels are started by `serve`, not by the ASGI lifespan
            proxy_headers=True,
            forwarded_allow_ips=settings.web_trusted_proxies,
            server_header=False,
            timeout_graceful_shutdown=SHUTDOWN_GRACE,
            **self.limits.uvicorn_options(),
        )
        self.socket: socket.socket | None = None
        self._server = _Uvicorn(self.config)
        self._task: asyncio.Task[None] | None = None

    def bind(self) -> None:
        host, port = self.listen, self.port_wanted
        try:
            family = socket.AF_INET6 if ":" in host else socket.AF_INET
            # IPPROTO_TCP, not 0: asyncio turns Nagle off only for sockets that say they are TCP,
            # and with Nagle on a keep-alive response waits 40 ms for the client's delayed ACK.
            sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((host, port or 0))
            sock.listen(self.config.backlog)
        except OSError as exc:
            raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
        sock.setblocking(False)
        self.socket = sock

    @property
    def port(self) -> int:
        assert self.socket is not None
        return self.socket.getsockname()[1]

    async def start(self) -> None:
        assert self.socket is not None
        self._task = asyncio.create_task(self._server.serve(sockets=[self.socket]))
        while not self._server.started:
            if self._task.done():
                self._task.result()  # raises what stopped it
                raise ServicebotError("the web server stopped while starting")
            await asyncio.sleep(0.01)

    async def stop(self) -> None:
        """Stop accepting, let in-flight requests finish (at most SHUTDOWN_GRACE seconds)."""
        self._server.should_exit = True
        if self._task is not None:
            await self._task
            self._task = None

    def close(self) -> None:
        if self.socket is not None:
            self.socket.close()


def _signals(loop: asyncio.AbstractEventLoop, core: Core, stop: asyncio.Event, install: bool) -> None:
    handlers = {signal.SIGINT: stop.set, signal.SIGTERM: stop.set, signal.SIGHUP: core.request_reload}
    for sig, handler in handlers.items():
        if install:
            loop.add_signal_handler(sig, handler)
        else:
            loop.remove_signal_handler(sig)


async def serve(
    core: Core,
    channels: Sequence[ChannelAdapter],
    stop: asyncio.Event,
    *,
    handle_signals: bool = False,
    listening: asyncio.Future[int] | None = None,
    web_limits: WebLimits | None = None,
) -> None:
    """Run the channels until `stop` is set. With `handle_signals`, SIGINT/SIGTERM stop and
    SIGHUP reloads the FAQ. `listening`, if given, gets the web server's port once it serves.
    `web_limits`: the web server's limits, if not the defaults (tests shrink them)."""
    loop = asyncio.get_running_loop()
    async with contextlib.AsyncExitStack() as stack:
        await core.open()
        stack.push_async_callback(core.close)
        if handle_signals:
            _signals(loop, core, stop, install=True)
            stack.callback(_signals, loop, core, stop, False)
        settings = core.settings
        web = WebServer(build_app(core, channels), settings, web_limits) if settings.web_port is not None else None
        desk = build_desk(core)
        desk_web = WebServer(desk.app, settings, listen=settings.desk_listen, port=settings.desk_port) if desk else None
        for server in (web, desk_web):
            if server is not None:
                server.bind()
                stack.callback(server.close)
        _announce_tickets(core)
        for channel in channels:
            stack.push_async_callback(channel.stop)
            await channel.start()
        if desk is not None:
            stack.push_async_callback(desk.stop)
            await desk.start()
        for server in (web, desk_web):
            if server is not None:
                stack.push_async_callback(server.stop)
                await server.start()
        core.ready = True
        if listening is not None and web is not None:
            listening.set_result(web.port)
        names = [str(channel.name) for channel in channels] + (["staff desk"] if desk is not None else [])
        log.info("answering on: %s", ", ".join(names))
        await stop.wait()
        core.ready = False
    log.info("stopped")


def run(settings: Settings) -> int:
    """`servicebot run`: load the FAQ (FaqError stops startup), start every configured
    channel, answer until SIGINT/SIGTERM."""
    from telegram.error import InvalidToken, NetworkError

    from servicebot.channels.tg_render import describe_error
    from servicebot.privacy import load_or_create_secret

    secret = load_or_create_secret(settings.pseudonym_secret, settings.data_dir)
    core = Core(settings, Service.from_settings(settings, None, secret))
    channels = build_channels(core)
    try:
        asyncio.run(serve(core, channels, asyncio.Event(), handle_signals=True))
    except InvalidToken:
        raise ConfigError("Telegram did not accept the bot token (value hidden); check SERVICEBOT_TOKEN") from None
    except NetworkError as exc:
        raise ServicebotError(f"cannot reach the Bot API: {describe_error(exc)}") from None
    return 0


__all__ = ["LastResort", "WebServer", "build_app", "build_channels", "build_desk", "run", "serve", "where"]
