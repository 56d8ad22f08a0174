"""The hand-off desk without Telegram: office hours, the ticket store on a real SQLite file,
the durable outbox, the conversation's side of 转人工, and the desk itself with a recording
staff room, a recording deliverer and a clock the test moves (24-hour follow-ups, expiry
after `ticket_days`, purge after `retention_days`, a crash between recording a staff reply
and delivering it)."""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import logging
import re
import sqlite3
from concurrent.futures import ThreadPoolExecutor

import pytest

from servicebot.answering import replies
from servicebot.answering.replies import Button, Reply
from servicebot.answering.service import Service
from servicebot.channels.tg_staff import CARD_AGAIN, FOLLOW_UP, NOTICES, card_text, listing_text, ticket_line
from servicebot.config import load_settings
from servicebot.conversation.buttons import decode_button, encode_button
from servicebot.conversation.chat import Conversation, asks_for_person
from servicebot.conversation.delivery import Delivered, Delivery
from servicebot.conversation.events import Ask, Asked, Command, HandOff, HandOffKind, Press, Resident, Said, Text
from servicebot.conversation.hours import CHINA, HoursError, parse_hours, when
from servicebot.conversation.ticket_view import Notice, age_text, status_text
from servicebot.conversation.tickets import Desk
from servicebot.errors import ConfigError, StaffRoomError
from servicebot.records import TICKET_KEY_RE, ButtonKind, Channel, Status, TicketId, TicketStatus, Via
from servicebot.storage.db import connect
from servicebot.storage.migrations import MIGRATIONS
from servicebot.storage.outbox import MAX_WAITING, Outbox
from servicebot.storage.ticket_store import TicketStore
from servicebot.storage.tickets import BotSaid

from support.fakes import Clock as StandingClock, converse
from support.waiting import until
from support.wording import wording

pytestmark = [pytest.mark.anyio, pytest.mark.deadline(20)]

TG = Resident(Channel.TELEGRAM, 4242, chat=4242)
TG_OTHER = Resident(Channel.TELEGRAM, 4343, chat=4343)
WEB = Resident(Channel.WEB, "c" * 32)
START = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC)  # a Monday, 9:00 in China
NOT_REACHED = wording(replies.TICKET_NOT_REACHED_TEXT)


def shown(said: Said) -> Reply:
    """The message `said` shows (the test expects one)."""
    assert said.reply is not None, said
    return said.reply


# --- office hours ----------------------------------------------------------------------------------


def test_office_hours_are_read_described_and_answer_when_staff_are_in():
    hours = parse_hours("mon-fri 08:30-12:00,14:30-17:30; sat 09:00-12:00")
    assert hours.describe() == "周一至周五 8:30-12:00、14:30-17:30；周六 9:00-12:00"
    monday_nine = dt.datetime(2026, 3, 2, 9, 0, tzinfo=CHINA)
    assert hours.is_open(monday_nine) and not hours.is_open(monday_nine.replace(hour=13))
    assert hours.next_open(monday_nine.replace(hour=13)) == monday_nine.replace(hour=14, minute=30)
    saturday_noon = dt.datetime(2026, 3, 7, 12, 0, tzinfo=CHINA)
    monday = hours.next_open(saturday_noon)
    assert monday == dt.datetime(2026, 3, 9, 8, 30, tzinfo=CHINA)
    assert when(monday, saturday_noon) == "周一 8:30"
    assert when(monday_nine.replace(hour=14, minute=30), monday_nine) == "今天 14:30"
    assert when(monday_nine + dt.timedelta(days=1), monday_nine.replace(hour=18)) == "明天 9:00"
    assert not parse_hours("").stated and parse_hours("").next_open(monday_nine) is None
    assert parse_hours("mon,wed 00:00-24:00").describe() == "周一 0:00-24:00；周三 0:00-24:00"


@pytest.mark.parametrize(
    "text",
    [
        "weekdays 08:00-12:00",
        "mon 8-12",
        "fri-mon 08:00-12:00",
        "mon 12:00-08:00",
        "mon",
        "mon 08:00-12:00,11:00-13:00",
    ],
)
def test_unreadable_office_hours_say_what_is_wrong(text):
    with pytest.raises(HoursError):
        parse_hours(text)
    with pytest.raises(ConfigError, match="invalid staff_hours"):
        load_settings(env={"SERVICEBOT_STAFF_HOURS": text})


def test_staff_settings_are_checked():
    with pytest.raises(ConfigError, match=r"staff_chat_id.*not a group"):
        load_settings(env={"SERVICEBOT_STAFF_CHAT_ID": "12345"})
    with pytest.raises(ConfigError, match="ticket_days"):
        load_settings(env={"SERVICEBOT_TICKET_DAYS": "0"})
    settings = load_settings(env={"SERVICEBOT_STAFF_CHAT_ID": "-100123", "SERVICEBOT_TICKET_DAYS": "7"})
    assert (settings.staff_chat_id, settings.ticket_days, settings.handoff) == (-100123, 7, False)  # no token
    assert load_settings(env={"SERVICEBOT_STAFF_CHAT_ID": "-100123", "SERVICEBOT_TOKEN": "1:a"}).handoff


# --- the conversation's side -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text", ["人工", "转人工", "找工作人员", "我要转人工！", "帮我转接人工客服", "人工吧", "您好，转人工"]
)
def test_a_request_for_a_person_is_recognised(service, text):
    assert asks_for_person(text, service.snapshot.index.match(text))


@pytest.mark.parametrize("text", ["人工智能是什么", "工作人员几点下班", "低保怎么申请", "😀", "人工湖在哪里"])
def test_a_question_that_mentions_staff_is_not_a_request_for_a_person(service, text):
    assert not asks_for_person(text, service.snapshot.index.match(text))
    assert not asks_for_person(text, None)


def test_hand_off_buttons_fit_and_come_back():
    service_free = "e" * 12
    data = encode_button(Button("🙋 转人工", ButtonKind.HANDOFF), service_free, Via.TOPIC)
    assert data == f"h:{service_free}" and len(data) <= 64
    tap = decode_button(data, snapshot=None)  # type: ignore[arg-type]  # no FAQ lookup for these
    assert tap is not None and (tap.kind, tap.ref) == (ButtonKind.HANDOFF, service_free)
    back = decode_button(encode_button(Button("x", ButtonKind.BACK), "", Via.TOPIC), snapshot=None)  # type: ignore[arg-type]
    assert back is not None and back.kind == ButtonKind.BACK
    assert decode_button("h:not-hex", snapshot=None) is None  # type: ignore[arg-type]


@pytest.fixture
def service(mini_faq, make_settings):
    return Service.from_settings(make_settings(mini_faq), secret="test-secret")


class FakeDesk:
    """Records what the conversation hands it."""

    def __init__(self, active: int | None = None):
        self.number = active
        self.taken: list[HandOff] = []
        self.remembered: list[Asked] = []

    def active(self, key):
        return self.number

    def remember(self, key, asked):
        self.remembered.append(asked)

    async def take(self, resident, key, handoff):
        self.taken.append(handoff)
        return Said(replies.in_ticket(f"#{handoff.number or 7}"))


def test_without_a_desk_the_bot_promises_no_staff(service):
    conversation = Conversation(service)
    unanswered = converse(conversation, TG, Text("护照在哪里办"))
    assert unanswered.reply is not None and unanswered.status == Status.UNANSWERED
    assert all(b.kind != ButtonKind.HANDOFF for b in unanswered.reply.buttons)
    person = converse(conversation, TG, Text("转人工"))
    assert person.handoff is None and person.reply is not None
    assert person.reply.body == replies.HUMAN_TEXT.format(where=replies.DEFAULT_CONTACT)  # the honest small talk
    down = converse(conversation, TG, Press("f:-:" + unanswered.ref))
    assert down.reply is None and down.ack == replies.FEEDBACK_THANKS["-"]
    for said in (unanswered, person):
        assert "转给" not in said.text and "会在这里回复" not in said.text
    assert "转人工" not in converse(conversation, TG, Ask(Command.PRIVACY)).text


async def test_with_a_desk_the_conversation_offers_and_hands_off(service):
    desk = FakeDesk()
    conversation = Conversation(service, desk=desk)
    unanswered = await conversation.handle(TG, Text("护照在哪里办"))
    assert unanswered.reply is not None and unanswered.reply.rows[0][0].kind == ButtonKind.HANDOFF
    assert replies.HANDOFF_OFFER in unanswered.reply.body
    assert [a.question for a in desk.remembered] == ["护照在哪里办"]
    pressed = await conversation.handle(TG, Press(f"h:{unanswered.ref}"))
    assert desk.taken == [HandOff(HandOffKind.OPEN, ref=unanswered.ref)] and pressed.reply is not None
    typed = await conversation.handle(TG, Text("我要找工作人员"))
    assert typed.handoff == HandOff(HandOffKind.OPEN)
    answered = await conversation.handle(TG, Text("低保怎么申请"))
    down = await conversation.handle(TG, Press(f"f:-:{answered.ref}"))
    assert down.reply is not None and down.reply.body == replies.DOWNVOTE_TEXT and down.ref == answered.ref
    # A residents' group: no staff reply should reach everyone there.
    group = Resident(Channel.TELEGRAM, 1, chat=-5, chat_type="supergroup")
    assert all(
        b.kind != ButtonKind.HANDOFF for b in shown(await conversation.handle(group, Text("护照在哪里办"))).buttons
    )
    assert shown(await conversation.handle(group, Text("转人工"))).body == replies.PRIVATE_ONLY_TEXT
    privacy = (await conversation.handle(TG, Ask(Command.PRIVACY))).text
    assert f"最长保存 {service.settings.ticket_days} 天" in privacy


def test_a_complaint_offers_a_person_for_the_latest_question(service):
    desk = FakeDesk()
    conversation = Conversation(service, desk=desk)
    converse(conversation, TG, Text("护照在哪里办"))
    complaint = converse(conversation, TG, Text("垃圾机器人"))
    assert complaint.status == Status.SMALL_TALK and complaint.reply is not None
    assert complaint.reply.rows[0][0].kind == ButtonKind.HANDOFF
    assert encode_button(complaint.reply.rows[0][0], complaint.ref, complaint.via) == "h:"  # the latest question
    assert [a.question for a in desk.remembered] == ["护照在哪里办"]  # small talk is not a question to hand off
    greeting = converse(conversation, TG, Text("你好"))
    assert all(b.kind != ButtonKind.HANDOFF for b in shown(greeting).buttons)


async def test_while_a_ticket_is_open_what_the_resident_types_goes_to_it(service):
    desk = FakeDesk(active=12)
    conversation = Conversation(service, desk=desk)
    said = await conversation.handle(TG, Text("低保怎么申请"))
    assert desk.taken == [HandOff(HandOffKind.ADD, text="低保怎么申请", number=12)]
    assert said.reply is not None and "#12" in said.reply.body
    assert shown(await conversation.handle(TG, Text("/help"))).body == replies.HELP_TEXT  # commands still work
    await conversation.handle(TG, Press("b"))
    assert desk.taken[-1] == HandOff(HandOffKind.LEAVE)


# --- the store and the outbox -----------------------------------------------------------------------


def test_a_blank_database_gets_every_table_and_an_older_one_is_migrated(tmp_path):
    store = TicketStore(tmp_path / "new.sqlite3")
    assert store.listing() == []
    store.close()
    old = tmp_path / "old.sqlite3"
    conn = connect(old, create=True)
    for migration in MIGRATIONS[:3]:
        migration(conn)
    conn.execute("PRAGMA user_version = 3")
    conn.close()
    store = TicketStore(old)
    assert store.listing() == []
    store.close()
    conn = sqlite3.connect(old)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS) >= 6
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    expected = {"tickets", "ticket_messages", "room_messages", "outbox", "outbox_once", "meta"}
    assert expected | {"staff_accounts", "staff_sessions"} <= tables


def test_tickets_of_an_older_log_get_keys_of_their_own(tmp_path):
    path = tmp_path / "four.sqlite3"
    conn = connect(path, create=True)
    for migration in MIGRATIONS[:4]:
        migration(conn)
    for _ in range(3):
        conn.execute(
            "INSERT INTO tickets (opened_at, channel, resident, question, bot_said, status, last_activity)"
            " VALUES ('2026-03-02 01:00:00.000000', 'telegram', ?, '问题', '{}', 'open', '2026-03-02 01:00:00.000000')",
            ("k" * 16,),
        )
    conn.execute("PRAGMA user_version = 4")
    conn.close()
    store = TicketStore(path)
    keys = [t.key for t in store.listing()]
    assert len(set(keys)) == 3 and all(TICKET_KEY_RE.fullmatch(k) for k in keys)
    store.close()


def test_a_log_with_the_staff_desk_tables_gets_ticket_keys_and_keeps_its_accounts(tmp_path):
    """A log at version 5 (the staff desk's accounts and sessions) is migrated to 6 (ticket
    keys, sending marks, the outbox's names, `meta`) with its tickets and accounts intact."""
    path = tmp_path / "five.sqlite3"
    conn = connect(path, create=True)
    for migration in MIGRATIONS[:5]:
        migration(conn)
    conn.execute(
        "INSERT INTO tickets (opened_at, channel, resident, question, bot_said, status, last_activity)"
        " VALUES ('2026-03-02 01:00:00.000000', 'web', ?, '问题', '{}', 'open', '2026-03-02 01:00:00.000000')",
        ("k" * 16,),
    )
    conn.execute(
        "INSERT INTO staff_accounts (name, password, created_at, password_at)"
        " VALUES ('张三', 'hash', '2026-03-01 00:00:00.000000', '2026-03-01 00:00:00.000000')"
    )
    conn.execute("PRAGMA user_version = 5")
    conn.close()
    store = TicketStore(path)
    [ticket] = store.listing()
    assert TICKET_KEY_RE.fullmatch(ticket.key) and store.find(ticket.id) == ticket
    store.close()
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 6 == len(MIGRATIONS)
    assert conn.execute("SELECT name FROM staff_accounts").fetchall() == [("张三",)]
    conn.close()


def test_the_store_masks_what_it_keeps_and_forgets_the_address_when_closed(tmp_path):
    store = TicketStore(tmp_path / "t.sqlite3")
    ticket = store.open_ticket(
        channel=Channel.TELEGRAM,
        resident="k" * 16,
        address="4242",
        ref="ab" * 6,
        question="我的手机 13912345678 怎么改",
        bot_said=BotSaid(Status.UNANSWERED),
        at=START,
    )
    assert ticket.question == "我的手机 [手机号] 怎么改" and ticket.earlier == 0
    store.posted(ticket.number, -100, 55)
    pending, new = store.add_staff_reply(
        ticket.id, source="-100:60", text="请拨 0550-1234567", staff_name="张三", ref="cd" * 6, at=START
    )
    assert new and pending is not None and pending.text == "请拨 0550-1234567"  # as written, until delivered
    again, new = store.add_staff_reply(
        ticket.id, source="-100:60", text="请拨 0550-1234567", staff_name="张三", ref="ef" * 6, at=START
    )
    assert not new and again == pending  # the same update again: the same undelivered reply
    after = store.reply_delivered(pending.id, "sent", START)
    assert after is not None and after.status == TicketStatus.ANSWERED and after.answered_by == "张三"
    assert store.pending_replies() == []
    seen = store.add_staff_reply(ticket.id, source="-100:60", text="x", staff_name="张三", ref="ef" * 6, at=START)
    assert seen == (None, False)
    store.resolve(ticket.id, "李四", START)
    closed = store.ticket(ticket.number)
    assert closed is not None and (closed.status, closed.address, closed.closed_by) == ("closed", None, "李四")
    assert status_text(closed) == "已结束（李四）"
    conn = sqlite3.connect(tmp_path / "t.sqlite3")
    texts = [r[0] for r in conn.execute("SELECT text FROM ticket_messages")]
    assert texts == ["请拨 [电话]"] and conn.execute(
        "SELECT count(*) FROM ticket_messages WHERE pending IS NOT NULL"
    ).fetchone() == (0,)


def test_the_outbox_keeps_messages_until_seen_and_across_reopening(tmp_path):
    now = [1_800_000_000.0]
    outbox = Outbox(tmp_path / "o.sqlite3", keep_days=30, clock=lambda: now[0])
    first = outbox.put(Channel.WEB, "k1", {"body": "一"})
    second = outbox.put(Channel.WEB, "k1", {"body": "二"})
    outbox.put(Channel.WEB, "k2", {"body": "别人的"})
    assert first is not None and second is not None  # put without `once` always stores
    assert second > first >= 1_800_000_000_000_000  # ids grow from the clock
    outbox.close()
    outbox = Outbox(tmp_path / "o.sqlite3", keep_days=30, clock=lambda: now[0])
    assert [m["body"] for m in outbox.after(Channel.WEB, "k1", 0)] == ["一", "二"]
    assert [m["body"] for m in outbox.after(Channel.WEB, "k1", first)] == ["二"]
    assert outbox.after(Channel.WEB, "k1", second) == []
    assert outbox.after(Channel.WEB, "k1", 0) == []  # seen ones were deleted
    assert outbox.take(Channel.WEB, "k2") == [{"body": "别人的"}] and outbox.take(Channel.WEB, "k2") == []
    for n in range(MAX_WAITING + 5):
        outbox.put(Channel.WECHAT, "k3", {"body": str(n)})
    kept = outbox.take(Channel.WECHAT, "k3")
    assert len(kept) == MAX_WAITING and kept[-1]["body"] == str(MAX_WAITING + 4)
    outbox.put(Channel.WEB, "k4", {"body": "old"})
    now[0] += 31 * 86400
    assert outbox.after(Channel.WEB, "k4", 0) == [] and outbox.purge() == 1


def test_a_message_put_again_under_its_name_is_kept_once_also_after_it_was_shown(tmp_path):
    """The desk delivers a staff reply again when the bot died before noting the first
    delivery: the resident of the web chat or WeChat must see it once."""
    now = [1_800_000_000.0]
    outbox = Outbox(tmp_path / "o.sqlite3", keep_days=30, clock=lambda: now[0])
    assert outbox.put(Channel.WECHAT, "k", {"text": "答复"}, once="ref1") is not None
    assert outbox.put(Channel.WECHAT, "k", {"text": "答复"}, once="ref1") is None
    assert outbox.take(Channel.WECHAT, "k") == [{"text": "答复"}]
    assert outbox.put(Channel.WECHAT, "k", {"text": "答复"}, once="ref1") is None  # shown already
    assert outbox.take(Channel.WECHAT, "k") == []
    assert outbox.put(Channel.WEB, "k", {"body": "答复"}, once="ref1") is not None  # names are per channel
    now[0] += 31 * 86400
    assert outbox.purge() == 1
    assert outbox.put(Channel.WECHAT, "k", {"text": "答复"}, once="ref1") is not None  # forgotten with it
    outbox.close()


def test_the_outbox_gives_each_message_once_to_takers_at_the_same_moment_and_forgets_old_ones(tmp_path):
    now = [1_800_000_000.0]
    path = tmp_path / "o.sqlite3"
    outboxes = [Outbox(path, keep_days=30, clock=lambda: now[0]) for _ in range(4)]  # a connection each
    for n in range(40):
        outboxes[0].put(Channel.WECHAT, "k", {"text": str(n)})
    with ThreadPoolExecutor(8) as pool:
        taken = list(pool.map(lambda n: outboxes[n % 4].take(Channel.WECHAT, "k"), range(16)))
    assert sorted(int(m["text"]) for batch in taken for m in batch) == list(range(40))  # each once
    assert outboxes[0].take(Channel.WECHAT, "k") == []

    outboxes[0].put(Channel.WECHAT, "old", {"text": "旧的"})
    now[0] += 31 * 86400
    assert outboxes[1].take(Channel.WECHAT, "old") == []  # older than keep_days: never shown
    outboxes[0].put(Channel.WECHAT, "old", {"text": "旧的"})
    now[0] += 31 * 86400
    outboxes[0].put(Channel.WEB, "new", {"body": "新的"})  # putting deletes what is too old
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT resident FROM outbox").fetchall() == [("new",)]
    conn.close()
    for outbox in outboxes:
        outbox.close()


# --- the desk -----------------------------------------------------------------------------------------


class Clock(StandingClock):
    """The desk's clock: a time of day, starting at START (a Monday morning in China)."""

    def __init__(self, now: dt.datetime = START) -> None:
        super().__init__(now)


class Room:
    chat_id = -1001

    def __init__(self):
        self.ids = itertools.count(100)
        self.cards, self.follow_ups, self.notes = [], [], []
        self.down = False

    async def post_ticket(self, card):
        if self.down:
            raise StaffRoomError("Forbidden: bot was kicked from the supergroup chat")
        self.cards.append(card)
        return next(self.ids)

    async def post_follow_up(self, ticket, card_message, text):
        if self.down:
            raise StaffRoomError("Forbidden: bot was kicked from the supergroup chat")
        self.follow_ups.append((ticket.number, card_message, text))
        return next(self.ids)

    async def tell(self, number, notice, *, reply_to=None, name="", channel=""):
        self.notes.append((number, notice, name))
        return next(self.ids)


class Inbox:
    def __init__(self):
        self.got: list[tuple[Resident, Said]] = []
        self.result = Delivered.SENT

    async def deliver(self, resident, said):
        if self.result:
            self.got.append((resident, said))
        return self.result

    def texts(self, resident=TG) -> list[str]:
        return [
            s.text for r, s in self.got if r.channel == resident.channel and str(r.address) == str(resident.address)
        ]


@pytest.fixture
def desk_parts(mini_faq, make_settings):
    settings = make_settings(mini_faq, token="1:a", staff_chat_id=-1001, staff_hours="mon-fri 08:30-12:00,14:30-17:30")
    service = Service.from_settings(settings, secret="desk-secret")
    inbox = Inbox()
    delivery = Delivery()
    delivery.register(Channel.TELEGRAM, inbox)
    delivery.register(Channel.WEB, inbox)
    return settings, service, delivery, inbox


def make_desk(desk_parts, clock):
    settings, service, delivery, _ = desk_parts
    desk = Desk(settings, service, delivery, clock=clock)
    desk.retry_min, desk.retry_max = 0.05, 0.2
    return desk


def key(service, resident):
    return Conversation(service).key(resident)


async def staff_says(desk, *, replied_to, message, text, name="张三", named=None):
    """What the staff room does with a staff member's reply to one of its messages: the
    ticket that message belongs to, then the reply to it (None: no ticket of this log)."""
    ticket = await desk.room_ticket(Room.chat_id, replied_to, named)
    if ticket is None:
        return None
    return await desk.staff_reply(ticket, source=f"{Room.chat_id}:{message}", text=text, name=name)


async def test_a_ticket_is_opened_posted_answered_and_expires(desk_parts):
    settings, service, _, inbox = desk_parts

    clock, room = Clock(), Room()
    desk = make_desk(desk_parts, clock)
    await desk.open()
    await desk.start(room)
    conversation = Conversation(service, desk=desk)
    asked = await conversation.handle(TG, Text("护照在哪里办"))
    opened = await conversation.handle(TG, Press(f"h:{asked.ref}"))
    assert wording(replies.TICKET_OPENED_TEXT, number=1).search(opened.text)
    assert replies.HOURS_OPEN_TEXT.format(hours="周一至周五 8:30-12:00、14:30-17:30") in opened.text
    await until(lambda: room.cards, "the card")
    [card] = room.cards
    assert (card.number, card.question, card.status, card.earlier) == (1, "护照在哪里办", "unanswered", 0)

    # A staff reply reaches the resident; the same update again does nothing.
    relayed = await staff_says(desk, replied_to=100, message=900, text="去出入境窗口")
    assert relayed.notice == Notice.SENT
    assert inbox.texts()[-1].startswith(replies.STAFF_REPLY_PREFIX + "去出入境窗口")
    again = await staff_says(desk, replied_to=100, message=900, text="去出入境窗口")
    assert again.notice is None and len(inbox.texts()) == 1
    assert await staff_says(desk, replied_to=5, message=901, text="x") is None

    # Writing again within 24 h goes to the ticket; a day later it is a new question.
    me = key(service, TG)
    clock.now += dt.timedelta(hours=23)
    assert desk.active(me) == 1
    await conversation.handle(TG, Text("还要带照片吗"))
    await until(lambda: room.follow_ups, "the follow-up")
    assert room.follow_ups == [(1, 100, "还要带照片吗")]
    clock.now += dt.timedelta(hours=24, seconds=1)
    assert desk.active(me) is None
    assert (await conversation.handle(TG, Text("低保怎么申请"))).status == Status.ANSWERED

    # Outside office hours the resident hears when staff are next in.
    clock.now = dt.datetime(2026, 3, 7, 4, 0, tzinfo=dt.UTC)  # Saturday noon in China
    other = await conversation.handle(TG_OTHER, Text("转人工"))
    assert wording(replies.HOURS_CLOSED_TEXT, next="周一 8:30").search(other.text)

    # After ticket_days the address is gone; a staff reply then is not relayed.
    await desk.stop()
    clock.now = START + dt.timedelta(days=settings.ticket_days, seconds=1)
    await desk.start(room)
    await until(lambda: desk.store.ticket(1).status == TicketStatus.CLOSED, "the ticket to expire")
    assert desk.store.ticket(1).address is None and status_text(desk.store.ticket(1)) == "已结束（到期）"
    late = await staff_says(desk, replied_to=100, message=902, text="补充", name="李四")
    assert late.notice == Notice.CLOSED and len(inbox.texts()) == 1

    # After retention_days the ticket is deleted.
    await desk.stop()
    clock.now = START + dt.timedelta(days=settings.retention_days, seconds=1)
    await desk.start(room)
    await until(lambda: desk.store.ticket(1) is None, "the ticket to be purged")
    await desk.stop()
    await desk.close()


async def test_a_reply_recorded_but_not_delivered_before_a_crash_is_delivered_once_after(desk_parts):
    _, service, _, inbox = desk_parts

    clock, room = Clock(), Room()
    desk = make_desk(desk_parts, clock)
    await desk.open()
    ticket = await asyncio.to_thread(
        desk.store.open_ticket,
        channel=Channel.TELEGRAM,
        resident=key(service, TG),
        address="4242",
        ref=None,
        question="问题",
        bot_said=BotSaid(),
        at=START,
    )
    await asyncio.to_thread(desk.store.posted, ticket.number, room.chat_id, 100)
    # The process died after recording the reply and before delivering it.
    desk.store.add_staff_reply(ticket.id, source="-1001:7", text="答复", staff_name="张三", ref="a" * 12, at=START)
    await desk.close()

    desk = make_desk(desk_parts, clock)
    await desk.open()
    await desk.start(room)
    await until(lambda: inbox.texts(), "the delivery")
    await until(lambda: room.notes, "the note to staff")
    assert room.notes == [(ticket.number, Notice.SENT, "张三")]
    # The update comes again (Telegram had not been told it was handled): not relayed twice.
    relayed = await staff_says(desk, replied_to=100, message=7, text="答复")
    assert relayed.notice is None and len(inbox.texts()) == 1
    await desk.stop()
    await desk.close()


async def test_an_unreachable_room_is_told_once_retried_and_a_failing_delivery_waits(desk_parts):
    _, service, _, inbox = desk_parts

    clock, room = Clock(), Room()
    room.down = True
    desk = make_desk(desk_parts, clock)
    await desk.open()
    await desk.start(room)
    conversation = Conversation(service, desk=desk)
    await conversation.handle(TG, Text("转人工"))
    await until(lambda: any(map(NOT_REACHED.search, inbox.texts())), "the resident told")
    assert desk.room_down and desk.store.health().unposted == 1
    room.down = False
    await until(lambda: room.cards, "the retried card")
    reached = wording(replies.TICKET_REACHED_TEXT)
    await until(lambda: any(map(reached.search, inbox.texts())), "the resident told again")
    assert any(map(NOT_REACHED.search, inbox.texts())) and desk.store.health().unposted == 0

    # The resident's channel cannot take the reply now: kept, retried, delivered once.
    inbox.result = Delivered.RETRY
    relayed = await staff_says(desk, replied_to=100, message=8, text="稍后答复", name="李四")
    assert relayed.notice == Notice.RETRYING and desk.store.health().undelivered == 1
    inbox.result = Delivered.SENT
    await until(lambda: any("稍后答复" in t for t in inbox.texts()), "the retried delivery")
    await until(lambda: (1, Notice.SENT, "李四") in room.notes, "the ✅ after the retry")
    assert sum("稍后答复" in t for t in inbox.texts()) == 1

    # A resident who blocked the bot: the ticket is marked, the address forgotten.
    inbox.result = Delivered.GONE
    gone = await staff_says(desk, replied_to=100, message=9, text="还在吗", name="李四")
    assert gone.notice == Notice.GONE
    ticket = desk.store.ticket(1)
    assert ticket.status == TicketStatus.UNREACHABLE and ticket.address is None
    assert desk.active(key(service, TG)) is None
    await desk.stop()
    await desk.close()


async def test_a_forged_button_cannot_hand_off_someone_elses_question(desk_parts):
    service = desk_parts[1]

    desk = make_desk(desk_parts, Clock())
    await desk.open()
    conversation = Conversation(service, desk=desk)
    theirs = await conversation.handle(TG_OTHER, Text("我家的房产证丢了怎么办"))
    said = await conversation.handle(TG, Press(f"h:{theirs.ref}"))
    ticket = desk.store.ticket(1)
    assert ticket.question == "" and replies.WRITE_QUESTION_TEXT in said.text
    await desk.close()


async def test_residents_of_a_channel_that_can_only_answer_are_told_when_a_staff_reply_shows(desk_parts):
    service, delivery, inbox = desk_parts[1], desk_parts[2], desk_parts[3]
    delivery.register(Channel.WECHAT, inbox, answer_only=True)
    wechat = Resident(Channel.WECHAT, "oWx3Q5resident0000000000009")

    desk = make_desk(desk_parts, Clock())
    await desk.open()
    conversation = Conversation(service, desk=desk)
    for resident in (TG, wechat):
        asked = await conversation.handle(resident, Text("护照在哪里办"))
        opened = await conversation.handle(resident, Press(f"h:{asked.ref}"))
        again = await conversation.handle(resident, Press(f"h:{asked.ref}"))
        told = resident.channel == Channel.WECHAT
        assert "人工咨询 #" in opened.text and (replies.NEXT_MESSAGE_TEXT in opened.text) == told
        assert "已经转给工作人员" in again.text and (replies.NEXT_MESSAGE_TEXT in again.text) == told
    await desk.close()


def test_ages_read_as_staff_say_them():
    now = START
    assert [age_text(now - dt.timedelta(seconds=s), now) for s in (5, 300, 7200, 3 * 86400)] == [
        "刚刚",
        "5 分钟前",
        "2 小时前",
        "3 天前",
    ]


async def test_a_reply_to_a_card_whose_id_was_never_recorded_finds_its_ticket_by_number_and_key(desk_parts):
    """The bot stopped between posting a card and recording its message id: the card is
    posted again after the restart, and a staff reply to the first one is still relayed —
    found by the number and key the card shows, never by its number alone."""
    service, inbox = desk_parts[1], desk_parts[3]

    desk = make_desk(desk_parts, Clock())
    await desk.open()
    await Conversation(service, desk=desk).handle(TG, Text("转人工"))
    desk.store.posted(1, -1001, 200)
    lost_card = card_text(desk.card(desk.store.ticket(1)))
    line = ticket_line(re.sub("<[^>]+>", "", lost_card))
    assert line is not None, lost_card
    number, named = line
    assert named is not None, lost_card  # the card names the ticket's key
    assert named == desk.store.ticket(1).id and number == 1
    relayed = await staff_says(desk, replied_to=150, message=9, text="您好", named=named)
    assert relayed.notice == Notice.SENT and inbox.texts()[-1].startswith(replies.STAFF_REPLY_PREFIX + "您好")
    assert desk.store.ticket_for_room_message(-1001, 150) == named  # recorded from now on
    assert await staff_says(desk, replied_to=151, message=10, text="x", named=TicketId(1, "ZZZZZZ")) is None
    assert await staff_says(desk, replied_to=152, message=11, text="x", named=TicketId(99, named.key)) is None
    assert await staff_says(desk, replied_to=153, message=12, text="x") is None  # a number alone is not enough
    assert await staff_says(desk, replied_to=200, message=13, text="x", named=TicketId(1, "ZZZZZZ")) is None
    assert len(inbox.texts()) == 1
    await desk.close()


def test_the_ticket_a_staff_group_message_is_about_is_read_from_how_it_begins():
    ticket = TicketId(32, "K7QX2M")
    for notice in Notice:
        assert ticket_line(NOTICES[notice].format(number=31, name="张三", days=30, where="")) == (31, None)
    assert ticket_line(FOLLOW_UP.format(label=ticket.label, text="补充")) == (32, ticket)
    assert ticket_line(listing_text([], START)) is None
    assert ticket_line("未结束的人工咨询（2 个）：\n#3 · 刚刚") is None


async def test_what_was_being_sent_when_the_bot_died_is_sent_again_and_counted(desk_parts, caplog):
    """Telegram cannot say whether a message arrived: a card, a resident's message for staff
    or a staff reply that was being sent when the bot died is sent again — the card saying it
    may be there twice — and each is counted in the log."""
    service, inbox = desk_parts[1], desk_parts[3]

    with caplog.at_level(logging.INFO):
        clock, room = Clock(), Room()
        desk = make_desk(desk_parts, clock)
        await desk.open()
        first = await Conversation(service, desk=desk).handle(TG, Text("转人工"))
        assert "#1" in first.text
        second = await Conversation(service, desk=desk).handle(TG_OTHER, Text("转人工"))
        assert "#2" in second.text
        store = desk.store
        await asyncio.to_thread(store.posting, 1)  # the card of #1 was on its way...
        await asyncio.to_thread(store.posted, 2, room.chat_id, 100)  # #2's card made it
        row = store.ticket(2)
        message = store.add_resident_message(row.id, "补充", START)
        store.sending(message)  # ...and so were a follow-up of #2
        pending, _ = store.add_staff_reply(
            row.id, source="-1001:7", text="答复", staff_name="张三", ref="a" * 12, at=START
        )
        store.sending(pending.id)  # ...and a staff reply in #2, when the bot died
        await desk.close()

        desk = make_desk(desk_parts, clock)
        await desk.open()
        await desk.start(room)
        await until(lambda: room.cards and room.follow_ups and inbox.texts(TG_OTHER), "everything sent again")
        await desk.stop()
        [card] = room.cards
        assert card.number == 1 and card.again and CARD_AGAIN in card_text(card)
        assert [f[2] for f in room.follow_ups] == ["补充"]
        assert [t.split("\n")[0] for t in inbox.texts(TG_OTHER)] == [replies.STAFF_REPLY_PREFIX + "答复"]
        assert desk.store.pending_replies() == [] and desk.store.unposted() == []
        await desk.close()
    again = [r.getMessage() for r in caplog.records if "sending again" in r.getMessage()]
    assert sorted(line.rsplit(": ", 1)[1] for line in again) == [
        "a message for ticket #2",
        "a staff reply in ticket #2",
        "the card of ticket #1",
    ]


async def test_a_card_sent_and_recorded_is_not_marked_as_sent_again(desk_parts, caplog):
    service = desk_parts[1]

    with caplog.at_level(logging.INFO):
        room = Room()
        desk = make_desk(desk_parts, Clock())
        await desk.open()
        await desk.start(room)
        await Conversation(service, desk=desk).handle(TG, Text("转人工"))
        await until(lambda: room.cards, "the card")
        await desk.stop()
        assert not room.cards[0].again and CARD_AGAIN not in card_text(room.cards[0])
        assert not desk.store.ticket(1).posting
        await desk.close()
    assert not [r for r in caplog.records if "sending again" in r.getMessage()]
