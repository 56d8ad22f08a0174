"""Two desks at once: the Telegram staff group (the fake Bot API, tests/support/botapi.py, on its own
thread) and the staff desk in a browser, on one bot. Each ticket has one state, whichever desk
acts: what one does, the other shows and is told; a reply to a ticket closed at the other desk
is refused, with a note, at either."""

from __future__ import annotations

import asyncio
import dataclasses
import threading
import time
from collections.abc import Callable

import httpx
import pytest

from servicebot.answering import replies
from servicebot.channels.tg_staff import NOTICES, RESOLVE_LABEL
from servicebot.conversation.ticket_view import Notice
from servicebot.staffdesk import pages

from support.botapi import TOKEN, FakeBotApi, button
from support.deskclient import DeskClient, inbox, open_ticket, signed_in, text_of, ticket_keys
from support.webserver import ServerThread
from support.wording import wording

pytestmark = pytest.mark.slow

STAFF = -1004000000001
LI = 3002  # 李四, in the staff group
RESIDENT = 100123
WAIT = 15.0


class ApiThread:
    """The fake Bot API on an event loop of its own thread; `run` a coroutine there."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="fake-bot-api", daemon=True)

    def run(self, coroutine, timeout: float = WAIT):
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def __enter__(self) -> ApiThread:
        self.thread.start()

        async def make() -> FakeBotApi:
            return await FakeBotApi().start()

        self.api = self.run(make())
        return self

    def __exit__(self, *exc: object) -> None:
        self.run(self.api.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


@pytest.fixture
def both(desk_settings):
    """(the fake Bot API thread, the running bot with a staff group and the desk)."""
    with ApiThread() as api:
        settings = dataclasses.replace(desk_settings, token=TOKEN, base_url=api.api.base_url, staff_chat_id=STAFF)
        with ServerThread(settings) as server:
            yield api, server


def until(check: Callable[[], object], what: str, timeout: float = WAIT):
    deadline = time.monotonic() + timeout
    while not (value := check()):
        assert time.monotonic() < deadline, f"not within {timeout:g} s: {what}"
        time.sleep(0.05)
    return value


def desk_client(server) -> DeskClient:
    return DeskClient(f"http://127.0.0.1:{server.settings.desk_port}")


def test_a_telegram_ticket_answered_at_the_desk_then_resolved_in_the_group(both):
    api_thread, server = both
    api = api_thread.api

    async def resident_hands_off():
        api.user_message("我家的狗走丢了能帮忙找吗", user_id=RESIDENT, first_name="王小明")
        reply = await api.wait_for_reply(RESIDENT)
        if replies.SUGGEST_TEXT in (reply.text or ""):
            api.callback_query(button(reply, replies.NONE_OF_THESE_LABEL)["callback_data"], chat_id=RESIDENT,
                               user_id=RESIDENT)  # fmt: skip
            reply = await api.wait_for_reply(RESIDENT)
        api.callback_query(button(reply, replies.HANDOFF_LABEL)["callback_data"], chat_id=RESIDENT, user_id=RESIDENT)
        await api.wait_for_reply(RESIDENT)
        return await api.wait_for(lambda c: c.method == "sendMessage" and c.chat_id == STAFF, timeout=WAIT)

    card = api_thread.run(resident_hands_off())
    staff = desk_client(server)
    signed_in(staff)
    listed = until(lambda: "还没送到" not in (t := text_of(staff.get("/desk/").text)) and t, "the card posted")
    assert "#1 · Telegram 私聊" in listed and "等待回复" in listed
    key = ticket_keys(staff.last.text)[0]

    sent = staff.form(f"/desk/t/{key}/reply", staff.get(f"/desk/t/{key}"), text="请联系社区网格员。")
    assert sent.headers["location"].endswith("done=sent")

    async def telegram_sees_it():
        to_resident = await api.wait_for_reply(RESIDENT)
        note = await api.wait_for(lambda c: c.chat_id == STAFF and "已转给居民" in (c.text or ""), timeout=WAIT)
        return to_resident, note

    to_resident, note = api_thread.run(telegram_sees_it())
    assert replies.STAFF_REPLY_PREFIX + "请联系社区网格员。" in to_resident.text
    assert note.text == NOTICES[Notice.SENT].format(number=1, name="张三")
    assert note.params["reply_parameters"]["message_id"] == card.result["message_id"]  # under the card

    async def li_resolves():
        data = button(card, RESOLVE_LABEL)["callback_data"]
        api.callback_query(data, chat_id=STAFF, user_id=LI, first_name="李四", message_id=card.result["message_id"])
        return await api.wait_for(lambda c: c.chat_id == STAFF and "已解决" in (c.text or "") and "李四" in c.text)

    api_thread.run(li_resolves())
    page = until(
        lambda: "已结束（李四）" in text_of((p := staff.get(f"/desk/t/{key}")).text) and p, "the desk shows it closed"
    )
    assert f"/desk/t/{key}/reply" not in page.text  # no reply box on a closed ticket
    late = staff.form(f"/desk/t/{key}/reply", page, text="补充一句")  # as from a tab opened before
    assert late.status_code == 409 and pages.DONE["closed"] in text_of(late.text)
    assert not [c for c in api.calls("sendMessage", chat_id=RESIDENT) if "补充一句" in (c.text or "")]
    staff.close()


def test_a_web_ticket_resolved_at_the_desk_refuses_a_late_reply_in_the_group(both):
    api_thread, server = both
    api = api_thread.api
    with httpx.Client(base_url=server.base_url, timeout=30) as resident:
        number = open_ticket(resident)
        card = api_thread.run(api.wait_for(lambda c: c.method == "sendMessage" and c.chat_id == STAFF, timeout=WAIT))
        assert "网页聊天" in card.text

        staff = desk_client(server)
        signed_in(staff)
        key = ticket_keys(staff.last.text)[0]
        done = staff.form(f"/desk/t/{key}/resolve", staff.get(f"/desk/t/{key}"))
        assert done.headers["location"].endswith("done=resolved")
        staff.close()

        async def the_group_hears_then_replies_too_late():
            resolved = await api.wait_for(lambda c: c.chat_id == STAFF and "已解决" in (c.text or ""), timeout=WAIT)
            api.user_message("迟到的回复", user_id=LI, chat_id=STAFF, chat_type="supergroup", first_name="李四",
                             reply_to_message_id=card.result["message_id"])  # fmt: skip
            refused = await api.wait_for(lambda c: c.chat_id == STAFF and "已经结束" in (c.text or ""), timeout=WAIT)
            return resolved, refused

        resolved, refused = api_thread.run(the_group_hears_then_replies_too_late())
        assert resolved.text == NOTICES[Notice.RESOLVED].format(number=number, name="张三")
        assert wording(NOTICES[Notice.CLOSED], number=number).search(refused.text)
        assert inbox(resident) == [replies.TICKET_CLOSED_TEXT.format(number=number)]
