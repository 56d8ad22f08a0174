"""The bot's Telegram channel run in the test's own event loop, polling a `FakeBotApi`."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses


@contextlib.asynccontextmanager
async def telegram_bot(settings, api, **channel_options):
    """The Telegram bot polling `api` (a FakeBotApi) until the block ends; yields its channel."""
    from servicebot.answering.service import Service
    from servicebot.channels import Core
    from servicebot.channels.server import serve
    from servicebot.channels.tg import TelegramChannel

    settings = dataclasses.replace(settings, base_url=api.base_url)
    core = Core(settings, Service.from_settings(settings, secret="bot-secret"))
    telegram = TelegramChannel(core, **channel_options)
    stop = asyncio.Event()
    mark = api.mark()
    task = asyncio.create_task(serve(core, [telegram], stop))
    try:
        await api.wait_for("setMyCommands", since=mark, timeout=10)
        yield telegram
    finally:
        stop.set()
        await asyncio.wait_for(task, 20)
