"""The Telegram bot: builds the python-telegram-bot `Application` and runs it.

Handlers are thin: take the text (or the tapped button) out of the update, ask the
`Service`, send the `Reply` rendered by `tg_render`. Every handler is registered in
`build_application`; the interaction log and the FAQ watcher are opened in post_init and
closed in post_shutdown, and handlers reach them through `BotContext.res`.

Decisions worth knowing:
- Only new messages and button presses are asked for (ALLOWED_UPDATES). Edited messages and
  channel posts are ignored quietly if they arrive anyway: re-answering an edit would post a
  second answer under an old question, and the resident can simply ask again.
- In groups the bot reacts only when addressed (command, @mention, reply to the bot).
- Polling by default; webhook mode runs a small tornado server (PTB's custom-webhook
  pattern: Application without an Updater) that checks Telegram's secret token and also
  serves GET /healthz.
"""

from __future__ import annotations

import asyncio
import functools
import hmac
import json
import logging
import re
import signal
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

import tornado.httpserver
import tornado.netutil
import tornado.web
from telegram import BotCommand, CallbackQuery, LinkPreviewOptions, Message, ReplyParameters, Update
from telegram.constants import ChatType, ParseMode
from telegram.error import BadRequest, InvalidToken, NetworkError, TelegramError
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

from servicebot import replies
from servicebot.config import Settings
from servicebot.errors import ConfigError, Problem, ServicebotError
from servicebot.replies import Reply
from servicebot.service import Service
from servicebot.storage import InteractionLog
from servicebot.tg_render import (
    ADMIN_ONLY_TEXT,
    STATS_UNAVAILABLE_TEXT,
    WATCH_PREFIX,
    decode_button,
    describe_error,
    is_addressed,
    keyboard,
    reload_text,
    render_html,
    stats_text,
    strip_mention,
)
from servicebot.throttle import ALLOW, WARN, ChatOrderedProcessor, FloodGate, RetryingRateLimiter, Timings
from servicebot.watcher import FaqWatcher

log = logging.getLogger(__name__)

CHANNEL = "telegram"
RESOURCES_KEY = "servicebot"
MAX_QUESTION = 500  # characters of a message that are matched; the rest is ignored, with a note
LONG_POLL = 30  # seconds a getUpdates call waits for news
MAX_CONCURRENT_UPDATES = 64
RATE_LIMIT_RETRIES = 3  # 429 "retry after" answers waited out per call
ALLOWED_UPDATES = [Update.MESSAGE, Update.CALLBACK_QUERY]
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_WEBHOOK_BODY = 1024 * 1024
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)

COMMANDS = [
    BotCommand("start", "开始使用，查看可以咨询的主题"),
    BotCommand("topics", "按主题浏览常见问题"),
    BotCommand("help", "使用说明"),
    BotCommand("privacy", "我们记录哪些信息"),
]


@dataclass
class Resources:
    """Everything handlers share; one instance per Application, in bot_data[RESOURCES_KEY]."""

    settings: Settings
    service: Service
    gate: FloodGate
    timings: Timings = field(default_factory=Timings)
    log: InteractionLog | None = None  # opened in post_init unless the service already has a sink
    watcher: FaqWatcher | None = None
    loop: asyncio.AbstractEventLoop | None = None
    ready: bool = False


def resources(application: Application) -> Resources:
    return application.bot_data[RESOURCES_KEY]


class BotContext(CallbackContext[ExtBot, dict, dict, dict]):
    """The handlers' context, with typed access to the shared resources."""

    @property
    def res(self) -> Resources:
        return resources(self.application)


# --- sending -------------------------------------------------------------------------------


async def send_reply(
    bot: ExtBot,
    chat_id: int,
    reply: Reply,
    *,
    ref: str = "",
    via: str = "topic",
    notice: str = "",
    quote: Message | None = None,
) -> None:
    """Send a reply as one or more HTML messages; the buttons go with the last one."""
    texts = render_html(reply, notice)
    markup = keyboard(reply, ref, via)
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


async def _respond(update: Update, context: BotContext, reply: Reply, **kwargs: Any) -> None:
    """Answer in the update's chat; in groups as a reply to the resident's message."""
    chat = update.effective_chat
    if chat is None:
        return
    quote = update.message if chat.type != ChatType.PRIVATE else None
    await send_reply(context.bot, chat.id, reply, quote=quote, **kwargs)


async def _ack(query: CallbackQuery, text: str | None = None) -> None:
    """Answer a button press; a press too old to answer is not worth an error."""
    try:
        await query.answer(text)
    except BadRequest as exc:
        log.info("could not answer a button press: %s", exc.message)


def _resident(update: Update) -> int | None:
    user = update.effective_user
    return user.id if user is not None else None


def _chat_type(update: Update) -> str:
    return update.effective_chat.type if update.effective_chat is not None else "unknown"


# --- the gate in front of every handler ------------------------------------------------------


def _is_for_bot(update: Update, bot: ExtBot) -> bool:
    if update.callback_query is not None:
        return True
    if update.message is None:  # edits, channel posts, membership changes: ignored quietly
        return False
    return is_addressed(update.message, bot.username, bot.id)


async def admit(update: Update, context: BotContext) -> None:
    """Group -1: drop updates not meant for the bot, then apply the resident's flood gate."""
    if not _is_for_bot(update, context.bot):
        raise ApplicationHandlerStop
    key = context.res.service.resident_key(_resident(update))
    verdict = context.res.gate.check(key) if key is not None else ALLOW
    if verdict == ALLOW:
        return
    if update.callback_query is not None:
        await _ack(update.callback_query, replies.SLOW_DOWN_TEXT if verdict == WARN else None)
    elif verdict == WARN:
        await _respond(update, context, Reply(replies.SLOW_DOWN_TEXT))
    raise ApplicationHandlerStop


# --- residents -----------------------------------------------------------------------------


async def on_start(update: Update, context: BotContext) -> None:
    await _respond(update, context, replies.greeting_reply(context.res.service.snapshot.faq))


async def on_help(update: Update, context: BotContext) -> None:
    await _respond(update, context, Reply(replies.HELP_TEXT))


async def on_topics(update: Update, context: BotContext) -> None:
    await _respond(update, context, replies.topics_reply(context.res.service.snapshot.faq))


async def on_privacy(update: Update, context: BotContext) -> None:
    await _respond(update, context, Reply(replies.PRIVACY_TEXT.format(days=context.res.settings.retention_days)))


async def on_other(update: Update, context: BotContext) -> None:
    """A sticker, photo, voice, location... in a private chat."""
    await _respond(update, context, Reply(replies.NON_TEXT_TEXT))


async def on_question(update: Update, context: BotContext) -> None:
    service = context.res.service
    text = strip_mention(update.effective_message.text or "", context.bot.username)
    if not text:
        await on_start(update, context)
        return
    notice = replies.TOO_LONG_TEXT if len(text) > MAX_QUESTION else ""
    outcome = service.answer(
        text[:MAX_QUESTION], channel=CHANNEL, chat_type=_chat_type(update), resident=_resident(update)
    )
    await _respond(
        update, context, outcome.reply, ref=outcome.ref, via=replies.buttons_via(outcome.status), notice=notice
    )


async def on_button(update: Update, context: BotContext) -> None:
    query = update.callback_query
    service = context.res.service
    tap = decode_button(query.data, service.snapshot)
    if tap is None:
        await _ack(query, replies.STALE_BUTTON_TEXT)
        return
    if tap.kind == replies.FEEDBACK:
        service.feedback(tap.ref or "", tap.value == "+")
        await _ack(query, replies.FEEDBACK_THANKS[tap.value])
        return
    who = {"channel": CHANNEL, "chat_type": _chat_type(update), "resident": _resident(update)}
    ref, via = "", "topic"
    if tap.kind == replies.ENTRY:
        outcome = service.answer_entry(tap.value, via=tap.via, origin_ref=tap.ref, **who)
        reply = outcome.reply if outcome else Reply(replies.STALE_BUTTON_TEXT)
        ref, via = (outcome.ref, "related") if outcome else ("", "topic")
    elif tap.kind == replies.TOPIC:
        faq = service.snapshot.faq
        topic = next((t for t in faq.topics if t.name == tap.value), None)
        reply = replies.topic_reply(topic, faq) if topic else Reply(replies.STALE_BUTTON_TEXT)
    elif tap.kind == replies.NONE_OF_THESE:
        reply = service.none_of_these(tap.ref, **who)
    else:
        reply = replies.topics_reply(service.snapshot.faq)
    await _ack(query)
    await _respond(update, context, reply, ref=ref, via=via)


# --- staff ---------------------------------------------------------------------------------


def _is_admin(update: Update, context: BotContext) -> bool:
    user = update.effective_user
    return user is not None and user.id in context.res.settings.admin_ids


async def on_reload(update: Update, context: BotContext) -> None:
    if not _is_admin(update, context):
        await _respond(update, context, Reply(ADMIN_ONLY_TEXT))
        return
    service = context.res.service
    swapped, problems = await asyncio.to_thread(service.reload)
    await _respond(update, context, Reply(reload_text(swapped, problems, service.snapshot.faq)))


async def on_stats(update: Update, context: BotContext) -> None:
    if not _is_admin(update, context):
        await _respond(update, context, Reply(ADMIN_ONLY_TEXT))
        return
    sink = context.res.log or context.res.service.sink
    if not isinstance(sink, InteractionLog):
        await _respond(update, context, Reply(STATS_UNAVAILABLE_TEXT))
        return
    summary = await asyncio.to_thread(sink.day_summary)
    await _respond(update, context, Reply(stats_text(summary)))


async def notify_admins(application: Application, text: str) -> None:
    """Tell staff (the admin chat, else each admin) about a reload; failures are only logged."""
    settings = resources(application).settings
    targets = [settings.admin_chat_id] if settings.admin_chat_id is not None else sorted(settings.admin_ids)
    for chat_id in targets:
        try:
            await send_reply(application.bot, chat_id, Reply(text))
        except TelegramError as exc:
            log.warning("could not notify staff about a FAQ reload: %s", type(exc).__name__)


def _on_watch_result(application: Application, swapped: bool, problems: list[Problem]) -> None:
    """Called on the watcher's thread: hand the notification to the bot's event loop."""
    res = resources(application)
    if res.loop is None or res.loop.is_closed() or not res.ready:
        return
    text = WATCH_PREFIX + reload_text(swapped, problems, res.service.snapshot.faq)
    try:
        asyncio.run_coroutine_threadsafe(notify_admins(application, text), res.loop)
    except RuntimeError:  # the loop closed meanwhile
        pass


# --- errors --------------------------------------------------------------------------------


async def on_error(update: object, context: BotContext) -> None:
    kind = "callback" if isinstance(update, Update) and update.callback_query else type(update).__name__
    log.error("error while handling an update (%s): %s", kind, describe_error(context.error))
    if not isinstance(update, Update) or update.effective_chat is None:
        return
    try:
        if update.callback_query is not None:
            await _ack(update.callback_query)
        await send_reply(context.bot, update.effective_chat.id, Reply(replies.ERROR_TEXT))
    except TelegramError as exc:
        log.warning("could not tell the resident about the error: %s", type(exc).__name__)


# --- wiring --------------------------------------------------------------------------------


def build_application(
    settings: Settings,
    service: Service,
    *,
    rate_limiter: BaseRateLimiter | None = None,
    max_concurrent: int = MAX_CONCURRENT_UPDATES,
) -> Application:
    """The Application with every handler; run it with `serve` (or `run_bot`)."""
    timings = Timings()
    builder = (
        Application.builder()
        .token(settings.token)
        .context_types(ContextTypes(context=BotContext))
        .rate_limiter(rate_limiter or RetryingRateLimiter(max_retries=RATE_LIMIT_RETRIES))
        .concurrent_updates(ChatOrderedProcessor(max_concurrent, timings))
        .connect_timeout(5)
        .read_timeout(15)
        .write_timeout(15)
        .pool_timeout(5)
        .get_updates_connect_timeout(5)
        .get_updates_read_timeout(10)
        .get_updates_pool_timeout(5)
        .post_init(_post_init)
        .post_shutdown(_post_shutdown)
    )
    if settings.base_url:
        builder = builder.base_url(settings.base_url)
    if settings.webhook_mode:
        builder = builder.updater(None)
    application = builder.build()
    gate = FloodGate(settings.flood_messages, settings.flood_window)
    application.bot_data[RESOURCES_KEY] = Resources(settings, service, gate, timings)

    application.add_handler(TypeHandler(Update, admit), group=-1)
    application.add_handler(CommandHandler("start", on_start))
    application.add_handler(CommandHandler("help", on_help))
    application.add_handler(CommandHandler("topics", on_topics))
    application.add_handler(CommandHandler("privacy", on_privacy))
    application.add_handler(CommandHandler("reload", on_reload))
    application.add_handler(CommandHandler("stats", on_stats))
    application.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, on_question))
    application.add_handler(MessageHandler(filters.COMMAND & filters.ChatType.PRIVATE, on_help))
    application.add_handler(MessageHandler(filters.ChatType.PRIVATE & ~filters.StatusUpdate.ALL, on_other))
    application.add_handler(CallbackQueryHandler(on_button))
    application.add_error_handler(on_error)
    return application


async def _post_init(application: Application) -> None:
    res = resources(application)
    res.loop = asyncio.get_running_loop()
    if res.service.sink is None:
        res.log = await asyncio.to_thread(
            InteractionLog, res.settings.db_path, retention_days=res.settings.retention_days
        )
        res.service.sink = res.log
    res.watcher = FaqWatcher(
        res.service, res.settings.reload_interval, functools.partial(_on_watch_result, application)
    )
    res.watcher.start()
    try:
        await application.bot.set_my_commands(COMMANDS)
    except TelegramError as exc:
        log.warning("could not register the command list: %s", exc)
    res.ready = True


async def _post_shutdown(application: Application) -> None:
    res = resources(application)
    res.ready = False
    if res.watcher is not None:
        await asyncio.to_thread(res.watcher.stop)
        res.watcher = None
    if res.log is not None:
        res.service.sink = None
        await asyncio.to_thread(res.log.close)
        res.log = None


# --- webhook server --------------------------------------------------------------------------


class _WebhookHandler(tornado.web.RequestHandler):
    def initialize(self, bot_app: Application, secret: str) -> None:
        self.bot_app = bot_app
        self.secret = secret.encode()

    async def post(self) -> None:
        given = self.request.headers.get(SECRET_HEADER, "").encode()
        if not hmac.compare_digest(given, self.secret):
            self.set_status(403)
            self.finish("forbidden")
            return
        try:
            update = Update.de_json(json.loads(self.request.body), self.bot_app.bot)
        except Exception:  # not JSON, or not an update
            self.set_status(400)
            self.finish("bad update")
            return
        await self.bot_app.update_queue.put(update)
        self.finish("ok")


class _HealthHandler(tornado.web.RequestHandler):
    def initialize(self, bot_app: Application) -> None:
        self.bot_app = bot_app

    def get(self) -> None:
        res = resources(self.bot_app)
        if res.ready and res.service.snapshot.faq.entries:
            self.finish("ok")
        else:
            self.set_status(503)
            self.finish("starting")


def webhook_app(application: Application, settings: Settings) -> tornado.web.Application:
    path = urlparse(settings.webhook_url).path or "/"
    return tornado.web.Application(
        [
            ("/healthz", _HealthHandler, {"bot_app": application}),
            (re.escape(path), _WebhookHandler, {"bot_app": application, "secret": settings.webhook_secret}),
        ]
    )


async def _start_webhook(application: Application) -> tornado.httpserver.HTTPServer:
    res = resources(application)
    settings = res.settings
    if not settings.webhook_secret:
        raise ConfigError("webhook mode needs SERVICEBOT_WEBHOOK_SECRET")
    server = tornado.httpserver.HTTPServer(
        webhook_app(application, settings), max_body_size=MAX_WEBHOOK_BODY, xheaders=True
    )
    server.add_sockets(tornado.netutil.bind_sockets(settings.webhook_port, settings.webhook_listen))
    await application.bot.set_webhook(
        settings.webhook_url,
        secret_token=settings.webhook_secret,
        allowed_updates=ALLOWED_UPDATES,
        drop_pending_updates=False,
        max_connections=40,
    )
    return server


# --- running ---------------------------------------------------------------------------------


def request_reload(application: Application) -> None:
    """SIGHUP: reload the FAQ now, off the event loop; staff are notified as for an edit."""
    watcher = resources(application).watcher
    if watcher is not None:
        log.info("reload requested by signal")
        asyncio.get_running_loop().run_in_executor(None, functools.partial(watcher.check_now, force=True))


def _signals(loop: asyncio.AbstractEventLoop, application: Application, stop: asyncio.Event, install: bool) -> None:
    handlers = {
        signal.SIGINT: stop.set,
        signal.SIGTERM: stop.set,
        signal.SIGHUP: functools.partial(request_reload, application),
    }
    for sig, handler in handlers.items():
        if install:
            loop.add_signal_handler(sig, handler)
        else:
            loop.remove_signal_handler(sig)


async def serve(application: Application, stop: asyncio.Event, *, handle_signals: bool = False) -> None:
    """Run the bot until `stop` is set: initialize, post_init, poll (or serve the webhook),
    then stop and shut down in reverse order. With `handle_signals`, SIGINT/SIGTERM stop it
    and SIGHUP reloads the FAQ."""
    settings = resources(application).settings
    loop = asyncio.get_running_loop()
    server: tornado.httpserver.HTTPServer | None = None
    await application.initialize()
    if handle_signals:
        _signals(loop, application, stop, install=True)
    try:
        await application.post_init(application)
        if settings.webhook_mode:
            await application.start()
            server = await _start_webhook(application)
        else:
            await application.updater.start_polling(
                timeout=LONG_POLL,
                allowed_updates=ALLOWED_UPDATES,
                drop_pending_updates=False,
                bootstrap_retries=5,
                error_callback=_polling_failed,
            )
            await application.start()
        log.info("bot @%s answering (%s)", application.bot.username, "webhook" if server else "polling")
        await stop.wait()
    finally:
        if handle_signals:
            _signals(loop, application, stop, install=False)
        if server is not None:
            server.stop()
            await server.close_all_connections()
        if application.updater is not None and application.updater.running:
            await application.updater.stop()
        if application.running:
            await application.stop()
        await application.shutdown()
        await application.post_shutdown(application)
        log.info("bot stopped")


def _polling_failed(error: TelegramError) -> None:
    log.warning("fetching updates failed (%s); retrying", describe_error(error))


def run_bot(settings: Settings) -> int:
    """`servicebot run`: load the FAQ (FaqError stops startup), then answer until SIGINT/SIGTERM."""
    from servicebot.privacy import load_or_create_secret

    secret = load_or_create_secret(settings.pseudonym_secret, settings.data_dir)
    service = Service.from_settings(settings, None, secret)
    application = build_application(settings, service)

    async def main() -> None:
        await serve(application, asyncio.Event(), handle_signals=True)

    try:
        asyncio.run(main())
    except InvalidToken:
        raise ConfigError("Telegram did not accept the bot token (value hidden); check SERVICEBOT_TOKEN") from None
    except NetworkError as exc:
        raise ServicebotError(f"cannot reach the Bot API: {describe_error(exc)}") from None
    return 0


__all__ = ["BotContext", "Resources", "build_application", "resources", "run_bot", "send_reply", "serve"]
