"""Tests of the fake Telegram Bot API server (tests/botapi.py) itself, driven by real PTB 22.

No project code is involved: the clients are a plain ``telegram.Bot`` and a tiny echo
``Application`` polling the fake over HTTP on 127.0.0.1.

How PTB 22.8 reacts to the injected faults (verified by the tests below):

* ``429`` -> ``BaseRequest._request_wrapper`` reads ``parameters.retry_after`` and raises
  ``telegram.error.RetryAfter``.  A plain ``Bot`` / ``Application`` does NOT retry: in a
  handler the exception goes to the error handlers and the reply is lost.
  ``AIORateLimiter(max_retries=N)`` catches ``RetryAfter``, sleeps ``retry_after + 0.1`` s
  (pausing *all* requests meanwhile) and retries, so the reply is delivered exactly once,
  ~1.1 s late.  (From the source, not tested here: the updater's polling loop retries a 429
  on ``getUpdates`` by itself after ``retry_after + 0.5`` s.)
* ``502`` (HTML body) -> ``telegram.error.NetworkError("Bad Gateway (502). Parsing the server
  response ... failed")`` (PTB also logs the JSON parse failure at ERROR level).  Never retried
  by PTB or by AIORateLimiter (it only retries ``RetryAfter``).
* ``drop`` -> httpx ``RemoteProtocolError`` wrapped as ``telegram.error.NetworkError(
  "httpx.RemoteProtocolError: Server disconnected without sending a response.")``.  Not
  retried either.
* ``drop_after`` (processed and recorded, then the connection is closed) looks exactly like
  ``drop`` to PTB, so a client-side retry of it sends a duplicate.
* On ``getUpdates`` any ``NetworkError`` is retried by the updater's network loop after 1 s
  (then 1.5x back-off up to 30 s), so polling recovers on its own.
* PTB rewrites error descriptions: "Bad Request: message is not modified..." arrives as
  ``BadRequest("Message is not modified...")`` (prefix dropped, first letter capitalised), so
  match them case-insensitively.  ``BadRequest`` and ``TimedOut`` are subclasses of
  ``NetworkError``; ``RetryAfter`` is not.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dtm
import socket
import sys
import time
from pathlib import Path

import pytest
from aiohttp import web
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest, Conflict, EndPointNotFound, NetworkError, RetryAfter
from telegram.ext import (
    AIORateLimiter,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

sys.path.insert(0, str(Path(__file__).parent))

from botapi import (
    BOT_USERNAME,
    DEFAULT_GROUP_ID,
    TOKEN,
    FakeBotApi,
    utf16_len,
)

pytestmark = pytest.mark.slow

POLL_TIMEOUT = dtm.timedelta(seconds=1)


def run(coro, timeout: float = 15.0):
    """Run one test body with a hard upper bound."""
    return asyncio.run(asyncio.wait_for(coro, timeout))


def make_bot(api: FakeBotApi) -> Bot:
    return Bot(TOKEN, base_url=api.base_url, base_file_url=api.base_file_url)


def build_echo_app(api: FakeBotApi, *, rate_limiter=None):
    """A tiny echo bot; errors from handlers are collected in ``app.bot_data['errors']``."""
    builder = ApplicationBuilder().token(TOKEN).base_url(api.base_url).base_file_url(api.base_file_url)
    if rate_limiter is not None:
        builder = builder.rate_limiter(rate_limiter)
    app = builder.build()
    app.bot_data["errors"] = []
    app.bot_data["error_seen"] = asyncio.Event()

    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await update.effective_message.reply_text(update.effective_message.text)

    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await update.effective_message.reply_text(f"欢迎 {' '.join(context.args)}".strip())

    async def menu(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        keyboard = InlineKeyboardMarkup(
            [
                [
                    InlineKeyboardButton("低保", callback_data="topic:dibao"),
                    InlineKeyboardButton("社保", callback_data="topic:shebao"),
                ]
            ]
        )
        await update.effective_message.reply_text("请选择主题：", reply_markup=keyboard)

    async def pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        await query.answer()
        await query.edit_message_text(f"你选择了 {query.data}")

    async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        context.application.bot_data["errors"].append(context.error)
        context.application.bot_data["error_seen"].set()

    app.add_handler(CommandHandler("start", start))
    app.add_handler(CommandHandler("menu", menu))
    app.add_handler(CallbackQueryHandler(pressed))
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))
    app.add_error_handler(on_error)
    return app


@contextlib.asynccontextmanager
async def polling(app):
    await app.initialize()
    await app.start()
    await app.updater.start_polling(poll_interval=0, timeout=POLL_TIMEOUT)
    try:
        yield app
    finally:
        await app.updater.stop()
        await app.stop()
        await app.shutdown()


# ------------------------------------------------------------------------------ plain Bot


def test_get_me_commands_and_unknown_method():
    async def body():
        async with FakeBotApi() as api:
            assert api.base_url == f"http://127.0.0.1:{api.port}/bot"
            async with make_bot(api) as bot:  # initialize() calls getMe
                me = await bot.get_me()
                assert me.username == BOT_USERNAME and me.is_bot and me.can_join_groups
                assert bot.username == BOT_USERNAME

                assert await bot.delete_webhook()
                info = await bot.get_webhook_info()
                assert info.url == "" and info.pending_update_count == 0

                assert await bot.set_my_commands([("start", "开始"), ("help", "帮助")])
                assert [c.command for c in await bot.get_my_commands()] == ["start", "help"]
                assert api.commands() == [
                    {"command": "start", "description": "开始"},
                    {"command": "help", "description": "帮助"},
                ]
                set_call = api.calls("setMyCommands")[0]
                assert set_call.params["commands"][0] == {"command": "start", "description": "开始"}
                with pytest.raises(BadRequest):
                    await bot.set_my_commands([("Bad-Command", "x")])

                assert api.unknown == []
                with pytest.raises(EndPointNotFound):
                    await bot.do_api_request("sendTeleportation", api_kwargs={"chat_id": 1})
                assert [c.method for c in api.unknown] == ["sendTeleportation"]
                assert api.unknown[0].params == {"chat_id": 1}
                assert await bot.log_out() is True and await bot.close() is True

    run(body())


def test_send_message_params_are_decoded_and_result_is_realistic():
    async def body():
        async with FakeBotApi() as api, make_bot(api) as bot:
            keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("是", callback_data="y")]])
            m1 = await bot.send_message(42, "123", reply_markup=keyboard)
            m2 = await bot.send_message(42, "第二条")
            other = await bot.send_message(43, "hello")
            assert (m1.message_id, m2.message_id, other.message_id) == (1, 2, 1)
            assert m1.text == "123" and m1.from_user.id == bot.id and m1.chat.id == 42
            assert m1.reply_markup == keyboard  # inline keyboards are echoed
            assert m1.date.year >= 2024

            call = api.calls("sendMessage")[0]
            assert call.params["chat_id"] == 42  # form field "42" decoded
            assert call.params["text"] == "123"  # free text is never JSON-decoded
            assert call.params["reply_markup"] == {"inline_keyboard": [[{"text": "是", "callback_data": "y"}]]}
            assert [c.chat_id for c in api.calls("sendMessage")] == [42, 42, 43]
            assert len(api.calls("sendMessage", chat_id=42)) == 2
            assert call.t <= api.calls("sendMessage")[1].t  # monotonic receive times

            assert await bot.send_chat_action(42, "typing")
            with pytest.raises(BadRequest):
                await bot.send_chat_action(42, "dancing")

            edited = await bot.edit_message_text("改过了", chat_id=42, message_id=1)
            assert edited.text == "改过了" and edited.edit_date is not None
            with pytest.raises(BadRequest, match="not modified"):
                await bot.edit_message_text("改过了", chat_id=42, message_id=1)
            assert (await bot.edit_message_reply_markup(42, 1, reply_markup=keyboard)).reply_markup
            with pytest.raises(BadRequest, match="to edit not found"):
                await bot.edit_message_text("x", chat_id=42, message_id=99)
            assert await bot.delete_message(42, 2)
            with pytest.raises(BadRequest, match="to delete not found"):
                await bot.delete_message(42, 2)
            assert [(c.method, c.status) for c in api.errors] == [
                ("sendChatAction", 400),
                ("editMessageText", 400),
                ("editMessageText", 400),
                ("deleteMessage", 400),
            ]
            assert api.errors[1].result.startswith("Bad Request: message is not modified")

    run(body())


def test_parse_mode_is_validated_like_telegram():
    async def body():
        async with FakeBotApi() as api, make_bot(api) as bot:
            m = await bot.send_message(1, "办理<b>低保</b> &lt;须本人&gt;", parse_mode="HTML")
            assert m.text == "办理低保 <须本人>"
            assert [(e.type, e.offset, e.length) for e in m.entities] == [("bold", 2, 2)]
            with pytest.raises(BadRequest, match=r"(?i)can't parse entities"):
                await bot.send_message(1, "a < b", parse_mode="HTML")
            with pytest.raises(BadRequest, match=r"(?i)can't parse entities"):
                await bot.send_message(1, "<b>unclosed", parse_mode="HTML")

            with pytest.raises(BadRequest, match=r"(?i)character '\.' is reserved"):
                await bot.send_message(1, "补贴 1.5 元", parse_mode="MarkdownV2")
            ok = await bot.send_message(1, "*补贴* 1\\.5 元 😀 __注意__", parse_mode="MarkdownV2")
            assert ok.text == "补贴 1.5 元 😀 注意"
            assert [(e.type, e.offset) for e in ok.entities] == [
                ("bold", 0),
                ("underline", utf16_len("补贴 1.5 元 😀 ")),
            ]
            assert ok.parse_entities()[ok.entities[1]] == "注意"

            with pytest.raises(BadRequest, match="too long"):
                await bot.send_message(1, "长" * 4097)
            with pytest.raises(BadRequest, match="text is empty"):
                await bot.send_message(1, "   ")
            assert len(api.calls("sendMessage")) == 2
            assert len(api.errors) == 5

    run(body())


def test_long_polling_offset_timeout_and_conflict():
    async def body():
        async with FakeBotApi() as api, make_bot(api) as bot:
            t0 = time.monotonic()
            assert await bot.get_updates(timeout=POLL_TIMEOUT) == ()
            assert 0.8 <= time.monotonic() - t0 < 3

            # An update injected while a poll is parked wakes it immediately.
            task = asyncio.create_task(bot.get_updates(timeout=dtm.timedelta(seconds=5)))
            await api.wait_polling(timeout=3)
            t1 = time.monotonic()
            u1 = api.user_message("你好")
            got = await task
            assert time.monotonic() - t1 < 1
            assert [u.update_id for u in got] == [u1["update_id"]]
            assert api.update_record(u1["update_id"]).handed_out_at is not None

            u2 = api.user_message("第二条")
            # Without a confirming offset, updates are handed out again.
            again = await bot.get_updates(timeout=0)
            assert [u.update_id for u in again] == [u1["update_id"], u2["update_id"]]
            assert again[1].message.text == "第二条"
            # offset = last + 1 confirms everything before it.
            assert await bot.get_updates(offset=u2["update_id"] + 1, timeout=0) == ()
            record = await api.wait_confirmed(u2["update_id"], timeout=1)
            assert record.confirmed_at >= record.handed_out_at

            # A second concurrent getUpdates (e.g. a second bot instance) terminates the
            # first one with 409 Conflict.  (One Bot can't do this: its getUpdates connection
            # pool has size 1.)
            first = asyncio.create_task(bot.get_updates(timeout=dtm.timedelta(seconds=5)))
            await api.wait_polling(timeout=3)
            async with make_bot(api) as second_instance:
                assert await second_instance.get_updates(timeout=0) == ()
            with pytest.raises(Conflict):
                await first

    run(body())


def test_injected_updates_parse_in_ptb():
    async def body():
        async with FakeBotApi() as api, make_bot(api) as bot:
            group = api.group_message("👋 请问低保", mention=True, user_id=7)
            msg = Update.de_json(group, bot).message
            assert msg.chat.type == "supergroup" and msg.chat.id == DEFAULT_GROUP_ID
            assert msg.text == f"@{BOT_USERNAME} 👋 请问低保"
            assert list(msg.parse_entities(["mention"]).values()) == [f"@{BOT_USERNAME}"]

            # The mention after an emoji: offsets must be UTF-16 code units.
            g2 = api.group_message(f"😀😀 @{BOT_USERNAME} 在吗", mention=True)
            m2 = Update.de_json(g2, bot).message
            assert m2.entities[0].offset == 5  # 😀 is a surrogate pair: 2 + 2 + 1 space
            assert list(m2.parse_entities(["mention"]).values()) == [f"@{BOT_USERNAME}"]

            cmd = Update.de_json(api.command("start", "faq_123"), bot).message
            assert cmd.text == "/start faq_123"
            assert cmd.entities[0].type == "bot_command" and cmd.entities[0].offset == 0
            at = Update.de_json(api.command("help", at_bot=True, chat_type="group"), bot)
            assert at.message.text == f"/help@{BOT_USERNAME}"
            assert at.message.entities[0].length == utf16_len(at.message.text)

            sent = await bot.send_message(DEFAULT_GROUP_ID, "回复我")
            reply = Update.de_json(
                api.user_message("好的", chat_id=DEFAULT_GROUP_ID, chat_type="supergroup", reply_to_bot=True), bot
            ).message
            assert reply.reply_to_message.message_id == sent.message_id
            assert reply.reply_to_message.from_user.id == bot.id

            cq = Update.de_json(api.callback_query("topic:x", chat_id=DEFAULT_GROUP_ID, user_id=7), bot).callback_query
            assert cq.data == "topic:x" and cq.message.message_id == sent.message_id
            assert cq.from_user.id == 7

            sticker = Update.de_json(api.sticker("🙏"), bot).message.sticker
            assert sticker.emoji == "🙏" and sticker.width == 512
            photo = Update.de_json(api.photo(caption="证件照"), bot).message
            assert len(photo.photo) == 3 and photo.caption == "证件照"
            voice_update = api.voice(duration=4)
            assert voice_update["message"]["voice"]["duration"] == 4
            voice = Update.de_json(voice_update, bot).message.voice
            loc = Update.de_json(api.location(22.5, 114.1), bot).message.location
            assert (loc.latitude, loc.longitude) == (22.5, 114.1)
            edited = Update.de_json(api.edited_message("改一下"), bot)
            assert edited.edited_message.text == "改一下" and edited.edited_message.edit_date
            post = Update.de_json(api.channel_post("通知：周六办公"), bot)
            assert post.channel_post.chat.type == "channel"

            ids = [r.update_id for r in api.update_records]
            assert ids == list(range(1, len(ids) + 1))

            # Files of injected media can be fetched via getFile + base_file_url.
            tg_file = await bot.get_file(voice.file_id)
            data = await tg_file.download_as_bytearray()
            assert len(data) == voice.file_size

    run(body())


def test_wait_for_times_out_with_clear_message():
    async def body():
        async with FakeBotApi() as api, make_bot(api) as bot:
            await bot.send_message(5, "有记录")
            t0 = time.monotonic()
            with pytest.raises(AssertionError) as info:
                await api.wait_for(lambda c: c.method == "sendMessage" and c.chat_id == 6, timeout=0.3)
            assert time.monotonic() - t0 < 1
            assert "有记录" in str(info.value) and "timed out" in str(info.value)
            with pytest.raises(AssertionError):
                await api.wait_for_reply(6, timeout=0.2)
            await api.expect_no_call("editMessageText", within=0.1)

    run(body())


# ------------------------------------------------------------------------------ faults, Bot


@pytest.mark.parametrize("kind", ["429", "502", "drop"])
def test_faults_fail_on_the_client_and_are_not_delivered(kind):
    expected = {"429": RetryAfter, "502": NetworkError, "drop": NetworkError}[kind]

    async def body():
        async with FakeBotApi() as api, make_bot(api) as bot:
            api.fail_next("sendMessage", kind)
            with pytest.raises(expected) as info:
                await bot.send_message(42, "会失败")
            if kind == "drop":
                assert "RemoteProtocolError" in str(info.value)
            if kind == "502":
                assert "Bad Gateway (502)" in str(info.value)
            assert api.calls("sendMessage") == []
            assert [(f.method, f.kind) for f in api.faults] == [("sendMessage", kind)]
            assert api.faults[0].params["text"] == "会失败"
            assert api.pending_faults() == {}
            # The next call goes through and did not lose a message id.
            m = await bot.send_message(42, "成功")
            assert m.message_id == 1
            assert [c.text for c in api.calls("sendMessage")] == ["成功"]

    run(body())


def test_drop_after_delivers_but_the_client_sees_a_network_error():
    async def body():
        async with FakeBotApi() as api, make_bot(api) as bot:
            api.fail_next("sendMessage", "drop_after")
            with pytest.raises(NetworkError, match="RemoteProtocolError"):
                await bot.send_message(42, "其实送达了")
            assert [c.text for c in api.calls("sendMessage")] == ["其实送达了"]
            assert [f.kind for f in api.faults] == ["drop_after"]
            # A naive retry now duplicates the message.
            await bot.send_message(42, "其实送达了")
            assert [c.result["message_id"] for c in api.calls("sendMessage")] == [1, 2]

    run(body())


def test_uploads_keyboards_and_media_sends():
    async def body():
        async with FakeBotApi() as api, make_bot(api) as bot:
            # multipart/form-data upload (PTB switches to multipart when a file is attached)
            photo = await bot.send_photo(
                9, b"\x89PNG fake bytes", caption="<b>地图</b>", parse_mode="HTML", filename="map.png"
            )
            assert photo.caption == "地图" and photo.caption_entities[0].type == "bold"
            upload = api.calls("sendPhoto")[0].params
            assert upload["photo"]["size"] == len(b"\x89PNG fake bytes")
            assert upload["chat_id"] == 9 and upload["caption"] == "<b>地图</b>"
            doc = await bot.send_document(9, b"%PDF-1.4", filename="申请表.pdf")
            assert doc.document.file_name == "申请表.pdf"
            loc = await bot.send_location(9, latitude=22.54, longitude=114.05)
            assert loc.location.latitude == 22.54

            too_long = InlineKeyboardMarkup([[InlineKeyboardButton("x", callback_data="长" * 22)]])
            with pytest.raises(BadRequest, match=r"(?i)button_data_invalid"):
                await bot.send_message(9, "按钮", reply_markup=too_long)
            ok = InlineKeyboardMarkup([[InlineKeyboardButton("x", callback_data="长" * 21)]])
            assert (await bot.send_message(9, "按钮", reply_markup=ok)).reply_markup == ok
            assert [c.method for c in api.errors] == ["sendMessage"]

    run(body())


# ------------------------------------------------------------------------------ Application


def test_echo_application_end_to_end():
    async def body():
        async with FakeBotApi() as api:
            async with polling(build_echo_app(api)) as app:
                await api.wait_polling()
                assert api.calls("deleteWebhook")  # start_polling bootstraps with it

                api.mark()
                update = api.user_message("你好，低保怎么申请？", user_id=501)
                reply = await api.wait_for_reply(501)
                assert reply.text == "你好，低保怎么申请？"
                record = api.update_record(update["update_id"])
                assert record.handed_out_at is not None and record.handed_out_at <= reply.t

                api.command("start", "faq", user_id=501)
                assert (await api.wait_for_reply(501)).text == "欢迎 faq"

                # Group: PTB quotes the triggering message by default in groups.
                g = api.group_message("群里问一下", mention=True, user_id=502)
                group_reply = await api.wait_for_reply(DEFAULT_GROUP_ID)
                assert group_reply.text == f"@{BOT_USERNAME} 群里问一下"
                assert group_reply.params["reply_parameters"]["message_id"] == (g["message"]["message_id"])

                # Inline keyboard + callback query: answer and edit.
                api.command("menu", user_id=501)
                menu = await api.wait_for_reply(501)
                assert menu.params["reply_markup"]["inline_keyboard"][0][0]["text"] == "低保"
                api.callback_query("topic:dibao", chat_id=501, user_id=501, message_id=menu.result["message_id"])
                edit = await api.wait_for("editMessageText")
                assert edit.params["text"] == "你选择了 topic:dibao"
                assert edit.params["message_id"] == menu.result["message_id"]
                assert api.calls("answerCallbackQuery")

                # Several messages in a row: consecutive wait_for_reply calls.
                for i in range(5):
                    api.user_message(f"第{i}条", user_id=503)
                texts = [(await api.wait_for_reply(503)).text for _ in range(5)]
                assert texts == [f"第{i}条" for i in range(5)]
                assert app.bot_data["errors"] == []
            api.assert_clean()

    run(body())


def test_429_without_rate_limiter_loses_the_reply():
    async def body():
        async with FakeBotApi() as api, polling(build_echo_app(api)) as app:
            api.fail_next("sendMessage", "429")
            api.user_message("第一条", user_id=601)
            await api.wait_for_fault("sendMessage")
            await asyncio.wait_for(app.bot_data["error_seen"].wait(), 5)
            await api.expect_no_call("sendMessage", within=0.3)
            assert [type(e) for e in app.bot_data["errors"]] == [RetryAfter]
            api.user_message("第二条", user_id=601)
            assert (await api.wait_for_reply(601)).text == "第二条"

    run(body())


def test_429_with_aioratelimiter_is_retried_and_delivered_once():
    async def body():
        async with FakeBotApi() as api:
            app = build_echo_app(api, rate_limiter=AIORateLimiter(max_retries=1))
            async with polling(app):
                api.fail_next("sendMessage", "429")
                t0 = time.monotonic()
                api.user_message("限流测试", user_id=701)
                reply = await api.wait_for_reply(701, timeout=5)
                # AIORateLimiter sleeps retry_after (1 s) + 0.1 s before retrying.
                assert reply.t - t0 >= 1.0
                assert reply.text == "限流测试"
                await api.expect_no_call("sendMessage", within=0.2, since=reply.index + 1)
                assert len(api.calls("sendMessage")) == 1
                assert [(f.method, f.kind) for f in api.faults] == [("sendMessage", "429")]
                assert app.bot_data["errors"] == []

    run(body())


@pytest.mark.parametrize("kind", ["502", "drop"])
def test_502_and_drop_in_application_reach_error_handler(kind):
    async def body():
        async with FakeBotApi() as api:
            # AIORateLimiter only retries RetryAfter, so it does not help here.
            app = build_echo_app(api, rate_limiter=AIORateLimiter(max_retries=3))
            async with polling(app):
                api.fail_next("sendMessage", kind)
                api.user_message("会丢", user_id=801)
                await api.wait_for_fault("sendMessage")
                await asyncio.wait_for(app.bot_data["error_seen"].wait(), 5)
                await api.expect_no_call("sendMessage", within=0.3)
                assert [type(e) for e in app.bot_data["errors"]] == [NetworkError]
                api.user_message("不会丢", user_id=801)
                assert (await api.wait_for_reply(801)).text == "不会丢"
                assert len(api.calls("sendMessage")) == 1

    run(body())


def test_polling_recovers_from_get_updates_fault():
    async def body():
        async with FakeBotApi() as api:
            api.fail_next("getUpdates", "502")
            async with polling(build_echo_app(api)):
                await api.wait_for_fault("getUpdates")
                api.user_message("还在吗", user_id=901)
                # The updater's network loop waits 1 s after a NetworkError, then polls again.
                assert (await api.wait_for_reply(901, timeout=5)).text == "还在吗"

    run(body())


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_webhook_mode_delivers_updates():
    """The fake posts updates to a registered webhook (here a bare aiohttp receiver feeding
    the Application's queue, PTB's custom-webhook pattern) with the secret token."""

    async def body():
        async with FakeBotApi() as api:
            app = build_echo_app(api)
            port = _free_port()
            secrets_seen: list[str] = []

            async def receive(request: web.Request) -> web.Response:
                secrets_seen.append(request.headers.get("X-Telegram-Bot-Api-Secret-Token", ""))
                await app.update_queue.put(Update.de_json(await request.json(), app.bot))
                return web.Response(text="ok")

            receiver = web.Application()
            receiver.router.add_post("/hook", receive)
            runner = web.AppRunner(receiver)
            await runner.setup()
            await web.TCPSite(runner, "127.0.0.1", port).start()
            await app.initialize()
            await app.start()
            await app.bot.set_webhook(f"http://127.0.0.1:{port}/hook", secret_token="s3cret")
            try:
                hook = await api.wait_for("setWebhook")
                assert hook.params["url"] == f"http://127.0.0.1:{port}/hook"
                with pytest.raises(Conflict):
                    await app.bot.get_updates(timeout=0)
                update = api.user_message("网页钩子", user_id=1001)
                assert (await api.wait_for_reply(1001)).text == "网页钩子"
                record = await api.wait_confirmed(update["update_id"])
                assert record.handed_out_at is not None and secrets_seen == ["s3cret"]
                assert (await app.bot.get_webhook_info()).url.endswith("/hook")
            finally:
                await app.stop()
                await app.shutdown()
                await runner.cleanup()

    run(body())
