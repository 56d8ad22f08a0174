"""End-to-end tests of the Telegram bot: the real PTB Application of `channels.tg`, run by
`channels.server.serve` (with the web server when a test sets `web_port`), polling the fake
Bot API server (tests/support/botapi.py)
over HTTP on 127.0.0.1. Nothing inside PTB or the project is mocked; the interaction log is a
real SQLite file under tmp_path. Every wait is event driven and bounded.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import logging
import os
import signal
import sqlite3
from pathlib import Path

import aiohttp
import pytest
from telegram.error import InvalidToken

from servicebot.answering import replies
from servicebot.answering.service import Service
from servicebot.channels import Core
from servicebot.channels.server import build_channels, serve
from servicebot.channels.splitter import utf16_len
from servicebot.channels.tg_render import ADMIN_ONLY_TEXT, NOT_RELOADED_TEXT, RELOADED_TEXT
from servicebot.cli import main as cli_main
from servicebot.faq.checks import ENTRIES, HELD_BACK, REMOVED, TESTS
from servicebot.records import Channel

from support.botapi import DEFAULT_GROUP_ID, DEFAULT_USER_ID, TOKEN, FakeBotApi, button, buttons
from support.waiting import until
from support.webserver import free_port
from support.wording import wording

pytestmark = [pytest.mark.slow, pytest.mark.anyio, pytest.mark.deadline(20)]

ADMIN = 900001
ADMIN_CHAT = -1002000000009
OTHER_USER = 100002
SUGGEST_QUESTION = "低保和养老保险"  # two subjects of the mini FAQ named alike: "did you mean"
WELFARE_BROKEN = "  - id: broken-entry\n    question: 这个条目缺少回答\n"


@pytest.fixture
def settings(mini_faq, make_settings):
    return make_settings(mini_faq, token=TOKEN, admin_ids=[ADMIN], admin_chat_id=ADMIN_CHAT, reload_interval=0)


@contextlib.asynccontextmanager
async def running_bot(settings, *, handle_signals: bool = False):
    """The bot polling a fresh fake Bot API; yields (api, core) once it listens and is ready
    (a reload before then swaps the FAQ but tells no admin: the channels are still starting)."""
    async with FakeBotApi() as api:
        settings = dataclasses.replace(settings, base_url=api.base_url)
        core = Core(settings, Service.from_settings(settings, secret="e2e-secret"))
        stop = asyncio.Event()
        task = asyncio.create_task(serve(core, build_channels(core), stop, handle_signals=handle_signals))
        try:
            if settings.webhook_mode:
                await api.wait_for("setWebhook")
            else:
                await api.wait_polling()
            await until(lambda: core.ready, "the bot ready")
            yield api, core
        finally:
            stop.set()
            await asyncio.wait_for(task, 10)


async def ask(api: FakeBotApi, text: str, user_id: int = DEFAULT_USER_ID):
    api.user_message(text, user_id=user_id)
    return await api.wait_for_reply(user_id)


async def tap(api: FakeBotApi, data: str, chat_id: int = DEFAULT_USER_ID, user_id: int = DEFAULT_USER_ID):
    """Press a button; returns the answerCallbackQuery call (every press must be answered)."""
    query = api.callback_query(data, chat_id=chat_id, user_id=user_id)["callback_query"]
    return await api.wait_for(
        lambda c: c.method == "answerCallbackQuery" and c.params["callback_query_id"] == query["id"]
    )


def write_answer(faq_dir: Path, new_answer: str) -> None:
    path = faq_dir / "books.yaml"
    text = path.read_text(encoding="utf-8")
    start = text.index("    answer: ") + len("    answer: ")
    end = text.index("\n", start)
    path.write_text(text[:start] + new_answer + text[end:], encoding="utf-8")


# --- conversation ----------------------------------------------------------------------------


async def test_start_greets_with_topic_menu_and_commands_are_registered(settings):
    async with running_bot(settings) as (api, core):
        commands = {c["command"]: c["description"] for c in api.commands()}
        assert set(commands) == {"start", "help", "topics", "privacy"}
        assert all("\u4e00" <= ch <= "\u9fff" for ch in commands["help"][:2])  # Chinese descriptions

        api.command("start")
        greeting = await api.wait_for_reply(DEFAULT_USER_ID)
        assert "凤凰办事处" in greeting.text
        topics = [t.name for t in core.service.snapshot.faq.topics]
        assert [b["text"] for b in buttons(greeting)] == topics

        api.command("privacy")
        privacy = await api.wait_for_reply(DEFAULT_USER_ID)
        assert f"{settings.retention_days} 天" in privacy.text
        api.command("help")
        assert "/topics" in (await api.wait_for_reply(DEFAULT_USER_ID)).text
        api.assert_clean()


async def test_question_is_answered_in_html_with_link_related_and_feedback_buttons(settings):
    async with running_bot(settings) as (api, core):
        faq = core.service.snapshot.faq
        reply = await ask(api, "养老保险怎么交")
        entry = faq.by_id["pension-insurance"]
        assert reply.params["parse_mode"] == "HTML"
        assert reply.text.startswith(f"<b>{entry.question}</b>")
        assert "<i>资料来源：" in reply.text
        link = button(reply, entry.links[0].title)
        assert link["url"] == entry.links[0].url
        assert {"👍 有帮助", "👎 没帮助"} <= {b["text"] for b in buttons(reply)}

        reply = await ask(api, "低保怎么申请")
        related = button(reply, faq.by_id["dibao-removal"].question)
        await tap(api, related["callback_data"])
        answer = await api.wait_for_reply(DEFAULT_USER_ID)
        assert faq.by_id["dibao-removal"].answer in answer.text
        api.assert_clean()


async def test_answer_text_is_html_escaped(settings, mini_faq):
    path = mini_faq / "books.yaml"
    path.write_text(
        path.read_text(encoding="utf-8").replace("梧桐书屋是滁州首家公益共享书屋。", "梧桐书屋 <开放> & 免费 </b>"),
        encoding="utf-8",
    )

    async with running_bot(settings) as (api, _):
        reply = await ask(api, "梧桐书屋是什么")
        assert "梧桐书屋 &lt;开放&gt; &amp; 免费 &lt;/b&gt;" in reply.text
        api.assert_clean()  # the fake parses the HTML like Telegram: no "can't parse entities"


async def test_topic_is_browsed_and_a_question_tapped(settings):
    async with running_bot(settings) as (api, core):
        faq = core.service.snapshot.faq
        topic = faq.topics[1]
        api.command("topics")
        menu = await api.wait_for_reply(DEFAULT_USER_ID)
        ack = await tap(api, button(menu, topic.name)["callback_data"])
        assert ack.params.get("text") is None
        listing = await api.wait_for_reply(DEFAULT_USER_ID)
        questions = [faq.by_id[i].question for i in topic.entry_ids]
        assert [b["text"] for b in buttons(listing)][: len(questions)] == questions

        await tap(api, button(listing, questions[-1])["callback_data"])
        answer = await api.wait_for_reply(DEFAULT_USER_ID)
        assert faq.by_id[topic.entry_ids[-1]].answer.strip() in answer.text

        await tap(api, button(listing, "返回")["callback_data"])
        again = await api.wait_for_reply(DEFAULT_USER_ID)
        assert [b["text"] for b in buttons(again)] == [t.name for t in faq.topics]
        api.assert_clean()


async def test_suggestion_is_tapped_and_recorded_as_follow_up(settings):
    async with running_bot(settings) as (api, core):
        res = core
        offer = await ask(api, SUGGEST_QUESTION)
        assert offer.text == replies.SUGGEST_TEXT
        first = buttons(offer)[0]
        assert buttons(offer)[-1]["text"] == replies.NONE_OF_THESE_LABEL
        await tap(api, first["callback_data"])
        answer = await api.wait_for_reply(DEFAULT_USER_ID)
        entry = next(e for e in res.service.snapshot.faq.entries if e.question == first["text"])
        assert entry.answer.strip() in answer.text
        assert res.log.flush()
        follow = res.log.followups(dt.datetime(2000, 1, 1, tzinfo=dt.UTC))
        assert [(row.via, row.entry_id) for row in follow] == [("suggestion", entry.id)]
        api.assert_clean()


async def test_unanswered_question_and_none_of_these_offer_the_topic_menu(settings):
    async with running_bot(settings) as (api, core):
        reply = await ask(api, "今天天气怎么样")
        assert reply.text == replies.unanswered_reply("").body
        await tap(api, buttons(reply)[0]["callback_data"])
        menu = await api.wait_for_reply(DEFAULT_USER_ID)
        assert [b["text"] for b in buttons(menu)] == [t.name for t in core.service.snapshot.faq.topics]

        offer = await ask(api, SUGGEST_QUESTION)
        await tap(api, button(offer, replies.NONE_OF_THESE_LABEL)["callback_data"])
        assert wording(replies.UNANSWERED_TEXT).search((await api.wait_for_reply(DEFAULT_USER_ID)).text)
        api.assert_clean()


async def test_feedback_is_recorded_in_the_interaction_log_and_shown_in_stats(settings):
    async with running_bot(settings) as (api, core):
        log = core.log
        reply = await ask(api, "低保怎么申请")
        ack = await tap(api, button(reply, "👍")["callback_data"])
        assert ack.params["text"] == replies.FEEDBACK_THANKS["+"]
        reply = await ask(api, "书屋在哪")
        await tap(api, button(reply, "👎")["callback_data"])
        assert log.flush()
        rated = log.rated(dt.datetime(2000, 1, 1, tzinfo=dt.UTC))
        assert sorted((r.entry_id, r.positive) for r in rated) == [
            ("bookhouse-wutong", False),
            ("dibao-apply", True),
        ]

        api.command("stats", user_id=ADMIN)
        stats = await api.wait_for_reply(ADMIN)
        assert "2 个问题" in stats.text and "👍 1" in stats.text and "👎 1" in stats.text
        api.command("stats")
        assert (await api.wait_for_reply(DEFAULT_USER_ID)).text == ADMIN_ONLY_TEXT
        api.assert_clean()


# --- groups, odd updates ----------------------------------------------------------------------


async def test_group_messages_are_answered_only_when_addressed(settings):
    async with running_bot(settings) as (api, _):
        chat = DEFAULT_GROUP_ID
        api.mark()
        api.group_message("低保怎么申请")  # chatting among residents
        api.command("start", at_bot=False, chat_type="supergroup", chat_id=chat, user_id=OTHER_USER)
        greeting = await api.wait_for_reply(chat)
        assert "凤凰办事处" in greeting.text
        api.user_message("/help@some_other_bot", chat_type="supergroup", chat_id=chat)
        api.group_message("书屋在哪", mention=True)
        reply = await api.wait_for_reply(chat)
        assert "梧桐书屋" in reply.text
        assert reply.params["reply_parameters"]["message_id"] > 0  # quotes the resident

        api.group_message("养老保险怎么交", reply_to_bot=True)
        reply = await api.wait_for_reply(chat)
        assert "养老保险" in reply.text
        api.sticker(chat_type="supergroup", chat_id=chat)
        await api.expect_no_call(lambda c: c.method == "sendMessage" and c.chat_id == chat, since=reply.index + 1)
        sent = [c.text for c in api.calls("sendMessage", chat_id=chat)]
        assert len(sent) == 3 and "低保申请" not in "".join(sent)  # the unaddressed question got nothing
        api.assert_clean()


async def test_stickers_media_edits_and_channel_posts_never_crash(settings, caplog):
    with caplog.at_level(logging.WARNING):
        async with running_bot(settings) as (api, _):
            for inject in (api.sticker, api.photo, api.voice, api.location):
                inject()
                reply = await api.wait_for_reply(DEFAULT_USER_ID)
                assert reply.text == replies.NON_TEXT_TEXT
            api.user_message("低保怎么申请")
            answer = await api.wait_for_reply(DEFAULT_USER_ID)
            api.edited_message("养老保险怎么交")
            api.channel_post("低保怎么申请")
            api.user_message("/nosuchcommand")
            help_reply = await api.wait_for_reply(DEFAULT_USER_ID)
            assert help_reply.text.startswith("使用说明")
            # The edit and the channel post are ignored quietly: the help is the only reply.
            await api.expect_no_call(
                lambda c: c.method == "sendMessage" and c.index != help_reply.index, since=answer.index + 1
            )
            api.assert_clean()
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_very_long_message_gets_a_note_and_the_answer_to_its_start(settings):
    text = "低保怎么申请\n" + "我家里的情况比较复杂，" * 5000
    assert len(text) > 50_000

    async with running_bot(settings) as (api, core):
        reply = await ask(api, text)
        expected = Service(core.service.snapshot, settings).answer(text[:500], channel=Channel.ASK).reply
        assert reply.text.startswith(f"<i>{replies.TOO_LONG_TEXT}</i>")
        assert (expected.title or expected.body) in reply.text
        assert utf16_len(reply.text) <= 4096
        api.assert_clean()


async def test_reply_over_the_limit_is_split_at_line_boundaries(settings, mini_faq):
    # An answer just under Telegram's limit (the FAQ check allows it); the note about a long
    # question pushes the reply over it.
    line = "第000条：请携带身份证、户口簿和相关证明材料到社区居委会办理。"
    frame = len("梧桐书屋是什么？") + len("资料来源：测试资料（2026-11-01 核对）") + 4  # title, footer, blank lines
    lines = [f"第{i:03d}条" + line[5:] for i in range((4096 - frame) // (len(line) + 1))]  # as many as fit
    assert len(replies.TOO_LONG_TEXT) + 2 > len(line) + 1  # ...so the note cannot fit as well
    path = mini_faq / "books.yaml"
    answer_yaml = "|\n" + "".join(f"      {line}\n" for line in lines)
    path.write_text(
        path.read_text(encoding="utf-8").replace("梧桐书屋是滁州首家公益共享书屋。\n", answer_yaml), encoding="utf-8"
    )

    async with running_bot(settings) as (api, _):
        api.user_message("梧桐书屋是什么？" + "。" * 50_000)
        first = await api.wait_for_reply(DEFAULT_USER_ID)
        second = await api.wait_for_reply(DEFAULT_USER_ID)
        assert first.text.startswith(f"<i>{replies.TOO_LONG_TEXT}</i>")
        assert not buttons(first) and buttons(second)  # buttons under the last part only
        shown = [line for call in (first, second) for line in call.text.split("\n")]
        assert [line for line in shown if line.startswith("第")] == lines  # nothing lost or cut
        await api.expect_no_call("sendMessage", since=second.index + 1)
        api.assert_clean()


async def test_forged_and_stale_buttons_get_a_polite_answer(settings, mini_faq):
    forged = ["garbage", "e:s:AAAAAAAAAA:0123456789ab", "t:", "f:*:abc", "e:r:" + "x" * 70, "", "m:extra", "n:ZZZ"]

    async with running_bot(settings) as (api, core):
        reply = await ask(api, "书屋在哪")
        related_free = button(reply, "👍")["callback_data"]
        api.command("topics")
        menu = await api.wait_for_reply(DEFAULT_USER_ID)
        old_topic = button(menu, "共享书屋")["callback_data"]
        before = len(api.calls("sendMessage"))
        for data in forged:
            ack = await tap(api, data)
            assert ack.params["text"] == replies.STALE_BUTTON_TEXT

        (mini_faq / "books.yaml").unlink()  # the topic disappears in the next FAQ
        assert core.service.reload()[0]
        ack = await tap(api, old_topic)
        assert ack.params["text"] == replies.STALE_BUTTON_TEXT
        assert (await tap(api, related_free)).params["text"] == replies.FEEDBACK_THANKS["+"]
        assert len(api.calls("sendMessage")) == before
        api.assert_clean()


async def test_flooding_resident_gets_one_warning_and_others_are_unaffected(settings):
    flood = dataclasses.replace(settings, flood_messages=3, flood_window=600.0)

    async with running_bot(flood) as (api, _):
        for _ in range(6):
            api.user_message("低保怎么申请")
        api.user_message("书屋在哪", user_id=OTHER_USER)
        other = await api.wait_for_reply(OTHER_USER)
        assert "梧桐书屋" in other.text
        replies_to_flooder = await api.wait_for_count(
            lambda c: c.method == "sendMessage" and c.chat_id == DEFAULT_USER_ID, 4
        )
        await api.expect_no_call(
            lambda c: c.method == "sendMessage" and c.chat_id == DEFAULT_USER_ID,
            since=replies_to_flooder[-1].index + 1,
        )
        texts = [c.text for c in replies_to_flooder]
        assert texts[3] == replies.SLOW_DOWN_TEXT and replies.SLOW_DOWN_TEXT not in texts[:3]
        api.assert_clean()


# --- staff -----------------------------------------------------------------------------------


async def test_reload_with_a_broken_faq_reports_file_and_line_and_keeps_answering(settings, mini_faq):
    async with running_bot(settings) as (api, core):
        old = (await ask(api, "梧桐书屋是什么")).text
        with (mini_faq / "welfare.yaml").open("a", encoding="utf-8") as fh:
            fh.write(WELFARE_BROKEN)
        write_answer(mini_faq, "梧桐书屋周一闭馆。")
        api.command("reload")
        assert (await api.wait_for_reply(DEFAULT_USER_ID)).text == ADMIN_ONLY_TEXT

        api.command("reload", user_id=ADMIN)
        report = await api.wait_for_reply(ADMIN)
        assert wording(NOT_RELOADED_TEXT).search(report.text) and "welfare.yaml:34" in report.text
        assert (await ask(api, "梧桐书屋是什么")).text == old

        welfare = mini_faq / "welfare.yaml"
        welfare.write_text(welfare.read_text(encoding="utf-8").replace(WELFARE_BROKEN, ""), encoding="utf-8")
        api.command("reload", user_id=ADMIN)
        done = await api.wait_for_reply(ADMIN)
        faq = core.service.snapshot.faq
        assert wording(RELOADED_TEXT, files=len(faq.files), entries=len(faq.entries)).search(done.text)
        assert "梧桐书屋周一闭馆。" in (await ask(api, "梧桐书屋是什么")).text
        api.assert_clean()


async def test_live_reload_through_the_watcher(settings, mini_faq):
    live = dataclasses.replace(settings, reload_interval=0.05)

    async def staff_notice(api, since, said):
        # An editor's save can be seen half-way; wait for the notice about the finished state.
        return await api.wait_for(
            lambda c: c.method == "sendMessage" and c.chat_id == ADMIN_CHAT and said(c.text), since=since
        )

    async with running_bot(live) as (api, _):
        mark = api.mark()
        write_answer(mini_faq, "梧桐书屋今天起延长开放时间。")
        await staff_notice(api, mark, wording(RELOADED_TEXT).search)
        assert "延长开放时间" in (await ask(api, "梧桐书屋是什么")).text

        mark = api.mark()
        with (mini_faq / "welfare.yaml").open("a", encoding="utf-8") as fh:
            fh.write(WELFARE_BROKEN)
        notice = await staff_notice(api, mark, lambda text: "welfare.yaml:34" in text)
        assert wording(NOT_RELOADED_TEXT).search(notice.text)
        assert "延长开放时间" in (await ask(api, "梧桐书屋是什么")).text

        mark = api.mark()
        write_answer(mini_faq, "梧桐书屋暂停开放。")  # still refused: welfare.yaml is broken
        welfare = mini_faq / "welfare.yaml"
        welfare.write_text(welfare.read_text(encoding="utf-8").replace(WELFARE_BROKEN, ""), encoding="utf-8")
        await staff_notice(api, mark, wording(RELOADED_TEXT).search)
        assert "暂停开放" in (await ask(api, "梧桐书屋是什么")).text
        api.assert_clean()


async def test_staff_hear_by_name_what_an_edit_removes_and_a_likely_half_save_waits_for_reload(settings, mini_faq):
    live = dataclasses.replace(settings, reload_interval=0.05)

    async def admin_chat(api, since):
        return await api.wait_for(lambda c: c.method == "sendMessage" and c.chat_id == ADMIN_CHAT, since=since)

    async with running_bot(live) as (api, core):
        mark = api.mark()
        books = mini_faq / "books.yaml"
        text = books.read_text(encoding="utf-8")
        books.write_text(text[: text.index("  - id: garbage-hall")], encoding="utf-8")
        notice = await admin_chat(api, mark)
        assert wording(RELOADED_TEXT).search(notice.text)
        assert REMOVED.format(count=1, what=ENTRIES, names="garbage-hall") in notice.text

        mark = api.mark()
        (mini_faq / "tests.yaml").write_text("", encoding="utf-8")  # every regression question at once
        notice = await admin_chat(api, mark)
        names = "“地保怎么申请”、“今天天气怎么样”"
        assert HELD_BACK.format(count=2, what=TESTS, total=2, names=names) in notice.text
        assert len(core.service.snapshot.faq.tests) == 2

        api.command("reload", user_id=ADMIN)  # it was meant: apply it
        done = await api.wait_for_reply(ADMIN)
        assert REMOVED.format(count=2, what=TESTS, names=names) in done.text
        assert core.service.snapshot.faq.tests == ()
        api.assert_clean()


async def test_sighup_reloads_the_faq(settings, mini_faq):
    async with running_bot(settings, handle_signals=True) as (api, _):
        write_answer(mini_faq, "梧桐书屋搬到了新地址。")
        mark = api.mark()
        os.kill(os.getpid(), signal.SIGHUP)
        notice = await api.wait_for(lambda c: c.method == "sendMessage" and c.chat_id == ADMIN_CHAT, since=mark)
        assert wording(RELOADED_TEXT).search(notice.text)
        assert "新地址" in (await ask(api, "梧桐书屋是什么")).text


# --- faults ----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["429", "502", "drop"])
async def test_failed_send_is_retried_and_delivered_exactly_once(settings, kind):
    async with running_bot(settings) as (api, _):
        api.fail_next("sendMessage", kind, retry_after=1)
        api.user_message("低保怎么申请")
        fault = await api.wait_for_fault("sendMessage")
        assert fault.kind == kind
        reply = await api.wait_for_reply(DEFAULT_USER_ID, timeout=8)
        assert "低保" in reply.text
        await api.expect_no_call(lambda c: c.method == "sendMessage", since=reply.index + 1)
        assert len(api.calls("sendMessage")) == 1
        assert "梧桐书屋" in (await ask(api, "书屋在哪")).text  # still polling
        api.assert_clean()


async def test_error_handler_tells_the_resident_and_logs_no_personal_data(settings, caplog):
    with caplog.at_level(logging.INFO):
        async with running_bot(settings) as (api, _):
            api.fail_next("sendMessage", "502", times=3)  # every attempt of the answer fails
            api.user_message("我的手机号是13912345678，低保怎么申请")
            reply = await api.wait_for_reply(DEFAULT_USER_ID, timeout=8)
            assert reply.text == replies.ERROR_TEXT
            assert "梧桐书屋" in (await ask(api, "书屋在哪")).text
    errors = [r for r in caplog.records if r.name.startswith("servicebot") and r.levelno >= logging.ERROR]
    assert errors and "NetworkError" in errors[0].getMessage()
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("servicebot"))
    assert str(DEFAULT_USER_ID) not in logged and "13912345678" not in logged and "低保怎么申请" not in logged


# --- webhook ---------------------------------------------------------------------------------


async def test_webhook_web_chat_and_health_share_one_port(settings, caplog):
    """Webhook mode through the bot's own web server: the fake Bot API posts updates to the
    webhook path, a browser's requests reach the web chat, and /healthz answers, all on one
    port of one process."""
    port = free_port()
    hooked = dataclasses.replace(
        settings,
        webhook_url=f"http://127.0.0.1:{port}/telegram-hook",
        webhook_secret="s3cret-token_A",
        web_listen="127.0.0.1",
        web_port=port,
    )
    update = {
        "update_id": 99000001,
        "message": {
            "message_id": 1,
            "date": 1700000000,
            "chat": {"id": OTHER_USER, "type": "private"},
            "from": {"id": OTHER_USER, "is_bot": False, "first_name": "居民"},
            "text": "书屋在哪",
        },
    }
    secret = {"X-Telegram-Bot-Api-Secret-Token": "s3cret-token_A"}

    with caplog.at_level(logging.WARNING):
        async with running_bot(hooked) as (api, core), aiohttp.ClientSession() as http:
            hook = api.webhook
            assert hook["url"] == hooked.webhook_url and hook["secret_token"] == "s3cret-token_A"
            api.user_message("低保怎么申请")  # delivered by the fake through the webhook
            assert "低保" in (await api.wait_for_reply(DEFAULT_USER_ID)).text

            url = hooked.webhook_url
            for _ in range(20):  # forged calls: refused, and logged once, not twenty times
                for headers in ({}, {"X-Telegram-Bot-Api-Secret-Token": "wrong"}):
                    async with http.post(url, json=update, headers=headers) as resp:
                        assert resp.status == 403
            async with http.post(url, data=b"not json", headers=secret) as resp:
                assert resp.status == 400
            async with http.post(url, data=b"x" * (2 * 1024 * 1024), headers=secret) as resp:
                assert resp.status == 413
            async with http.get(url) as resp:
                assert resp.status == 405
            async with http.post(url, json=update, headers=secret) as resp:
                assert resp.status == 200
            reply = await api.wait_for_reply(OTHER_USER)
            assert "梧桐书屋" in reply.text
            assert len(api.calls("sendMessage", chat_id=OTHER_USER)) == 1  # the forged posts did nothing

            session = "ab" * 16
            async with http.post(
                f"http://127.0.0.1:{port}/api/ask", json={"session": session, "text": "书屋在哪"}
            ) as resp:
                assert resp.status == 200
                web_answer = (await resp.json())["messages"][0]
            assert web_answer["title"] == core.service.snapshot.faq.by_id["bookhouse-wutong"].question
            async with http.get(f"http://127.0.0.1:{port}/healthz") as resp:
                assert resp.status == 200 and await resp.text() == "ok"
            async with http.get(f"http://127.0.0.1:{port}/") as resp:
                assert resp.status == 200 and "在线问答" in await resp.text()
            assert core.log.flush()
            with contextlib.closing(sqlite3.connect(core.settings.db_path)) as db:
                channels = dict(db.execute("SELECT channel, count(*) FROM interactions GROUP BY channel"))
            assert channels == {"telegram": 2, "web": 1}
            api.assert_clean()
    refusals = [r.getMessage() for r in caplog.records if "wrong secret" in r.getMessage()]
    assert len(refusals) == 1


async def test_a_bad_gateway_page_from_the_bot_api_logs_one_warning_not_a_traceback(settings, caplog):
    with caplog.at_level(logging.INFO):
        async with running_bot(settings) as (api, _):
            api.fail_next("sendMessage", "502")  # an HTML error page, as a proxy sends it
            api.user_message("低保怎么申请")
            assert "低保" in (await api.wait_for_reply(DEFAULT_USER_ID, timeout=8)).text
            api.assert_clean()
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "sendMessage" in warnings[0] and "<html" not in warnings[0].lower()


async def test_polling_recovers_from_a_failed_get_updates_with_one_warning(settings, caplog):
    with caplog.at_level(logging.INFO):
        async with running_bot(settings) as (api, _):
            api.fail_next("getUpdates", "502")  # the poll after the next update fails
            assert "低保" in (await ask(api, "低保怎么申请")).text
            await api.wait_for_fault("getUpdates")
            assert "梧桐书屋" in (await ask(api, "书屋在哪")).text  # polling again, after a pause
            api.assert_clean()
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "fetching updates failed" in warnings[0] and "<html" not in warnings[0].lower()


async def test_a_lone_surrogate_in_a_message_is_repaired_not_a_crash(settings, caplog):
    with caplog.at_level(logging.WARNING):
        async with running_bot(settings) as (api, _):
            api.user_message("\ud800低保怎么申请\udfff")
            assert "低保" in (await api.wait_for_reply(DEFAULT_USER_ID)).text
            api.assert_clean()
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_a_token_the_server_rejects_stops_startup_cleanly(settings):
    async with FakeBotApi(token=TOKEN) as api:
        wrong = dataclasses.replace(settings, token="123456:" + "x" * 35, base_url=api.base_url)
        core = Core(wrong, Service.from_settings(wrong, secret="e2e-secret"))
        with pytest.raises(InvalidToken):
            await serve(core, build_channels(core), asyncio.Event())
        assert core.log is None and not api.sent


# --- command line ----------------------------------------------------------------------------


def test_run_without_token_exits_2_with_a_hint(capsys, mini_faq, tmp_path):
    code = cli_main(["run", "--faq", str(mini_faq), "--data-dir", str(tmp_path / "data")])
    assert code == 2
    err = capsys.readouterr().err
    assert "SERVICEBOT_TOKEN" in err and "SERVICEBOT_WEB_PORT" in err and "servicebot chat" in err
