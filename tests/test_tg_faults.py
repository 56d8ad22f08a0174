"""Telegram faults from issue 22: an update python-telegram-bot cannot parse among good ones
(item 3), in polling and in webhook mode; and staff who @mention the bot in the staff group
(item 13). The real bot (`channels.server.serve` with the Telegram channel) against the fake
Bot API (tests/support/botapi.py) over HTTP on 127.0.0.1, a real SQLite log under tmp_path; every wait
is event driven and bounded."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import sqlite3

import pytest

from servicebot.answering.service import Service
from servicebot.channels import Core
from servicebot.channels.server import build_channels, serve
from servicebot.channels.tg_ingest import readable_update

from support.botapi import TOKEN, FakeBotApi, button
from support.tgbot import telegram_bot
from support.webserver import free_port

pytestmark = [pytest.mark.slow, pytest.mark.anyio, pytest.mark.deadline(40)]

FIRST_USER = 810_000
STAFF = -1003000000001
ZHANG = 3001
SECRET_TEXT = "我的手机13912345678，低保怎么申请"


def malformed() -> dict:
    """An update PTB 22 cannot parse (its date is not a timestamp), carrying a resident's text;
    the fake Bot API gives it the next update_id when it is injected."""
    return {
        "message": {
            "message_id": 1,
            "date": "yesterday",
            "chat": {"id": FIRST_USER - 1, "type": "private"},
            "from": {"id": FIRST_USER - 1, "is_bot": False, "first_name": "居民"},
            "text": SECRET_TEXT,
        },
    }


def logged_questions(settings) -> list[str]:
    with sqlite3.connect(settings.db_path) as db:
        return [q for (q,) in db.execute("SELECT question FROM interactions")]


@pytest.fixture
def settings(mini_faq, make_settings):
    return make_settings(mini_faq, token=TOKEN, reload_interval=0, flood_messages=100)


# --- item 3: an update PTB cannot read ----------------------------------------------------------


async def test_polling_skips_an_unreadable_update_and_answers_every_one_after_it(settings, caplog):
    async with FakeBotApi() as api, telegram_bot(settings, api) as telegram:
        with caplog.at_level(logging.DEBUG):
            for n in range(5):
                api.user_message("低保怎么申请", user_id=FIRST_USER + n)
            bad = api.inject(malformed())["update_id"]
            for n in range(5, 55):
                api.user_message("书屋在哪", user_id=FIRST_USER + n)
            replies = await api.wait_for_count(lambda c: c.method == "sendMessage", 55, timeout=20)
            await api.wait_confirmed(bad)
    assert {int(c.chat_id) for c in replies} == {FIRST_USER + n for n in range(55)}  # everyone, once
    assert telegram.unreadable == 1
    skipped = [r for r in caplog.records if "cannot read" in r.getMessage()]
    assert len(skipped) == 1 and f"skipped update {bad}" in skipped[0].getMessage()
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert "13912345678" not in caplog.text and "yesterday" not in caplog.text
    assert len(logged_questions(settings)) == 55


async def test_many_unreadable_updates_are_counted_and_logged_once(settings, caplog):
    async with FakeBotApi() as api, telegram_bot(settings, api) as telegram:
        with caplog.at_level(logging.WARNING):
            for _ in range(30):
                api.inject(malformed())
            api.user_message("低保怎么申请", user_id=FIRST_USER)
            await api.wait_for_reply(FIRST_USER, timeout=20)
    assert telegram.unreadable == 30
    assert len([r for r in caplog.records if "cannot read" in r.getMessage()]) == 1


@contextlib.asynccontextmanager
async def webhook_bot(settings):
    port = free_port()
    hooked = dataclasses.replace(
        settings,
        webhook_url=f"http://127.0.0.1:{port}/telegram-hook",
        webhook_secret="s3cret-token_A",
        web_listen="127.0.0.1",
        web_port=port,
    )
    async with FakeBotApi() as api:
        hooked = dataclasses.replace(hooked, base_url=api.base_url)
        core = Core(hooked, Service.from_settings(hooked, secret="faults-secret"))
        channels = build_channels(core)
        stop = asyncio.Event()
        task = asyncio.create_task(serve(core, channels, stop))
        try:
            await api.wait_for("setWebhook", timeout=10)
            yield api, channels[0]
        finally:
            stop.set()
            await asyncio.wait_for(task, 15)


async def test_webhook_accepts_an_unreadable_update_so_telegram_goes_on_to_the_next(settings):
    """Telegram redelivers an update until the webhook answers 2xx, holding back the ones after
    it: an unreadable update is accepted (and skipped), so the next ones arrive."""

    async with webhook_bot(settings) as (api, telegram):
        bad = api.inject(malformed())["update_id"]
        for n in range(5):
            api.user_message("低保怎么申请", user_id=FIRST_USER + n)
        replies = await api.wait_for_count(lambda c: c.method == "sendMessage", 5, timeout=20)
        record = api.update_record(bad)
    assert {int(c.chat_id) for c in replies} == {FIRST_USER + n for n in range(5)}
    assert record.delivery_count == 1 and telegram.unreadable == 1


def test_readable_update_keeps_what_it_can():
    seen: list[tuple[int | None, str]] = []

    def note(update_id, error):
        seen.append((update_id, type(error).__name__))

    bare = readable_update({"update_id": 7, "message": []}, None, note)
    assert bare is not None and bare.update_id == 7
    assert readable_update({"message": []}, None, note) is None
    assert readable_update([1, 2], None, note) is None
    good = readable_update({"update_id": 8}, None, note)
    assert good is not None
    assert good.update_id == 8 and seen == [(7, "TypeError"), (None, "TypeError"), (None, "ValueError")]


# --- item 13: the staff group is never a resident ------------------------------------------------


@pytest.fixture
def staff_settings(settings):
    return dataclasses.replace(settings, staff_chat_id=STAFF)


async def test_staff_who_mention_the_bot_are_not_answered_or_logged_as_residents(staff_settings):
    async with FakeBotApi() as api, telegram_bot(staff_settings, api):
        mark = api.mark()
        api.group_message("低保怎么申请", mention=True, chat_id=STAFF, user_id=ZHANG, first_name="张三")
        api.group_message("养老保险怎么交", mention=True, chat_id=STAFF, user_id=ZHANG, first_name="张三")
        api.user_message("@fenghuang_test_bot 你好", chat_id=STAFF, chat_type="supergroup", user_id=ZHANG)
        # Updates of one chat are handled in order: once /tickets is answered, the rest were.
        api.command("tickets", chat_id=STAFF, chat_type="supergroup", user_id=ZHANG, first_name="张三")
        listing = await api.wait_for_reply(STAFF, timeout=10)
        sent = [c for c in api.sent[mark:] if c.method == "sendMessage"]
    assert sent == [listing]  # the ticket list, and nothing said to the mentions
    assert logged_questions(staff_settings) == []


async def test_a_residents_button_pressed_in_the_staff_group_does_nothing(staff_settings):
    async with FakeBotApi() as api, telegram_bot(staff_settings, api):
        api.user_message("低保怎么申请", user_id=FIRST_USER)
        answer = await api.wait_for_reply(FIRST_USER)
        data = button(answer, "为什么")["callback_data"]  # a related question's button
        mark = api.mark()
        query = api.callback_query(data, chat_id=STAFF, user_id=ZHANG, first_name="张三")["callback_query"]
        await api.wait_for(lambda c: c.method == "answerCallbackQuery" and c.params["callback_query_id"] == query["id"])
        await api.expect_no_call("sendMessage", within=0.5, since=mark)
    assert logged_questions(staff_settings) == ["低保怎么申请"]
