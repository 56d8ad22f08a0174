"""Channel adapters, and what every running channel shares.

Each adapter decodes its own input (a Telegram update, a line in the terminal, a JSON
request from the web page), hands it to the `Conversation` and renders the `Said`:

- `tg.py` (with `tg_render.py`, `tg_net.py`, `tg_ingest.py`, `tg_staff.py`): Telegram, by long
  polling or by webhook, every update kept in the update journal (`servicebot.storage.journal`)
  until answered;
- `web.py`: the web chat page and its JSON API;
- `wechat.py`: the WeChat Official Account's server mode, with its protocol as pure functions
  (`wechat_crypto.py`: signatures and safe mode; `wechat_messages.py`: the XML messages;
  `wechat_protocol.py`: a POST in, its answer out; `wechat_text.py`: a reply as WeChat text)
  and `wechat_replay.py` (retries answered once, replays refused);
- `terminal.py`: the same conversation in a terminal, buttons as numbered choices;
- `server.py`: one process for every configured channel: the shared `Core`, one web server
  assembled from the routes each web-facing channel contributes plus /healthz, clean start
  and stop, signals; with `web_limits.py`, the web server's limits.

Mechanisms the adapters share, so that none imports another: `http_shared.py` (a request body
within a limit, the security headers and cross-origin policy of every response; web chat,
WeChat, Telegram's webhook and the server), `splitter.py` (the one message splitter, each
channel giving its limit and how it is measured; Telegram and WeChat) and `singleflight.py`
(each request answered once, however often it is retried; WeChat's retries).

Adding a channel touches its adapter, its settings and `server.build_channels`, nothing else.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from servicebot.answering.service import Service
from servicebot.config import Settings
from servicebot.conversation.delivery import Delivery
from servicebot.errors import Problem
from servicebot.faq.watcher import FaqWatcher
from servicebot.records import Channel
from servicebot.storage import InteractionLog
from servicebot.storage.db import Database

if TYPE_CHECKING:
    from starlette.routing import BaseRoute  # a type only: `servicebot ask` never loads the web server

    from servicebot.conversation.tickets import Desk

log = logging.getLogger(__name__)

ReloadListener = Callable[[bool, list[Problem]], Coroutine[Any, Any, None]]


@dataclass
class Core:
    """What every channel of one process shares: settings, the service (FAQ + answering),
    the interaction log, the FAQ watcher, the delivery registry for late messages, the
    hand-off desk (`settings.handoff`: a staff group on Telegram, which hosts its staff room,
    and/or the staff desk, `staffdesk/`), and `db`, the one owner of the connection to the
    log's file, through which the log, the desk and the outboxes of the web chat and WeChat
    all write.

    `open` and `close` are called once by the server around all channels. A service that
    already has a sink (a test's recording fake) keeps it; otherwise the log is opened here.
    """

    settings: Settings
    service: Service
    delivery: Delivery = field(default_factory=Delivery)
    db: Database = field(init=False)
    log: InteractionLog | None = None
    watcher: FaqWatcher | None = None
    desk: Desk | None = None
    ready: bool = False
    reload_listeners: list[ReloadListener] = field(default_factory=list)
    _loop: asyncio.AbstractEventLoop | None = None

    def __post_init__(self) -> None:
        self.db = Database(self.settings.db_path)  # opened at its first transaction
        if self.desk is None and self.settings.handoff:
            from servicebot.conversation.tickets import Desk

            self.desk = Desk(self.settings, self.service, self.delivery)

    async def open(self) -> None:
        self._loop = asyncio.get_running_loop()
        if self.service.sink is None:
            self.log = await asyncio.to_thread(
                InteractionLog, self.settings.db_path, db=self.db, retention_days=self.settings.retention_days
            )
            self.service.sink = self.log
        self.watcher = FaqWatcher(self.service, self.settings.reload_interval, self._on_reload)
        self.watcher.start()
        if self.desk is not None:
            await self.desk.open(self.db)

    async def close(self) -> None:
        self.ready = False
        if self.desk is not None:
            await self.desk.close()
        if self.watcher is not None:
            await asyncio.to_thread(self.watcher.stop)
            self.watcher = None
        if self.log is not None:
            self.service.sink = None
            await asyncio.to_thread(self.log.close)
            self.log = None
        await asyncio.to_thread(self.db.close)

    def request_reload(self) -> None:
        """Reload the FAQ now (SIGHUP), off the event loop; listeners hear as for an edit."""
        if self.watcher is not None:
            log.info("reload requested by signal")
            asyncio.get_running_loop().run_in_executor(None, functools.partial(self.watcher.check_now, force=True))

    def _on_reload(self, swapped: bool, problems: list[Problem]) -> None:
        """Called on the watcher's thread: hand the result to each listener on the loop."""
        loop = self._loop
        if loop is None or loop.is_closed() or not self.ready:
            return
        for listener in self.reload_listeners:
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                asyncio.run_coroutine_threadsafe(listener(swapped, problems), loop)


class ChannelAdapter(Protocol):
    """One channel as the server runs it."""

    name: Channel

    def routes(self) -> Sequence[BaseRoute]:
        """HTTP routes this channel serves on the bot's web server (none for polling Telegram)."""
        ...

    async def start(self) -> None:
        """Begin answering (the web server is already listening, not yet serving)."""
        ...

    async def stop(self) -> None:
        """Stop answering; called once, after the web server stopped, even if start failed half-way."""
        ...


__all__ = ["ChannelAdapter", "Core", "ReloadListener"]
