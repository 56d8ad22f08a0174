"""A Telegram update replayed from the update journal is answered again but counted once.

Over the real path: the bot (`channels.server.serve` with the Telegram channel) polling the
fake Bot API (tests/support/botapi.py) over HTTP on 127.0.0.1, the update journal and the interaction
log real SQLite files under tmp_path. Telegram refuses every reply for a while (429, "retry
after 60 s"), so the questions are looked up and logged (on disk) but not answered; the bot
stops (its drain cancels them: they stay in the journal, as after a crash), and the next
start answers them. The log must hold each question once, under the reference its reply's buttons carry.
"""

from __future__ import annotations

import contextlib
import sqlite3

import pytest

from servicebot.records import Status, Via

from support.botapi import TOKEN, FakeBotApi, buttons
from support.tgbot import telegram_bot
from support.waiting import until

pytestmark = [pytest.mark.slow, pytest.mark.anyio, pytest.mark.deadline(60)]

FIRST_USER = 500_000
QUESTIONS = ("书屋在哪", "养老保险怎么交", "今天天气怎么样")


@pytest.fixture
def settings(mini_faq, make_settings):
    return make_settings(mini_faq, token=TOKEN, reload_interval=0, flood_messages=1000)


def logged(settings) -> list[tuple]:
    with contextlib.closing(sqlite3.connect(settings.db_path)) as conn:
        return conn.execute("SELECT ref, resident, question, status, via FROM interactions ORDER BY id").fetchall()


def unfinished(settings) -> int:
    with contextlib.closing(sqlite3.connect(settings.journal_path)) as conn:
        return conn.execute("SELECT count(*) FROM updates WHERE done IS NULL").fetchone()[0]


def refs_in_buttons(call) -> set[str]:
    """The interaction references a reply's buttons carry (the last field of their data)."""
    markup = call.params.get("reply_markup") or {}
    data = [b.get("callback_data", "") for row in markup.get("inline_keyboard", []) for b in row]
    return {d.rsplit(":", 1)[1] for d in data if d.startswith(("e:", "f:"))}


async def test_questions_and_a_button_press_replayed_after_a_stop_are_answered_and_logged_once(settings):
    users = [FIRST_USER + n for n in range(len(QUESTIONS))]
    presser = FIRST_USER + 99

    async with FakeBotApi() as api:
        async with telegram_bot(settings, api, drain=0.5):
            answer = await ask(api, "低保怎么申请", presser)  # answered: its buttons work
            related = next(b for b in buttons(answer) if b["callback_data"].startswith("e:"))
            api.fail_next("sendMessage", "429", times=100_000, retry_after=60)  # every reply from now on
            for question, user in zip(QUESTIONS, users, strict=True):
                api.user_message(question, user_id=user)
            api.callback_query(related["callback_data"], chat_id=presser, user_id=presser)
            refused = {*users, presser}
            await api.wait_for_fault("sendMessage")  # and the others wait for Telegram's "retry after"
            await until(lambda: len(logged(settings)) == 1 + len(refused), "every question logged", timeout=15)
        assert unfinished(settings) == len(refused)  # looked up and logged, not answered: replayed next
        before = logged(settings)
        assert len(before) == 1 + len(refused)

        api.disarm_faults()
        mark = api.mark()
        async with telegram_bot(settings, api, drain=0.5):
            await until(lambda: {c.chat_id for c in sent_since(api, mark)} >= refused, "the replies", timeout=15)
            await api.expect_no_call(lambda c: c.method == "sendMessage", within=0.5, since=api.mark())
        assert unfinished(settings) == 0
        after = logged(settings)
        assert after == before  # the replays added nothing: each question is counted once
        statuses = [(row[2], row[4]) for row in after[1:]]
        assert statuses == [*((q, Via.QUESTION) for q in QUESTIONS), ("为什么我家的低保被取消了？", Via.RELATED)]
        assert after[-1][3] == Status.TAP
        # The replies sent after the restart carry the references the log holds.
        sent = [c for c in sent_since(api, mark) if refs_in_buttons(c)]
        assert sent and all(refs_in_buttons(c) <= {row[0] for row in after} for c in sent)


async def test_two_different_updates_with_the_same_text_are_both_counted(settings):
    """The reference comes from the update, not the text: asking twice is two questions."""

    async with FakeBotApi() as api, telegram_bot(settings, api, drain=0.5):
        for _ in range(2):
            await ask(api, "低保怎么申请", FIRST_USER)
    rows = logged(settings)
    assert [row[2] for row in rows] == ["低保怎么申请", "低保怎么申请"] and rows[0][0] != rows[1][0]


async def ask(api: FakeBotApi, text: str, user: int):
    api.user_message(text, user_id=user)
    return await api.wait_for_reply(user)


def sent_since(api: FakeBotApi, mark: int) -> list:
    return [c for c in api.calls("sendMessage") if c.index >= mark]
