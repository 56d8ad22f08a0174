"""The Telegram channel: a python-telegram-bot `Application` as a thin adapter.

Handlers only decode an update into a conversation event (text, command, button press,
something that is not text), ask the `Conversation`, and send the `Said` rendered by
`tg_render`. Every handler is registered in `_build_application`. Shared resources (the
interaction log, the FAQ watcher) belong to the server's `Core`; handlers reach this
channel through `TgContext.channel`.

Decisions worth knowing:
- Only new messages and button presses are asked for (ALLOWED_UPDATES). Edited messages and
  channel posts are ignored quietly if they arrive anyway: re-answering an edit would post a
  second answer under an old question, and the resident can simply ask again.
- In groups the bot reacts only when addressed (command, @mention, reply to the bot).
- Polling by default. In webhook mode the Application has no Updater (PTB's custom-webhook
  pattern): the bot's own web server routes POSTs to the webhook path here, checks
  Telegram's secret token, and queues the update; /healthz and the web chat share the port.
- With a hand-off desk (`staff_chat_id`), this channel hosts the staff room
  (`tg_staff.StaffGroup`): its handlers run first, and the desk's worker starts and stops
  with the channel. Residents here hand off like everywhere else, through the conversation.
- An update python-telegram-bot cannot read is skipped (counted, logged once a minute), not
  allowed to stop every update after it (`tg_ingest.UpdatesRequest`, `readable_update`).
- Every update is in the update journal before Telegram may consider it delivered, is
  processed once, and stays there until answered; what a crash or a stop left unanswered is
  answered first at the next start; a stop drains for a bounded time (`tg_ingest`). An
  update's interaction is logged under a reference derived from the update
  (`_interaction_ref`), so a replayed update is answered again but counted once.
"""

from __future__ import annotations

import asyncio
import functools
import hmac
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from typing import Any
from urllib.parse import urlparse

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route
from telegram import BotCommand, CallbackQuery, Message, ReplyParameters, Update
from telegram.constants import ChatType, ParseMode
from telegram.error import BadRequest, Forbidden, TelegramError
from telegram.ext import (
    Application,
    ApplicationHandlerStop,
    BaseRateLimiter,
    CallbackContext,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    ExtBot,
    MessageHandler,
    TypeHandler,
    filters,
)

from servicebot.answering import replies
from servicebot.answering.replies import Reply
from servicebot.channels import Core
from servicebot.channels.http_shared import BodyTooLarge, read_body
from servicebot.channels.tg_ingest import (
    DRAIN_SECONDS,
    ChatOrderedProcessor,
    JournaledQueue,
    UpdatesRequest,
    readable_update,
    stop_draining,
)
from servicebot.channels.tg_net import QuietRequest, RetryingRateLimiter, Timings
from servicebot.channels.tg_render import (
    ADMIN_ONLY_TEXT,
    ID_GROUP_TEXT,
    ID_PRIVATE_TEXT,
    NO_PREVIEW,
    STATS_UNAVAILABLE_TEXT,
    WATCH_PREFIX,
    describe_error,
    is_addressed,
    keyboard,
    reload_text,
    render_html,
    stats_text,
    strip_mention,
)
from servicebot.channels.tg_staff import DEAD_LETTERS_TEXT, GROUP as STAFF_GROUP, StaffGroup
from servicebot.conversation.chat import Conversation, admission
from servicebot.conversation.delivery import Delivered
from servicebot.conversation.events import Ask, Command, Event, NonText, Press, Refusal, Resident, Said, Text
from servicebot.conversation.throttle import FloodGate
from servicebot.errors import Problem
from servicebot.logs import LogThrottle
from servicebot.records import Channel
from servicebot.storage import InteractionLog
from servicebot.storage.journal import UpdateJournal

log = logging.getLogger(__name__)

CHANNEL_KEY = "servicebot.channel"
LONG_POLL = 30  # seconds a getUpdates call waits for news
MAX_CONCURRENT_UPDATES = 64
RATE_LIMIT_RETRIES = 3  # 429 "retry after" answers waited out per call
ALLOWED_UPDATES = [Update.MESSAGE, Update.CALLBACK_QUERY]
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_WEBHOOK_BODY = 1024 * 1024
# Bot API refusals that mean a chat is gone for the bot: a delivery there will never work.
GONE_PHRASES = ("chat not found", "user not found", "peer_id_invalid", "bot can't initiate", "user is deactivated")

COMMANDS = [
    BotCommand("start", "开始使用，查看可以咨询的主题"),
    BotCommand("topics", "按主题浏览常见问题"),
    BotCommand("help", "使用说明"),
    BotCommand("privacy", "我们记录哪些信息"),
]


class TgContext(CallbackContext[ExtBot, dict, dict, dict]):
    """The handlers' context, with typed access to the channel."""

    @property
    def channel(self) -> TelegramChannel:
        return self.application.bot_data[CHANNEL_KEY]


class TelegramChannel:
    """The Telegram bot, run by the server next to the other channels."""

    name = Channel.TELEGRAM

    def __init__(
        self,
        core: Core,
        *,
        rate_limiter: BaseRateLimiter | None = None,
        max_concurrent: int = MAX_CONCURRENT_UPDATES,
        journal: UpdateJournal | None = None,
        drain: float = DRAIN_SECONDS,
    ):
        settings = core.settings
        self.core = core
        # No `settle`: an update whose reply was not sent is replayed from the journal (and
        # logged again, once); waiting for the log's disk would slow every reply by the
        # writer thread's turn (48.8 ms median own work per update in bench/load/bot.py, 7.1 without).
        # The flood gate is checked for every update for the bot, before it is read (`admit`),
        # so the conversation has none of its own.
        self.gate = FloodGate(settings.flood_messages, settings.flood_window)
        self.conversation = Conversation(core.service, desk=core.desk, settle=False)
        self.timings = Timings()
        self.rejections = LogThrottle(log)
        self.unreadable = 0  # updates python-telegram-bot could not read, skipped
        telegram_staff = core.desk is not None and settings.telegram_staff  # else staff sit at the desk only
        self.staff = StaffGroup(core, lambda: self.application.bot) if telegram_staff else None
        self.drain = drain
        self.inbox = JournaledQueue(journal or UpdateJournal(settings.journal_path))
        self.processor = ChatOrderedProcessor(max_concurrent, self.timings, self.inbox)
        self.application = _build_application(self, rate_limiter)
        core.reload_listeners.append(self.on_reload)
        core.delivery.register(self.name, self)

    @property
    def webhook_mode(self) -> bool:
        return self.core.settings.webhook_mode

    # -- lifecycle -----------------------------------------------------------------------

    def routes(self) -> Sequence[BaseRoute]:
        if not self.webhook_mode:
            return []
        path = urlparse(self.core.settings.webhook_url).path or "/"
        return [Route(path, self.webhook, methods=["POST"])]

    async def start(self) -> None:
        """Connect (InvalidToken if Telegram refuses the token), register the commands, then
        poll, or register the webhook the web server is already listening for."""
        application = self.application
        await application.initialize()
        await self.inbox.open(application.bot)  # queued before anything new can arrive
        try:
            await application.bot.set_my_commands(COMMANDS)
        except TelegramError as exc:
            log.warning("could not register the command list: %s", describe_error(exc))
        if self.webhook_mode:
            await application.start()
            settings = self.core.settings
            await application.bot.set_webhook(
                settings.webhook_url,
                secret_token=settings.webhook_secret,
                allowed_updates=ALLOWED_UPDATES,
                drop_pending_updates=False,
                max_connections=40,
            )
        else:
            assert application.updater is not None
            await application.updater.start_polling(
                timeout=LONG_POLL,
                allowed_updates=ALLOWED_UPDATES,
                drop_pending_updates=False,
                bootstrap_retries=5,
                error_callback=self._polling_failed,
            )
            await application.start()
        log.info(
            "telegram: @%s answering (%s)", application.bot.username, "webhook" if self.webhook_mode else "polling"
        )
        if self.core.desk is not None and self.staff is not None:
            await self.core.desk.start(self.staff)
        await self._tell_dead_letters()

    async def stop(self) -> None:
        """Stop fetching, answer for at most `drain` seconds more (staff replies included), leave
        the rest in the journal; then stop the desk's worker, while the bot can still send."""
        try:
            await stop_draining(self.application, self.processor, self.drain)
            if self.core.desk is not None and self.staff is not None:
                await self.core.desk.stop()
            await self.application.shutdown()
        finally:
            await self.inbox.close()

    async def _tell_dead_letters(self) -> None:
        """Tell staff (the staff group, else the admin chat or admins) about updates the journal
        gave up, once; with neither, the journal's own error line is all there is."""
        count = await self.inbox.untold_dead_letters()
        if not count:
            return
        text = DEAD_LETTERS_TEXT.format(count=count)
        settings = self.core.settings
        if self.staff is not None:
            if not await self.staff.announce(text):
                return  # told at the next start
        elif settings.admin_chat_id is not None or settings.admin_ids:
            await self.notify_staff(text)
        await self.inbox.told_dead_letters()

    def _polling_failed(self, error: TelegramError) -> None:
        self.rejections.warning("poll", "telegram: fetching updates failed (%s); retrying", describe_error(error))

    def skipped(self, update_id: int | None, error: Exception) -> None:
        """An update python-telegram-bot cannot read: skipped (see tg_ingest), counted, logged
        (one line a minute at most: the error's type, never the update's content)."""
        self.unreadable += 1
        self.rejections.warning(
            "unreadable",
            "telegram: skipped update %s, which python-telegram-bot cannot read (%s); %d skipped since start",
            update_id if update_id is not None else "without an id",
            type(error).__name__,
            self.unreadable,
        )

    # -- webhook -------------------------------------------------------------------------

    async def webhook(self, request: Request) -> Response:
        """POST from Telegram: check the secret token, journal and queue the update (a re-post
        of one already received is dropped; one PTB cannot read, skipped), answer at once."""
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not hmac.compare_digest(given, self.core.settings.webhook_secret.encode()):
            self.rejections.warning("secret", "telegram: refused a webhook call with a wrong secret token")
            return PlainTextResponse("forbidden", status_code=403)
        try:
            body = await read_body(request, MAX_WEBHOOK_BODY)
            doc = json.loads(body)
        except BodyTooLarge:
            self.rejections.warning("size", "telegram: refused an oversized webhook call")
            return PlainTextResponse("too large", status_code=413)
        except (ValueError, RecursionError):  # not JSON
            doc = None
        if not isinstance(doc, dict) or type(doc.get("update_id")) is not int:  # not an update at all
            self.rejections.warning("bad", "telegram: refused a webhook call that is not an update")
            return PlainTextResponse("bad update", status_code=400)
        update = readable_update(doc, self.application.bot, self.skipped)  # one PTB cannot read: a bare one
        assert update is not None  # it has an update_id
        await self.application.update_queue.put(update)
        return PlainTextResponse("ok")

    # -- sending -------------------------------------------------------------------------

    async def send(self, chat_id: int, said: Said, *, quote: Message | None = None) -> None:
        """Send what was said as one or more HTML messages; the buttons go with the last one.
        An acknowledgement without a reply (e.g. "slow down") is sent as a message."""
        if said.reply is None:
            if not said.ack:
                return
            said = replace(said, reply=Reply(said.ack))
        await send_reply(self.application.bot, chat_id, said, quote=quote)

    async def deliver(self, resident: Resident, said: Said) -> Delivered:
        """A late message (e.g. a staff reply) to a resident's chat: SENT; GONE when the
        resident blocked the bot or the chat no longer exists; RETRY for anything passing."""
        try:
            await self.send(int(resident.address), said)
        except Forbidden as exc:
            log.info("telegram: a resident cannot be reached: %s", describe_error(exc))
            return Delivered.GONE
        except TelegramError as exc:
            if isinstance(exc, BadRequest) and any(p in exc.message.lower() for p in GONE_PHRASES):
                log.info("telegram: a resident cannot be reached: %s", describe_error(exc))
                return Delivered.GONE
            log.warning("telegram: could not deliver a message: %s", describe_error(exc))
            return Delivered.RETRY
        return Delivered.SENT

    async def notify_staff(self, text: str) -> None:
        """Tell staff (the admin chat, else each admin); failures are only logged."""
        settings = self.core.settings
        targets = [settings.admin_chat_id] if settings.admin_chat_id is not None else sorted(settings.admin_ids)
        for chat_id in targets:
            try:
                await send_reply(self.application.bot, chat_id, Said(Reply(text)))
            except TelegramError as exc:
                log.warning("could not notify staff: %s", type(exc).__name__)

    async def on_reload(self, swapped: bool, problems: list[Problem]) -> None:
        await self.notify_staff(WATCH_PREFIX + reload_text(swapped, problems, self.core.service.snapshot.faq))


async def send_reply(bot: ExtBot, chat_id: int, said: Said, *, quote: Message | None = None) -> None:
    """Send what was said (its reply, notice, buttons) as one or more HTML messages; the
    buttons go with the last one. Nothing without a reply."""
    if said.reply is None:
        return
    texts = render_html(said.reply, said.notice)
    markup = keyboard(said)
    for n, text in enumerate(texts):
        await bot.send_message(
            chat_id,
            text,
            parse_mode=ParseMode.HTML,
            link_preview_options=NO_PREVIEW,
            reply_markup=markup if n == len(texts) - 1 else None,
            reply_parameters=ReplyParameters(quote.message_id, allow_sending_without_reply=True)
            if quote and n == 0
            else None,
        )


# --- decoding updates ---------------------------------------------------------------------


def _resident(update: Update) -> Resident | None:
    user, chat = update.effective_user, update.effective_chat
    if user is None or chat is None:
        return None
    return Resident(Channel.TELEGRAM, user.id, chat=chat.id, chat_type=chat.type)


def _is_for_bot(update: Update, bot: ExtBot) -> bool:
    if update.callback_query is not None:
        return True
    if update.message is None:  # edits, channel posts, membership changes: ignored quietly
        return False
    return is_addressed(update.message, bot.username, bot.id)


def _interaction_ref(update: Update, context: TgContext) -> str:
    """The reference the update's interaction is logged under: the same when the journal
    replays the update after a crash, so the log keeps it once. Telegram numbers updates per
    bot, and after a week without any it starts again at random: the bot's id, and the
    message's time or the button press's own id, keep two different updates apart."""
    query, message = update.callback_query, update.effective_message
    once = query.id if query is not None else (int(message.date.timestamp()) if message is not None else "")
    return context.channel.core.service.ref_for(f"telegram:{context.bot.id}:{update.update_id}:{once}")


async def _ack(query: CallbackQuery, text: str | None = None) -> None:
    """Answer a button press; a press too old to answer is not worth an error."""
    try:
        await query.answer(text or None)
    except BadRequest as exc:
        log.info("could not answer a button press: %s", exc.message)


async def _respond(update: Update, context: TgContext, said: Said) -> None:
    """Send what was said in the update's chat; in groups as a reply to the resident's message."""
    chat = update.effective_chat
    if chat is None:
        return
    quote = update.message if chat.type != ChatType.PRIVATE else None
    await context.channel.send(chat.id, said, quote=quote)


# --- handlers ---------------------------------------------------------------------------------


async def admit(update: Update, context: TgContext) -> None:
    """Group -1: drop updates not meant for the bot, then apply the resident's flood gate."""
    if not _is_for_bot(update, context.bot):
        raise ApplicationHandlerStop
    resident = _resident(update)
    channel = context.channel
    said = admission(channel.gate, channel.conversation.key(resident)) if resident is not None else None
    if said is None:
        return
    if update.callback_query is not None:
        await _ack(update.callback_query, said.ack)
    elif said.refused == Refusal.SLOW_DOWN:
        await _respond(update, context, said)
    raise ApplicationHandlerStop


async def _converse(update: Update, context: TgContext, event: Event) -> None:
    resident = _resident(update)
    if resident is None:
        return
    said = await context.channel.conversation.handle(resident, event, ref=_interaction_ref(update, context))
    await _respond(update, context, said)


def _command(command: Command):
    async def handler(update: Update, context: TgContext) -> None:
        await _converse(update, context, Ask(command))

    handler.__name__ = f"on_{command}"
    return handler


async def on_other(update: Update, context: TgContext) -> None:
    """A sticker, photo, voice, location... in a private chat."""
    await _converse(update, context, NonText())


async def on_question(update: Update, context: TgContext) -> None:
    message = update.effective_message
    text = strip_mention((message.text or "") if message else "", context.bot.username)
    await _converse(update, context, Text(text))


async def on_button(update: Update, context: TgContext) -> None:
    query = update.callback_query
    if query is None:
        return
    resident = _resident(update)
    if resident is None:
        await _ack(query)
        return
    ref = _interaction_ref(update, context)
    said = await context.channel.conversation.handle(resident, Press(query.data), ref=ref)
    await _ack(query, said.ack)
    if said.reply is not None:
        await _respond(update, context, said)


# --- staff ----------------------------------------------------------------------------------


def _admins_only(handler: Callable[[Update, TgContext], Awaitable[None]]):
    """The handler for the office's admins (`admin_ids`); anyone else is told it is not for them."""

    @functools.wraps(handler)
    async def guarded(update: Update, context: TgContext) -> None:
        user = update.effective_user
        if user is None or user.id not in context.channel.core.settings.admin_ids:
            await _respond(update, context, Said(Reply(ADMIN_ONLY_TEXT)))
            return
        await handler(update, context)

    return guarded


@_admins_only
async def on_reload(update: Update, context: TgContext) -> None:
    service = context.channel.core.service
    swapped, problems = await asyncio.to_thread(service.reload)
    await _respond(update, context, Said(Reply(reload_text(swapped, problems, service.snapshot.faq))))


@_admins_only
async def on_stats(update: Update, context: TgContext) -> None:
    core = context.channel.core
    sink = core.log or core.service.sink
    if not isinstance(sink, InteractionLog):
        await _respond(update, context, Said(Reply(STATS_UNAVAILABLE_TEXT)))
        return
    summary = await asyncio.to_thread(sink.day_summary)
    await _respond(update, context, Said(Reply(stats_text(summary))))


async def on_id(update: Update, context: TgContext) -> None:
    """/id: the sender's own user id (private chat) or the group's id, for the settings that
    name admins and groups. Works in webhook mode, where getUpdates cannot be used to find them."""
    chat, user = update.effective_chat, update.effective_user
    if chat is None:
        return
    private = chat.type == ChatType.PRIVATE
    text = ID_PRIVATE_TEXT.format(id=user.id if user else chat.id) if private else ID_GROUP_TEXT.format(id=chat.id)
    await _respond(update, context, Said(Reply(text)))


# --- errors ---------------------------------------------------------------------------------


async def on_error(update: object, context: TgContext) -> None:
    kind = "callback" if isinstance(update, Update) and update.callback_query else type(update).__name__
    log.error("error while handling an update (%s): %s", kind, describe_error(context.error))
    if not isinstance(update, Update) or update.effective_chat is None:
        return
    try:
        if update.callback_query is not None:
            await _ack(update.callback_query)
        await send_reply(context.bot, update.effective_chat.id, Said(Reply(replies.ERROR_TEXT)))
    except TelegramError as exc:
        log.warning("could not tell the resident about the error: %s", type(exc).__name__)


# --- wiring ---------------------------------------------------------------------------------


def _request(pool: int, **timeouts: Any) -> QuietRequest:
    return QuietRequest(connection_pool_size=pool, **timeouts)


def _build_application(channel: TelegramChannel, rate_limiter: BaseRateLimiter | None) -> Application:
    """The Application with every handler."""
    settings = channel.core.settings
    builder = (
        Application.builder()
        .token(settings.token)
        .context_types(ContextTypes(context=TgContext))
        .rate_limiter(rate_limiter or RetryingRateLimiter(max_retries=RATE_LIMIT_RETRIES))
        .update_queue(channel.inbox)
        .concurrent_updates(channel.processor)
        .request(_request(256, connect_timeout=5, read_timeout=15, write_timeout=15, pool_timeout=5))
        .get_updates_request(
            UpdatesRequest(
                on_unreadable=channel.skipped,
                connection_pool_size=1,
                connect_timeout=5,
                read_timeout=10,
                write_timeout=15,
                pool_timeout=5,
            )
        )
    )
    if settings.base_url:
        builder = builder.base_url(settings.base_url)
    if settings.webhook_mode:
        builder = builder.updater(None)
    application = builder.build()
    application.bot_data[CHANNEL_KEY] = channel

    if channel.staff is not None:
        for handler in channel.staff.handlers():
            application.add_handler(handler, group=STAFF_GROUP)
    application.add_handler(TypeHandler(Update, admit), group=-1)
    for command in Command:
        application.add_handler(CommandHandler(command.value, _command(command)))
    application.add_handler(CommandHandler("reload", on_reload))
    application.add_handler(CommandHandler("stats", on_stats))
    application.add_handler(CommandHandler("id", on_id))
    application.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, on_question))
    application.add_handler(MessageHandler(filters.COMMAND & filters.ChatType.PRIVATE, _command(Command.HELP)))
    application.add_handler(MessageHandler(filters.ChatType.PRIVATE & ~filters.StatusUpdate.ALL, on_other))
    application.add_handler(CallbackQueryHandler(on_button))
    application.add_error_handler(on_error)
    return application


__all__ = ["MAX_CONCURRENT_UPDATES", "TelegramChannel", "TgContext", "send_reply"]
