"""End-to-end tests of the hand-off desk (转人工): the real bot (`channels.server.serve` with
the Telegram channel, and the web chat and WeChat where a test needs them) against the fake
Bot API (tests/support/botapi.py) over HTTP on 127.0.0.1, a real SQLite file under tmp_path. Residents
write in private chats (and on the web chat API, and through the simulated WeChat server,
tests/support/wechat_sim.py); two staff members sit in the staff group and answer by replying to the
bot's messages there. Every wait is event driven and bounded.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import re
import sqlite3

import aiohttp
import pytest

from servicebot.answering import replies
from servicebot.answering.service import Service
from servicebot.channels import Core
from servicebot.channels.server import build_channels, serve
from servicebot.channels.tg_staff import (
    CARD_NO_QUESTION,
    CARD_TITLE,
    EARLIER,
    EARLIER_NONE,
    FAQ_LABEL,
    KEPT_WHERE,
    LIST_EMPTY,
    NOTICES,
    RESOLVE_LABEL,
)
from servicebot.conversation.ticket_view import Notice
from servicebot.records import Channel, TicketStatus
from servicebot.tools.health import check_health

from support.botapi import DEFAULT_USER_ID, TOKEN, FakeBotApi, button, buttons
from support.webserver import free_port
from support.wechat_sim import TEST_TOKEN, WechatSim
from support.wording import wording

pytestmark = [pytest.mark.slow, pytest.mark.anyio, pytest.mark.deadline(40)]

STAFF = -1003000000001
ZHANG, LI = 3001, 3002  # the two staff members
RESIDENT, OTHER = DEFAULT_USER_ID, 100077
RESIDENT_NAME, RESIDENT_USERNAME = "王小明", "wangxm_home"
UNANSWERABLE = "我家孩子的疫苗本丢了怎么补办，我电话13912345678"
not_reached = wording(replies.TICKET_NOT_REACHED_TEXT).search


@pytest.fixture
def settings(mini_faq, make_settings):
    return make_settings(mini_faq, token=TOKEN, staff_chat_id=STAFF, reload_interval=0)


@contextlib.asynccontextmanager
async def running(api: FakeBotApi, settings, *, web: bool = False):
    """The bot polling `api` (and serving the web chat with `web`); yields (core, web port)."""
    settings = dataclasses.replace(settings, base_url=api.base_url)
    if web:
        settings = dataclasses.replace(settings, web_port=free_port(), web_listen="127.0.0.1")
    core = Core(settings, Service.from_settings(settings, secret="e2e-secret"))
    assert core.desk is not None
    core.desk.retry_min, core.desk.retry_max = 0.1, 0.5  # retries within the test's patience
    stop = asyncio.Event()
    listening: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    task = asyncio.create_task(serve(core, build_channels(core), stop, listening=listening if web else None))
    try:
        await api.wait_polling(timeout=10)
        yield core, (await listening if web else None)
    finally:
        stop.set()
        await asyncio.wait_for(task, 15)


def said(template: str, **fields) -> str:
    """A resident-facing sentence as the bot sends it (HTML-escaped, as in the message text)."""
    return template.format(**fields).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


async def ask(api: FakeBotApi, text: str, user: int = RESIDENT):
    api.user_message(text, user_id=user, first_name=RESIDENT_NAME, username=RESIDENT_USERNAME)
    return await api.wait_for_reply(user)


async def press(api: FakeBotApi, data: str, *, chat: int = RESIDENT, user: int = RESIDENT, message: int | None = None):
    """Press a button; returns the answerCallbackQuery call (every press is answered)."""
    first = {ZHANG: "张三", LI: "李四"}.get(user, RESIDENT_NAME)
    query = api.callback_query(data, chat_id=chat, user_id=user, message_id=message, first_name=first)["callback_query"]
    return await api.wait_for(
        lambda c: c.method == "answerCallbackQuery" and c.params["callback_query_id"] == query["id"]
    )


def staff_says(api: FakeBotApi, text: str, reply_to: int, *, staff: int = ZHANG) -> dict:
    first = {ZHANG: "张三", LI: "李四"}[staff]
    return api.user_message(
        text, user_id=staff, chat_id=STAFF, chat_type="supergroup", first_name=first, reply_to_message_id=reply_to
    )["message"]


async def open_ticket(api: FakeBotApi, question: str = UNANSWERABLE, user: int = RESIDENT):
    """Ask something the bot cannot answer, press 转人工; (the bot's reply, the card in the staff group)."""
    reply = await ask(api, question, user)
    await press(api, button(reply, replies.HANDOFF_LABEL)["callback_data"], chat=user, user=user)
    opened = await api.wait_for_reply(user)
    card = await api.wait_for_reply(STAFF)
    assert wording(CARD_TITLE).search(card.text)
    return opened, card


def number_in(text: str) -> int:
    found = re.search(r"#(\d+)", text)
    assert found, text
    return int(found.group(1))


def db_rows(settings, query: str, *args) -> list[tuple]:
    conn = sqlite3.connect(settings.db_path)
    try:
        return conn.execute(query, args).fetchall()
    finally:
        conn.close()


def to_resident(api: FakeBotApi, user: int = RESIDENT, part: str = replies.STAFF_REPLY_PREFIX) -> list:
    return [c for c in api.calls("sendMessage", chat_id=user) if part in c.text]


# --- the full round ---------------------------------------------------------------------------------


async def test_question_reaches_staff_and_two_staff_answers_reach_the_resident_once(settings):
    async with FakeBotApi() as api, running(api, settings) as (core, _):
        # The bot cannot answer: it says so, and offers 转人工.
        reply = await ask(api, UNANSWERABLE)
        assert "答不上来" in reply.text and replies.HANDOFF_OFFER in reply.text
        assert buttons(reply)[0]["text"] == replies.HANDOFF_LABEL
        await press(api, buttons(reply)[0]["callback_data"])
        opened = await api.wait_for_reply(RESIDENT)
        number = number_in(opened.text)
        assert said(replies.TICKET_OPENED_TEXT, number=number, hours=replies.HOURS_UNSTATED_TEXT) in opened.text
        assert [b["text"] for b in buttons(opened)] == [replies.BACK_LABEL]

        # One card in the staff group: number, masked question, what the bot did, history, channel.
        card = await api.wait_for_reply(STAFF)
        assert f"#{number}" in card.text and "[手机号]" in card.text and "13912345678" not in card.text
        assert "疫苗本丢了" in card.text and "没能回答" in card.text and EARLIER_NONE in card.text
        assert "Telegram" in card.text
        for private in (str(RESIDENT), RESIDENT_NAME, RESIDENT_USERNAME):
            assert private not in card.text
        assert [b["text"] for b in buttons(card)] == [RESOLVE_LABEL, FAQ_LABEL]
        card_id = card.result["message_id"]

        # 张三 replies to the card: relayed once, with 👍/👎, and confirmed in the group.
        answer = "请带户口簿到社区卫生服务中心补办，咨询电话 0550-1234567"
        first = staff_says(api, answer, card_id)
        relayed = await api.wait_for_reply(RESIDENT)
        assert relayed.text.startswith(replies.STAFF_REPLY_PREFIX + answer)
        assert {b["text"] for b in buttons(relayed)} == {"👍 有帮助", "👎 没帮助"}
        confirm = await api.wait_for_reply(STAFF)
        assert NOTICES[Notice.SENT].format(number=number, name="张三") == confirm.text
        assert confirm.params["reply_parameters"]["message_id"] == first["message_id"]

        # 李四 replies to the ✅ line: the same ticket, relayed too.
        staff_says(api, "另外周六上午也可以办理。", confirm.result["message_id"], staff=LI)
        second = await api.wait_for_reply(RESIDENT)
        assert second.text.startswith(replies.STAFF_REPLY_PREFIX + "另外周六上午也可以办理。")
        assert "李四" in (await api.wait_for_reply(STAFF)).text
        await api.expect_no_call(lambda c: c.chat_id == RESIDENT, within=0.5, since=api.mark())
        assert len(to_resident(api)) == 2  # each reply exactly once

        [(status, by, address)] = db_rows(
            settings, "SELECT status, answered_by, address FROM tickets WHERE number = ?", number
        )
        assert (status, by, address) == (TicketStatus.ANSWERED, "李四", str(RESIDENT))
        stored = db_rows(settings, "SELECT text, pending FROM ticket_messages WHERE author = 'staff' ORDER BY id")
        assert stored[0] == ("请带户口簿到社区卫生服务中心补办，咨询电话 [电话]", None)  # masked, not kept raw

        # 👍 on a staff reply is recorded like any rating.
        await press(api, button(relayed, "👍")["callback_data"], message=relayed.result["message_id"])
        assert core.log is not None and core.log.flush()
        assert db_rows(settings, "SELECT positive FROM feedback") == [(1,)]

        # Writing again within 24 h: added under the card, not answered by the matcher.
        api.user_message("好的，请问需要带孩子本人吗", user_id=RESIDENT)
        ack = await api.wait_for_reply(RESIDENT)
        assert said(replies.FOLLOW_UP_TEXT, number=number) in ack.text
        follow = await api.wait_for_reply(STAFF)
        assert "居民补充：好的，请问需要带孩子本人吗" in follow.text
        assert follow.params["reply_parameters"]["message_id"] == card_id

        # 加入问答 marks 李四's reply; 已解决 closes: the resident is told, the address deleted.
        toast = await press(api, f"s:f:{number}", chat=STAFF, user=LI, message=card_id)
        assert "李四" in toast.params["text"]
        assert db_rows(settings, "SELECT text FROM ticket_messages WHERE faq = 1") == [("另外周六上午也可以办理。",)]
        toast = await press(api, f"s:c:{number}", chat=STAFF, user=ZHANG, message=card_id)
        assert f"#{number}" in toast.params["text"]
        closed = await api.wait_for_reply(RESIDENT)
        assert said(replies.TICKET_CLOSED_TEXT, number=number) in closed.text
        assert "张三" in (await api.wait_for_reply(STAFF)).text
        edit = await api.wait_for("editMessageReplyMarkup")
        assert [b["text"] for b in buttons(edit)] == [FAQ_LABEL]
        [(status, address, closed_by)] = db_rows(settings, "SELECT status, address, closed_by FROM tickets")
        assert (status, address, closed_by) == (TicketStatus.CLOSED, None, "张三")

        # Back with the bot; /tickets lists nothing open.
        answered = await ask(api, "低保怎么申请")
        assert "低保" in answered.text and replies.STAFF_REPLY_PREFIX not in answered.text
        api.command("tickets", chat_id=STAFF, chat_type="supergroup", user_id=ZHANG, first_name="张三")
        assert (await api.wait_for_reply(STAFF)).text == LIST_EMPTY
        api.assert_clean()


async def test_typed_request_hands_off_the_latest_question_or_asks_for_one(settings):
    settings = dataclasses.replace(settings, staff_hours="mon-sun 00:00-24:00")

    async with FakeBotApi() as api, running(api, settings) as (core, _):
        await ask(api, "燃气费在哪里交")
        opened = await ask(api, "转人工")
        number = number_in(opened.text)
        hours = core.settings.office_hours.describe()
        assert said(replies.HOURS_OPEN_TEXT, hours=hours) in opened.text
        card = await api.wait_for_reply(STAFF)
        assert "燃气费在哪里交" in card.text and f"#{number}" in card.text

        # Asking again for a person while the ticket is open: it is part of the ticket.
        again = await ask(api, "人工")
        assert said(replies.FOLLOW_UP_TEXT, number=number) in again.text

        # Nothing asked before: the resident is asked to write the question, which follows the card.
        opened = await ask(api, "我要找工作人员", OTHER)
        other = number_in(opened.text)
        assert other != number and replies.WRITE_QUESTION_TEXT in opened.text
        card = await api.wait_for(lambda c: c.method == "sendMessage" and c.chat_id == STAFF and f"#{other}" in c.text)
        assert CARD_NO_QUESTION in card.text
        await ask(api, "我家的狗丢了能帮忙找吗", OTHER)
        follow = await api.wait_for(lambda c: c.chat_id == STAFF and "我家的狗丢了" in (c.text or ""))
        assert follow.params["reply_parameters"]["message_id"] == card.result["message_id"]

        # The way back to the bot.
        api.callback_query("b", chat_id=OTHER, user_id=OTHER)
        left = await api.wait_for_reply(OTHER)
        assert said(replies.BACK_TO_BOT_TEXT, number=other) in left.text
        answered = await ask(api, "低保怎么申请", OTHER)
        assert "低保" in answered.text
        api.assert_clean()


async def test_a_second_ticket_of_the_same_resident_shows_how_many_came_before(settings):
    async with FakeBotApi() as api, running(api, settings):
        first_reply = await ask(api, "燃气费在哪里交")
        second_reply = await ask(api, "护照在哪里办")
        await press(api, button(first_reply, replies.HANDOFF_LABEL)["callback_data"])
        await api.wait_for_reply(RESIDENT)
        await api.wait_for_reply(STAFF)
        await press(api, button(second_reply, replies.HANDOFF_LABEL)["callback_data"])
        opened = await api.wait_for_reply(RESIDENT)
        card = await api.wait_for_reply(STAFF)
        assert "护照在哪里办" in card.text and EARLIER.format(count=1) in card.text
        # Pressing 转人工 again under the first question: it is already with staff.
        await press(api, button(first_reply, replies.HANDOFF_LABEL)["callback_data"])
        again = await api.wait_for_reply(RESIDENT)
        assert wording(replies.TICKET_EXISTS_TEXT).search(again.text)
        assert number_in(again.text) == number_in(opened.text) - 1
        api.assert_clean()


async def test_downvote_offers_hand_off(settings):
    async with FakeBotApi() as api, running(api, settings) as (core, _):
        answer = await ask(api, "低保怎么申请")
        toast = await press(api, button(answer, "👎")["callback_data"], message=answer.result["message_id"])
        assert toast.params["text"] == replies.FEEDBACK_THANKS["-"]
        offer = await api.wait_for_reply(RESIDENT)
        assert offer.text == replies.DOWNVOTE_TEXT
        await press(api, button(offer, replies.HANDOFF_LABEL)["callback_data"])
        await api.wait_for_reply(RESIDENT)
        card = await api.wait_for_reply(STAFF)
        entry = core.service.snapshot.faq.by_id["dibao-apply"]
        assert "低保怎么申请" in card.text and f"回答了「{entry.question}」" in card.text
        api.assert_clean()


# --- restarts and faults -----------------------------------------------------------------------------


async def test_a_staff_reply_sent_while_the_bot_was_down_is_relayed_after_the_restart(settings):
    async with FakeBotApi() as api:
        async with running(api, settings):
            opened, card = await open_ticket(api)
            number = number_in(opened.text)
        # The bot is stopped; 张三 answers meanwhile.
        staff_says(api, "已经帮您登记，下周一来取。", card.result["message_id"])
        assert not to_resident(api)
        async with running(api, settings):
            relayed = await api.wait_for(lambda c: c.chat_id == RESIDENT and replies.STAFF_REPLY_PREFIX in c.text)
            assert "已经帮您登记，下周一来取。" in relayed.text
            confirm = NOTICES[Notice.SENT].format(number=number, name="张三")
            await api.wait_for(lambda c: c.chat_id == STAFF and c.text == confirm)
            # The resident is still in the ticket after the restart.
            api.mark()
            api.user_message("谢谢，需要带什么证件", user_id=RESIDENT)
            assert said(replies.FOLLOW_UP_TEXT, number=number) in (await api.wait_for_reply(RESIDENT)).text
            await api.expect_no_call(lambda c: c.chat_id == RESIDENT, within=0.5, since=api.mark())
        assert len(to_resident(api)) == 1
        [(status,)] = db_rows(settings, "SELECT status FROM tickets WHERE number = ?", number)
        assert status == TicketStatus.ANSWERED


async def test_a_reply_to_anything_but_a_ticket_is_ignored(settings):
    async with FakeBotApi() as api, running(api, settings):
        opened, _ = await open_ticket(api)
        api.command("tickets", chat_id=STAFF, chat_type="supergroup", user_id=LI, first_name="李四")
        listing = await api.wait_for_reply(STAFF)
        assert f"#{number_in(opened.text)}" in listing.text and "等待回复" in listing.text
        mark = api.mark()
        staff_says(api, "这条不是给居民的", listing.result["message_id"])  # a reply to the listing
        colleague = api.user_message(
            "下午谁值班？", user_id=LI, chat_id=STAFF, chat_type="supergroup", first_name="李四"
        )["message"]
        staff_says(api, "我值班", colleague["message_id"])  # staff talking among themselves
        await api.expect_no_call(lambda c: c.method == "sendMessage", within=1.0, since=mark)
        assert not to_resident(api)
        api.assert_clean()


async def test_a_resident_who_blocked_the_bot_is_reported_to_staff(settings):
    async with FakeBotApi() as api, running(api, settings):
        opened, card = await open_ticket(api)
        number = number_in(opened.text)
        api.block(RESIDENT)
        staff_says(api, "您好，请来办事处一趟。", card.result["message_id"])
        notice = await api.wait_for_reply(STAFF)
        assert notice.text == NOTICES[Notice.GONE].format(number=number)
        [(status, address)] = db_rows(settings, "SELECT status, address FROM tickets")
        assert (status, address) == (TicketStatus.UNREACHABLE, None)
        staff_says(api, "再试一次", card.result["message_id"], staff=LI)
        assert (await api.wait_for_reply(STAFF)).text == NOTICES[Notice.GONE].format(number=number)
        assert [e.result for e in api.errors] == ["Forbidden: bot was blocked by the user"]


async def test_a_group_the_bot_was_removed_from_keeps_tickets_tells_residents_the_truth_and_retries(settings):
    async with FakeBotApi() as api, running(api, settings) as (core, _):
        api.block(STAFF)
        reply = await ask(api, UNANSWERABLE)
        await press(api, button(reply, replies.HANDOFF_LABEL)["callback_data"])
        opened = await api.wait_for_reply(RESIDENT)
        number = number_in(opened.text)
        assert "正在转给" in opened.text
        # Posting fails: the resident hears it has not reached staff; health says why.
        told = await api.wait_for_reply(RESIDENT)
        assert told.text.startswith(said(replies.TICKET_NOT_REACHED_TEXT, number=number, where="")[:20])
        problems = await asyncio.to_thread(check_health, core.settings)  # it asks the fake Bot API
        assert any("staff group" in p and "kicked" in p for p in problems), problems

        # A ticket opened meanwhile says so at once, and only once.
        second = await ask(api, "转人工", OTHER)
        assert wording(replies.TICKET_OPENED_ROOM_DOWN_TEXT).search(second.text)

        # The bot is added back: both cards go out, the residents hear it, health is clear again.
        api.unblock(STAFF)
        cards = await api.wait_for_count(
            lambda c: c.method == "sendMessage" and c.chat_id == STAFF and wording(CARD_TITLE).search(c.text),
            2,
            timeout=10,
        )
        reached = await api.wait_for_reply(RESIDENT)
        assert said(replies.TICKET_REACHED_TEXT, number=number) in reached.text
        assert replies.TICKET_REACHED_TEXT.split("#")[0] in (await api.wait_for_reply(OTHER)).text
        assert [p for p in await asyncio.to_thread(check_health, core.settings) if "staff group" in p] == []
        staff_says(api, "收到，马上处理。", cards[0].result["message_id"])
        assert "收到，马上处理。" in (await api.wait_for_reply(RESIDENT)).text
        await api.expect_no_call(
            lambda c: c.chat_id in (RESIDENT, OTHER) and not_reached(c.text), within=0.5, since=api.mark()
        )
        assert len([c for c in api.calls("sendMessage") if not_reached(c.text)]) == 1


# --- the web chat -----------------------------------------------------------------------------------


async def test_a_web_resident_hands_off_and_finds_the_staff_reply_after_a_restart(settings):
    session = "0123456789abcdef0123456789abcdef"

    async def post(http, port, path, doc):
        async with http.post(f"http://127.0.0.1:{port}{path}", json=doc) as response:
            assert response.status == 200, await response.text()
            return await response.json()

    async with FakeBotApi() as api, aiohttp.ClientSession() as http:
        async with running(api, settings, web=True) as (_, port):
            asked = await post(http, port, "/api/ask", {"session": session, "text": "护照在哪里办"})
            [message] = asked["messages"]
            handoff = next(c for c in message["choices"] if c["label"] == replies.HANDOFF_LABEL)
            tapped = await post(http, port, "/api/tap", {"session": session, "data": handoff["data"]})
            number = number_in(tapped["messages"][0]["body"])
            card = await api.wait_for_reply(STAFF)
            assert "网页聊天" in card.text and "护照在哪里办" in card.text and session not in card.text
            staff_says(api, "护照请到市出入境管理窗口办理。", card.result["message_id"])
            kept = await api.wait_for_reply(STAFF)
            assert kept.text == NOTICES[Notice.KEPT].format(number=number, name="张三", where=KEPT_WHERE[Channel.WEB])
        # The page was closed, the bot restarted: the reply waits in the outbox.
        async with running(api, settings, web=True) as (_, port):
            inbox = await post(http, port, "/api/inbox", {"session": session, "after": 0})
            [late] = inbox["messages"]
            assert late["body"] == replies.STAFF_REPLY_PREFIX + "护照请到市出入境管理窗口办理。"
            assert [f["label"] for f in late["feedback"]] == ["👍 有帮助", "👎 没帮助"]
            again = await post(http, port, "/api/inbox", {"session": session, "after": late["id"]})
            assert again == {"messages": []}  # exactly once
            assert db_rows(settings, "SELECT count(*) FROM outbox") == [(0,)]  # seen: deleted
            follow = await post(http, port, "/api/ask", {"session": session, "text": "要带照片吗"})
            assert f"#{number}" in follow["messages"][0]["body"]
            assert "要带照片吗" in (await api.wait_for_reply(STAFF)).text


async def test_without_a_staff_group_nothing_promises_staff(mini_faq, make_settings):
    settings = make_settings(mini_faq, token=TOKEN, reload_interval=0)

    async with FakeBotApi() as api:
        settings_ = dataclasses.replace(settings, base_url=api.base_url)
        core = Core(settings_, Service.from_settings(settings_, secret="e2e-secret"))
        assert core.desk is None
        stop = asyncio.Event()
        task = asyncio.create_task(serve(core, build_channels(core), stop))
        try:
            await api.wait_polling()
            reply = await ask(api, UNANSWERABLE)
            person = await ask(api, "转人工")
            api.command("privacy")
            privacy = await api.wait_for_reply(RESIDENT)
        finally:
            stop.set()
            await asyncio.wait_for(task, 10)
        assert all(replies.HANDOFF_LABEL not in b["text"] for b in buttons(reply))
        for text in (reply.text, person.text):
            assert "转给" not in text and "会在这里回复" not in text
        assert person.text == replies.HUMAN_TEXT.format(where=replies.DEFAULT_CONTACT)
        assert "转人工" not in privacy.text


# --- WeChat -----------------------------------------------------------------------------------------
#
# WeChat's passive replies can only answer a message: a staff reply waits in the durable outbox and
# is shown above the answer to the resident's next message. The simulated WeChat server
# (tests/support/wechat_sim.py) signs and posts as WeChat does to the bot's real /wechat.

OPENID = "oWx3Q5handoff00000000000001"
OPENID_OTHER = "oWx3Q5handoff00000000000002"


@pytest.fixture
def wechat_settings(settings):
    return dataclasses.replace(settings, wechat_token=TEST_TOKEN)


async def wechat_says(http: aiohttp.ClientSession, port: int, text: str, openid: str = OPENID) -> str:
    """What WeChat shows the resident for `text` (the bot's passive reply)."""
    sim = WechatSim(f"http://127.0.0.1:{port}/wechat")
    reply = await sim.post(http, sim.text(openid, text))
    assert reply.status == 200 and reply.content, reply
    return reply.content


def numbered(content: str, label: str) -> str:
    """The number WeChat shows in front of a choice (`[2] 🙋 转人工`)."""
    found = re.search(rf"\[(\d+)\] {re.escape(label)}", content)
    assert found, content
    return found.group(1)


def wechat_outbox(settings) -> list[tuple]:
    return db_rows(settings, "SELECT resident, message FROM outbox WHERE channel = 'wechat'")


async def test_a_wechat_resident_hands_off_and_sees_the_staff_reply_once_with_the_next_message_after_a_restart(
    wechat_settings,
):
    settings = wechat_settings
    answer = "疫苗本可以到社区卫生服务中心补办，电话 0550-1234567。"

    async with FakeBotApi() as api, aiohttp.ClientSession() as http:
        async with running(api, settings, web=True) as (core, port):
            # The bot cannot answer: 转人工 is one of the numbered choices; its number opens a ticket.
            unanswered = await wechat_says(http, port, UNANSWERABLE)
            assert replies.HANDOFF_OFFER in unanswered
            opened = await wechat_says(http, port, numbered(unanswered, replies.HANDOFF_LABEL))
            number = number_in(opened)
            assert replies.TICKET_OPENED_TEXT.format(number=number, hours=replies.HOURS_UNSTATED_TEXT) in opened
            assert replies.NEXT_MESSAGE_TEXT in opened  # honest: the reply comes with their next message

            card = await api.wait_for_reply(STAFF)
            assert f"#{number}" in card.text and "微信公众号" in card.text and "疫苗本丢了" in card.text
            assert OPENID not in card.text and "13912345678" not in card.text

            staff_says(api, answer, card.result["message_id"])
            kept = await api.wait_for_reply(STAFF)
            assert kept.text == NOTICES[Notice.KEPT].format(
                number=number, name="张三", where=KEPT_WHERE[Channel.WECHAT]
            )
            # On disk, under the resident's hashed key: no OpenID in the outbox.
            [(resident, message)] = wechat_outbox(settings)
            assert resident == core.service.resident_key(f"wechat:{OPENID}") and OPENID not in message
            assert db_rows(settings, "SELECT channel, address FROM tickets") == [("wechat", OPENID)]

        # The bot restarts before the resident writes again: the reply is still there, shown once.
        async with running(api, settings, web=True) as (_, port):
            other = await wechat_says(http, port, "低保怎么申请", OPENID_OTHER)
            assert replies.STAFF_REPLY_PREFIX not in other  # another resident sees nothing of it
            first = await wechat_says(http, port, "好的，谢谢")
            staff_part, _, rest = first.partition(f"\n\n{replies.WECHAT_SEPARATOR}\n\n")
            assert staff_part.startswith(replies.STAFF_REPLY_PREFIX + answer)
            assert replies.STAFF_REPLY_FOOTER.format(number=number) in staff_part
            assert replies.WECHAT_FEEDBACK_HINT not in staff_part  # + / - would rate the answer below it
            assert replies.FOLLOW_UP_TEXT.format(number=number) in rest  # the message went to the ticket
            assert "居民补充：好的，谢谢" in (await api.wait_for_reply(STAFF)).text
            second = await wechat_says(http, port, "还需要带什么")
            assert replies.STAFF_REPLY_PREFIX not in second  # exactly once
            assert wechat_outbox(settings) == []  # shown: deleted
        api.assert_clean()


async def test_a_wechat_resident_hands_off_by_typing_or_after_a_downvote_and_learns_of_the_close(wechat_settings):
    settings = wechat_settings

    async with FakeBotApi() as api, aiohttp.ClientSession() as http:
        async with running(api, settings, web=True) as (core, port):
            # 👎 (a "-") on an answer offers 转人工; picking it hands off the rated question.
            await wechat_says(http, port, "低保怎么申请")
            offer = await wechat_says(http, port, "-")
            assert offer.startswith(replies.DOWNVOTE_TEXT)
            opened = await wechat_says(http, port, numbered(offer, replies.HANDOFF_LABEL))
            first = number_in(opened)
            card = await api.wait_for_reply(STAFF)
            entry = core.service.snapshot.faq.by_id["dibao-apply"]
            assert f"#{first}" in card.text and f"回答了「{entry.question}」" in card.text

            # A typed 转人工 hands off the resident's latest question.
            await wechat_says(http, port, "燃气费在哪里交", OPENID_OTHER)
            typed = await wechat_says(http, port, "转人工", OPENID_OTHER)
            second = number_in(typed)
            assert second != first and replies.NEXT_MESSAGE_TEXT in typed
            other_card = await api.wait_for_reply(STAFF)
            assert f"#{second}" in other_card.text and "燃气费在哪里交" in other_card.text

            # Staff answer and close the first ticket: both wait for the resident's next message.
            staff_says(api, "低保材料清单已发到社区，请去社区领取。", card.result["message_id"])
            await api.wait_for_reply(STAFF)
            await press(api, f"s:c:{first}", chat=STAFF, user=LI, message=card.result["message_id"])
            resolved = await api.wait_for_reply(STAFF)
            assert resolved.text == NOTICES[Notice.RESOLVED].format(number=first, name="李四")
            assert db_rows(settings, "SELECT status, address FROM tickets WHERE number = ?", first) == [
                (TicketStatus.CLOSED, None)
            ]
            back = await wechat_says(http, port, "低保怎么申请")
            shown = back.split(f"\n\n{replies.WECHAT_SEPARATOR}\n\n")
            assert shown[0].startswith(replies.STAFF_REPLY_PREFIX + "低保材料清单已发到社区，请去社区领取。")
            assert shown[1] == replies.TICKET_CLOSED_TEXT.format(number=first)
            assert shown[2].startswith("【低保怎么申请？】")  # closed: the bot answers again
            assert replies.STAFF_REPLY_PREFIX not in await wechat_says(http, port, "低保怎么申请")

            # /privacy on WeChat says what a hand-off keeps, and for how long.
            privacy = await wechat_says(http, port, "/privacy")
            assert f"最长保存 {settings.ticket_days} 天" in privacy and "公众号" in privacy
        api.assert_clean()


async def test_a_staff_reply_sent_while_the_bot_was_down_reaches_a_wechat_resident_with_their_next_message(
    wechat_settings,
):
    settings = wechat_settings

    async with FakeBotApi() as api, aiohttp.ClientSession() as http:
        async with running(api, settings, web=True) as (_, port):
            await wechat_says(http, port, "护照在哪里办")
            number = number_in(await wechat_says(http, port, "人工"))
            card = await api.wait_for_reply(STAFF)
        staff_says(api, "护照请到市出入境窗口办理。", card.result["message_id"])  # the bot is down
        async with running(api, settings, web=True) as (_, port):
            kept = NOTICES[Notice.KEPT].format(number=number, name="张三", where=KEPT_WHERE[Channel.WECHAT])
            await api.wait_for(lambda c: c.chat_id == STAFF and c.text == kept)  # relayed after the restart
            shown = await wechat_says(http, port, "谢谢")
            assert shown.startswith(replies.STAFF_REPLY_PREFIX + "护照请到市出入境窗口办理。")
            assert replies.STAFF_REPLY_PREFIX not in await wechat_says(http, port, "好的")
        assert wechat_outbox(settings) == []
