"""Tests of the fake Telegram Bot API server (tests/support/botapi.py) itself, driven by real PTB 22.

No project code is involved: the client is a plain ``telegram.Bot`` talking to the fake over
HTTP on 127.0.0.1. They check that the fake answers the calls the bot makes (getMe,
getUpdates, setMyCommands, sendMessage, editMessageReplyMarkup, answerCallbackQuery) the way
Telegram does, that the updates it injects parse in PTB, and that its injected faults reach
the client as Telegram's would. How the bot itself copes with those faults is tested in
test_tg_e2e.py and test_tg_ingest.py.

How PTB 22.8 sees the injected faults:

* ``429`` -> ``telegram.error.RetryAfter`` (from ``parameters.retry_after``).
* ``502`` (HTML body) -> ``telegram.error.NetworkError("Bad Gateway (502). Parsing the server
  response ... failed")``.
* ``drop`` -> httpx ``RemoteProtocolError`` wrapped as ``telegram.error.NetworkError(
  "httpx.RemoteProtocolError: Server disconnected without sending a response.")``.
* PTB rewrites error descriptions: "Bad Request: message is not modified..." arrives as
  ``BadRequest("Message is not modified...")`` (prefix dropped, first letter capitalised), so
  match them case-insensitively.  ``BadRequest`` and ``TimedOut`` are subclasses of
  ``NetworkError``; ``RetryAfter`` is not.
"""

from __future__ import annotations

import asyncio
import datetime as dtm
import time

import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.error import BadRequest, Conflict, EndPointNotFound, Forbidden, NetworkError, RetryAfter

from support.botapi import BOT_USERNAME, DEFAULT_GROUP_ID, TOKEN, FakeBotApi
from support.tg_entities import utf16_len

pytestmark = [pytest.mark.slow, pytest.mark.anyio, pytest.mark.deadline(15)]

POLL_TIMEOUT = dtm.timedelta(seconds=1)


def make_bot(api: FakeBotApi) -> Bot:
    return Bot(TOKEN, base_url=api.base_url)


def message_of(update: dict, bot: Bot) -> Message:
    """The message of an injected update, as PTB reads it."""
    message = Update.de_json(update, bot).message
    assert message is not None, update
    return message


@pytest.fixture
async def api():
    """The fake Bot API, on 127.0.0.1 for the test."""
    async with FakeBotApi() as api:
        yield api


@pytest.fixture
async def bot(api):
    """A plain python-telegram-bot `Bot` talking to `api`, initialized (getMe called)."""
    async with make_bot(api) as bot:
        yield bot


async def test_get_me_commands_and_unknown_method(api):
    assert api.base_url == f"http://127.0.0.1:{api.port}/bot"
    async with make_bot(api) as bot:  # initialize() calls getMe
        me = await bot.get_me()
        assert me.username == BOT_USERNAME and me.is_bot and me.can_join_groups
        assert bot.username == BOT_USERNAME
        assert await bot.delete_webhook()  # PTB's start_polling begins with it

        assert await bot.set_my_commands([("start", "开始"), ("help", "帮助")])
        assert api.commands() == [
            {"command": "start", "description": "开始"},
            {"command": "help", "description": "帮助"},
        ]
        with pytest.raises(BadRequest):
            await bot.set_my_commands([("Bad-Command", "x")])

        assert api.unknown == []
        with pytest.raises(EndPointNotFound):
            await bot.do_api_request("sendTeleportation", api_kwargs={"chat_id": 1})
        assert [c.method for c in api.unknown] == ["sendTeleportation"]
        assert api.unknown[0].params == {"chat_id": 1}


async def test_get_chat_answers_like_telegram_and_refuses_a_group_the_bot_was_removed_from(api, bot):
    chat = await bot.get_chat(DEFAULT_GROUP_ID)  # PTB parses it as ChatFullInfo
    assert chat.id == DEFAULT_GROUP_ID and chat.type == "supergroup" and chat.title
    api.block(DEFAULT_GROUP_ID)
    with pytest.raises(Forbidden, match="kicked"):
        await bot.get_chat(DEFAULT_GROUP_ID)


async def test_send_message_params_are_decoded_and_result_is_realistic(api, bot):
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

    # Callback data is at most 64 bytes (21 Chinese characters fit, 22 do not).
    too_long = InlineKeyboardMarkup([[InlineKeyboardButton("x", callback_data="长" * 22)]])
    with pytest.raises(BadRequest, match=r"(?i)button_data_invalid"):
        await bot.send_message(9, "按钮", reply_markup=too_long)
    ok = InlineKeyboardMarkup([[InlineKeyboardButton("x", callback_data="长" * 21)]])
    assert (await bot.send_message(9, "按钮", reply_markup=ok)).reply_markup == ok

    assert (await bot.edit_message_reply_markup(42, 2, reply_markup=keyboard)).reply_markup == keyboard
    with pytest.raises(BadRequest, match="not modified"):
        await bot.edit_message_reply_markup(42, 2, reply_markup=keyboard)
    with pytest.raises(BadRequest, match="to edit not found"):
        await bot.edit_message_reply_markup(42, 99, reply_markup=keyboard)
    assert [(c.method, c.status) for c in api.errors] == [
        ("sendMessage", 400),
        ("editMessageReplyMarkup", 400),
        ("editMessageReplyMarkup", 400),
    ]
    assert api.errors[1].result.startswith("Bad Request: message is not modified")


async def test_html_is_validated_like_telegram(api, bot):
    m = await bot.send_message(1, "办理<b>低保</b> &lt;须本人&gt;", parse_mode="HTML")
    assert m.text == "办理低保 <须本人>"
    assert [(e.type, e.offset, e.length) for e in m.entities] == [("bold", 2, 2)]
    linked = await bot.send_message(1, '😀 <a href="https://example.org">链接</a>', parse_mode="HTML")
    assert [(e.type, e.offset, e.url) for e in linked.entities] == [
        ("text_link", utf16_len("😀 "), "https://example.org")
    ]
    with pytest.raises(BadRequest, match=r"(?i)can't parse entities"):
        await bot.send_message(1, "a < b", parse_mode="HTML")
    with pytest.raises(BadRequest, match=r"(?i)can't parse entities"):
        await bot.send_message(1, "<b>unclosed", parse_mode="HTML")
    with pytest.raises(BadRequest, match="too long"):
        await bot.send_message(1, "长" * 4097)
    with pytest.raises(BadRequest, match="text is empty"):
        await bot.send_message(1, "   ")
    assert len(api.calls("sendMessage")) == 2
    assert len(api.errors) == 4


async def test_long_polling_offset_timeout_and_conflict(api, bot):
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


async def test_injected_updates_parse_in_ptb(api, bot):
    group = api.group_message("👋 请问低保", mention=True, user_id=7)
    msg = message_of(group, bot)
    assert msg.chat.type == "supergroup" and msg.chat.id == DEFAULT_GROUP_ID
    assert msg.text == f"@{BOT_USERNAME} 👋 请问低保"
    assert list(msg.parse_entities(["mention"]).values()) == [f"@{BOT_USERNAME}"]

    # The mention after an emoji: offsets must be UTF-16 code units.
    g2 = api.group_message(f"😀😀 @{BOT_USERNAME} 在吗", mention=True)
    m2 = message_of(g2, bot)
    assert m2.entities[0].offset == 5  # 😀 is a surrogate pair: 2 + 2 + 1 space
    assert list(m2.parse_entities(["mention"]).values()) == [f"@{BOT_USERNAME}"]

    cmd = message_of(api.command("start", "faq_123"), bot)
    assert cmd.text == "/start faq_123"
    assert cmd.entities[0].type == "bot_command" and cmd.entities[0].offset == 0
    at = message_of(api.command("help", at_bot=True, chat_type="group"), bot)
    assert at.text == f"/help@{BOT_USERNAME}"
    assert at.entities[0].length == utf16_len(at.text)

    sent = await bot.send_message(DEFAULT_GROUP_ID, "回复我")
    reply = message_of(
        api.user_message("好的", chat_id=DEFAULT_GROUP_ID, chat_type="supergroup", reply_to_bot=True), bot
    )
    assert reply.reply_to_message is not None and reply.reply_to_message.from_user is not None
    assert reply.reply_to_message.message_id == sent.message_id
    assert reply.reply_to_message.from_user.id == bot.id

    cq = Update.de_json(api.callback_query("topic:x", chat_id=DEFAULT_GROUP_ID, user_id=7), bot).callback_query
    assert cq is not None and cq.message is not None
    assert cq.data == "topic:x" and cq.message.message_id == sent.message_id
    assert cq.from_user.id == 7
    assert await bot.answer_callback_query(cq.id, "好的")
    with pytest.raises(BadRequest, match=r"(?i)query is too old"):
        await bot.answer_callback_query(cq.id)  # a query is answered once

    sticker = message_of(api.sticker("🙏"), bot).sticker
    assert sticker is not None
    assert sticker.emoji == "🙏" and sticker.width == 512
    photo = message_of(api.photo(caption="证件照"), bot)
    assert len(photo.photo) == 3 and photo.caption == "证件照"
    voice = api.voice(duration=4)
    assert voice["message"]["voice"]["duration"] == 4 and message_of(voice, bot).voice
    loc = message_of(api.location(22.5, 114.1), bot).location
    assert loc is not None
    assert (loc.latitude, loc.longitude) == (22.5, 114.1)
    edited = Update.de_json(api.edited_message("改一下"), bot).edited_message
    assert edited is not None
    assert edited.text == "改一下" and edited.edit_date
    post = Update.de_json(api.channel_post("通知：周六办公"), bot).channel_post
    assert post is not None
    assert post.chat.type == "channel"

    ids = [r.update_id for r in api.update_records]
    assert ids == list(range(1, len(ids) + 1))


async def test_a_blocked_chat_refuses_messages_until_unblocked(api, bot):
    api.block(42)
    api.block(DEFAULT_GROUP_ID)
    with pytest.raises(Forbidden, match="blocked by the user"):
        await bot.send_message(42, "在吗")
    with pytest.raises(Forbidden, match="kicked"):
        await bot.send_message(DEFAULT_GROUP_ID, "在吗")
    api.unblock(42)
    assert (await bot.send_message(42, "在吗")).text == "在吗"
    assert [c.status for c in api.errors] == [403, 403]


async def test_wait_for_times_out_with_clear_message(api, bot):
    await bot.send_message(5, "有记录")
    t0 = time.monotonic()
    with pytest.raises(AssertionError) as info:
        await api.wait_for(lambda c: c.method == "sendMessage" and c.chat_id == 6, timeout=0.3)
    assert time.monotonic() - t0 < 1
    assert "有记录" in str(info.value) and "timed out" in str(info.value)
    with pytest.raises(AssertionError):
        await api.wait_for_reply(6, timeout=0.2)
    await api.expect_no_call("editMessageReplyMarkup", within=0.1)


@pytest.mark.parametrize("kind", ["429", "502", "drop"])
async def test_faults_fail_on_the_client_and_are_not_delivered(api, bot, kind):
    expected = {"429": RetryAfter, "502": NetworkError, "drop": NetworkError}[kind]

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
    # The next call goes through and did not lose a message id.
    m = await bot.send_message(42, "成功")
    assert m.message_id == 1
    assert [c.text for c in api.calls("sendMessage")] == ["成功"]
