"""The hand-off desk (转人工): a resident's question reaches staff, and their answer reaches the resident.

Channel-neutral. Residents come from any channel (Telegram, the web chat, WeChat): the
conversation hands the desk a `HandOff` request, and the desk answers with what to tell the
resident. Staff sit in a `StaffRoom` (the Telegram staff group, `channels/tg_staff.py`: one card
per ticket, what the resident writes afterwards under it) and/or at the staff desk (`staffdesk/`,
which reads the store); both act through `reply` / `resolve` / `mark_faq`, and each staff reply
is relayed through `conversation.Delivery` to the resident's own channel. What staff see (the
card, the notices, the words for a ticket's status) is in `ticket_view.py`.

Its life in a process, all here: `open` / `close` (the tickets, in the process's database) are
called by `channels.Core` around everything; `start` / `stop` (the worker, and the
`TicketNotices` told of each new ticket, such as the 企业微信 robot) by whoever hosts the staff
room, once it can reach staff: the Telegram channel, with its staff group, when staff sit in one
(`settings.telegram_staff`); otherwise the staff desk, with no room.

How it stays honest and loses nothing:
- a ticket is in SQLite (`storage.ticket_store`) before the resident hears its number; cards,
  follow-ups and staff replies are posted or delivered by a background worker that retries
  with backoff, so a restart or an unreachable staff group loses nothing;
- the resident is told what is true at each step: "being passed to staff" when the ticket
  opens; "not reached staff yet, we keep trying" when posting failed (then "reached" when
  it finally did); when staff usually answer (`staff_hours`), and that it is outside them;
  on a channel that can only answer (WeChat), that a staff reply comes with the answer to
  their next message;
- a staff reply is recorded (deduplicated by the staff message) before it is relayed and
  marked delivered after, under one lock with the retrying worker: each reply is delivered
  once, also when its update comes again after a crash.

Nobody misdirected: staff act on a `TicketId` (number and random key), never a number alone:
numbers start again in a new log file (deleted, or restored from a backup) while old cards
stay in the staff group (`room_ticket`; a reply naming no ticket of this file: `UNKNOWN`).
What Telegram cannot make exactly-once is counted: what was being sent when the bot died (a
card, a resident's message, a staff reply) is sent again at the next start and logged
("sending again …"); the outboxes of the web chat and WeChat keep a reply once.

Per resident (by hashed key) the desk keeps in memory the ticket they are writing in
(`active`: 24 hours from the last activity, until closed or left) and their latest
questions (`remember`), so a typed 人工 or a 转人工 button hands off the right question.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import math
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, Protocol

from servicebot.answering import replies
from servicebot.answering.replies import Reply
from servicebot.answering.service import Service, new_ref
from servicebot.bounded import BoundedMap
from servicebot.config import Settings
from servicebot.conversation.delivery import Delivered, Delivery
from servicebot.conversation.events import Asked, HandOff, HandOffKind, Resident, Said
from servicebot.conversation.hours import when
from servicebot.conversation.ticket_view import Card, Notice, card_of
from servicebot.errors import StaffRoomError, StorageError
from servicebot.records import Channel, TicketId, TicketStatus
from servicebot.storage.db import Database
from servicebot.storage.ticket_store import TicketStore
from servicebot.storage.tickets import BotSaid, PendingReply, TicketRow

log = logging.getLogger(__name__)

FOLLOW_UP_WINDOW = dt.timedelta(hours=24)  # what a resident types this long after the last activity joins the ticket
RECENT_QUESTION = dt.timedelta(minutes=30)  # a typed 人工 hands off a question asked at most this long ago
RECENT_SIZE = 10_000  # residents and questions remembered for a hand-off
RETRY_MIN, RETRY_MAX = 5.0, 300.0  # seconds between attempts when the staff group or a resident cannot be reached
MAINTAIN_EVERY = 3600.0  # seconds between expiring and purging old tickets
STOP_GRACE = 5.0  # seconds queued staff notices get when stopping


@dataclass(frozen=True)
class Relayed:
    """What became of a staff member's reply: the ticket it answered (None: not a ticket
    message, ignored) and what to tell staff (None: nothing, e.g. a reply seen before)."""

    number: int | None
    notice: Notice | None = None
    channel: Channel | None = None  # the resident's


class StaffRoom(Protocol):
    """Where staff read tickets and reply (the Telegram staff group)."""

    chat_id: int

    async def post_ticket(self, card: Card) -> int:
        """Post a ticket's card; its message id. StaffRoomError when the room cannot be reached."""
        ...

    async def post_follow_up(self, ticket: TicketId, card_message: int, text: str) -> int:
        """Post what the resident wrote again, under the card; its message id. StaffRoomError."""
        ...

    async def tell(
        self,
        number: int,
        notice: Notice,
        *,
        reply_to: int | None = None,
        name: str = "",
        channel: Channel | None = None,
    ) -> int | None:
        """Tell staff about a reply or the ticket (`channel`: the resident's, for where a KEPT
        reply waits); the message id, None if it could not be sent."""
        ...


class TicketNotices(Protocol):
    """Told of each new ticket besides the room (the 企业微信 robot, `staffdesk/notify.py`);
    started and stopped with the desk's worker."""

    def ticket_opened(self, ticket: TicketRow) -> None:
        """A ticket opened (called on the event loop: must not block)."""
        ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Desk:
    """The desk of one process; see the module docstring. `open`/`close` (the database) are
    called by the core, `start`/`stop` (the worker and `notices`) by the host of the room."""

    def __init__(
        self, settings: Settings, service: Service, delivery: Delivery, *, clock: Callable[[], dt.datetime] = _utcnow
    ):
        self.settings = settings
        self.service = service
        self.delivery = delivery
        self.clock = clock
        self.retry_min, self.retry_max = RETRY_MIN, RETRY_MAX
        self.room: StaffRoom | None = None
        self.room_down = False  # the last attempt to post to the staff group failed
        self.room_error = ""  # why
        self._store: TicketStore | None = None
        self._active: dict[str, tuple[TicketId, dt.datetime]] = {}
        self._latest: BoundedMap[str, tuple[Asked, dt.datetime]] = BoundedMap(RECENT_SIZE)
        self._by_ref: BoundedMap[str, tuple[str, Asked]] = BoundedMap(RECENT_SIZE)
        self._relay_lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._worker: asyncio.Task[None] | None = None
        self._stopping = False
        self._tasks: set[asyncio.Task[Any]] = set()
        self._room_wait = self._reply_wait = 0.0  # current backoff, 0 when the last attempt worked
        self._room_due = self._reply_due = 0.0  # loop time of the next attempt
        self.notices: list[TicketNotices] = []  # told of each new ticket; run while the worker runs
        self._running_notices: list[TicketNotices] = []

    # -- lifecycle -----------------------------------------------------------------------------

    @property
    def store(self) -> TicketStore:
        if self._store is None:
            raise StorageError("the hand-off desk is not open")
        return self._store

    async def open(self, db: Database | None = None) -> None:
        """Open the tickets (in `db`, the process's database, else a connection of their own)
        and remember which residents are writing in one."""
        self._store = TicketStore(db if db is not None else self.settings.db_path)
        try:
            rows = await asyncio.to_thread(self.store.active_since, self.clock() - FOLLOW_UP_WINDOW)
        except StorageError as exc:
            log.error("hand-off: could not read the open tickets: %s", exc)
            return
        for row in rows:
            self._active[row.resident] = (row.id, row.last_activity)

    async def close(self) -> None:
        if self._store is not None:
            await asyncio.to_thread(self._store.close)
            self._store = None

    async def start(self, room: StaffRoom | None) -> None:
        """Begin posting to the room (None: the staff desk alone) and delivering, backlog
        first; start the notices of new tickets."""
        for notices in self.notices:
            await notices.start()
            self._running_notices.append(notices)
        self.room = room
        self._stopping = False
        self._worker = asyncio.create_task(self._run(), name="hand-off desk")

    async def stop(self) -> None:
        """Let the worker finish what it is doing (a card sent but not yet recorded would be
        posted again after a restart), bounded; then stop, and stop the notices."""
        if self._worker is not None:
            self._stopping = True
            self._wake.set()
            done, _ = await asyncio.wait({self._worker}, timeout=STOP_GRACE)
            if not done:
                self._worker.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._worker
            self._worker = None
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=STOP_GRACE)
        while self._running_notices:
            await self._running_notices.pop().stop()

    def nudge(self) -> None:
        """Something new to post or deliver."""
        self._wake.set()

    def later(self, coroutine: Coroutine[Any, Any, Any]) -> None:
        """Run a best-effort side task (a note to staff) without holding up the caller."""
        task = asyncio.create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- the resident's side (conversation.Desk) ---------------------------------------------------

    def active(self, key: str) -> int | None:
        found = self._active.get(key)
        if found is None:
            return None
        if self.clock() - found[1] > FOLLOW_UP_WINDOW:
            del self._active[key]
            return None
        return found[0].number

    def remember(self, key: str, asked: Asked) -> None:
        self._latest[key] = (asked, self.clock())
        self._by_ref[asked.ref] = (key, asked)

    async def take(self, resident: Resident, key: str, handoff: HandOff) -> Said:
        try:
            if handoff.kind == HandOffKind.LEAVE:
                return await self._leave(key)
            if handoff.kind == HandOffKind.ADD and handoff.number is not None:
                return await self._add(key, handoff.number, handoff.text)
            return await self._open(resident, key, handoff.ref)
        except StorageError as exc:
            log.error("hand-off: the ticket could not be stored: %s", exc)
            return Said(Reply(replies.HANDOFF_FAILED_TEXT.format(where=self._where())))

    async def _open(self, resident: Resident, key: str, ref: str | None) -> Said:
        asked = await self._asked(resident, key, ref)
        if asked is not None:
            existing = await asyncio.to_thread(self.store.ticket_for_ref, asked.ref)
            if existing is not None and existing.resident == key and existing.live:
                self._active[key] = (existing.id, self.clock())
                text = replies.TICKET_EXISTS_TEXT.format(number=existing.number)
                return Said(replies.in_ticket(self._when_seen(resident, text)))
        now = self.clock()
        said = BotSaid(asked.status, asked.entry_id, asked.suggestions) if asked else BotSaid()
        ticket = await asyncio.to_thread(
            self.store.open_ticket,
            channel=resident.channel,
            resident=key,
            address=str(resident.address),
            ref=asked.ref if asked else None,
            question=asked.question if asked else "",
            bot_said=said,
            at=now,
        )
        self._active[key] = (ticket.id, now)
        log.info("hand-off: ticket #%d opened (%s)", ticket.number, resident.channel)
        for notices in self.notices:
            notices.ticket_opened(ticket)
        if self.room_down:  # say so now, not after the next attempt fails
            await asyncio.to_thread(self.store.post_failed, ticket.number, self.room_error)
            text = replies.TICKET_OPENED_ROOM_DOWN_TEXT.format(number=ticket.number, where=self._where())
        else:
            text = replies.TICKET_OPENED_TEXT.format(number=ticket.number, hours=self.hours_line(now))
            text += "\n" + (replies.ADD_MORE_TEXT if asked else replies.WRITE_QUESTION_TEXT)
        self.nudge()
        return Said(replies.in_ticket(self._when_seen(resident, text)))

    def _when_seen(self, resident: Resident, text: str) -> str:
        """`text`, and where the resident's channel can only answer them (WeChat), that a staff
        reply is shown when they next write: they would otherwise wait for a message that
        cannot come by itself."""
        if self.delivery.waits_for_resident(resident.channel):
            return f"{text}\n{replies.NEXT_MESSAGE_TEXT}"
        return text

    async def _asked(self, resident: Resident, key: str, ref: str | None) -> Asked | None:
        """The question to hand off: the button's (this resident's only), or the latest one."""
        if ref is None:
            latest = self._latest.get(key)
            return latest[0] if latest and self.clock() - latest[1] <= RECENT_QUESTION else None
        known = self._by_ref.get(ref)
        if known is not None:
            return known[1] if known[0] == key else None
        row = await asyncio.to_thread(self.store.asked, ref)  # a button from before a restart
        if row is None or row.resident != self.service.resident_key(resident.id):
            return None
        return Asked(ref, row.question, row.status, row.entry_id, row.suggestions)

    async def _add(self, key: str, number: int, text: str) -> Said:
        found = self._active.get(key)
        ticket = found[0] if found is not None and found[0].number == number else None
        added = None
        if ticket is not None:
            added = await asyncio.to_thread(self.store.add_resident_message, ticket, text, self.clock())
        if ticket is None or added is None:  # closed meanwhile (or gone with a deleted log file)
            self._active.pop(key, None)
            return Said(Reply(replies.TICKET_CLOSED_TEXT.format(number=number)))
        self._active[key] = (ticket, self.clock())
        self.nudge()
        return Said(replies.in_ticket(replies.FOLLOW_UP_TEXT.format(number=number)))

    async def _leave(self, key: str) -> Said:
        found = self._active.pop(key, None)
        if found is None:
            return Said(Reply(replies.BACK_TO_BOT_NONE_TEXT))
        await asyncio.to_thread(self.store.leave, found[0], self.clock())
        return Said(Reply(replies.BACK_TO_BOT_TEXT.format(number=found[0].number)))

    def hours_line(self, now: dt.datetime) -> str:
        """When staff usually answer, as true as the settings allow."""
        hours = self.settings.office_hours
        if not hours.stated:
            return replies.HOURS_UNSTATED_TEXT
        if hours.is_open(now):
            return replies.HOURS_OPEN_TEXT.format(hours=hours.describe())
        coming = hours.next_open(now)
        assert coming is not None  # hours are stated, so they come round within a week
        return replies.HOURS_CLOSED_TEXT.format(hours=hours.describe(), next=when(coming, now))

    def _where(self) -> str:
        return replies.where_to_ask(self.service.snapshot.faq.contact)

    # -- the staff side (called by the room's handlers) --------------------------------------------

    async def room_ticket(self, chat: int, message: int, named: TicketId | None = None) -> TicketId | None:
        """The ticket a message of the room belongs to (`TicketStore.room_ticket`); None: no
        ticket of this log (never one, or one from before the log was deleted or restored)."""
        return await asyncio.to_thread(self.store.room_ticket, chat, message, named)

    async def staff_reply(self, ticket: TicketId, *, source: str, text: str | None, name: str) -> Relayed:
        """A staff member answered ticket `ticket` (`source`: the room's own name for their
        message, so a message that comes again is relayed once); UNKNOWN for a ticket that is
        not in the log."""
        number = ticket.number
        if not text or not text.strip():
            return Relayed(number, Notice.NOT_TEXT)
        return await self.reply(ticket, source=source, text=text, name=name)

    async def reply(self, ticket: TicketId, *, source: str, text: str, name: str) -> Relayed:
        """A staff reply from any desk, recorded once per `source` (the desk's id of it, "<chat>:<message>"
        in the staff group), then relayed; what to tell staff (UNKNOWN: `ticket` is not in the log)."""
        number = ticket.number
        async with self._relay_lock:
            pending, new = await asyncio.to_thread(
                self.store.add_staff_reply,
                ticket,
                source=source,
                text=text.strip(),
                staff_name=name,
                ref=new_ref(),
                at=self.clock(),
            )
            if pending is None:
                if not new:
                    return Relayed(number)  # the same update again, already relayed
                row = await asyncio.to_thread(self.store.find, ticket)
                if row is None:
                    return Relayed(number, Notice.UNKNOWN)
                gone = row.status == TicketStatus.UNREACHABLE
                return Relayed(number, Notice.GONE if gone else Notice.CLOSED)
            return Relayed(number, await self._relay(pending), pending.channel)

    async def resolve(self, ticket: TicketId, by: str) -> bool | None:
        """已解决: tell the resident, close, forget their address. None for an unknown ticket,
        False when it was closed already."""
        async with self._relay_lock:  # two desks pressing 已解决 at once: one closes it, one hears False
            row = await asyncio.to_thread(self.store.find, ticket)
            if row is None:
                return None
            if row.status == TicketStatus.CLOSED:
                return False
            if row.live and row.address is not None:
                notice = Said(Reply(replies.TICKET_CLOSED_TEXT.format(number=row.number)))
                await self.delivery.deliver(Resident(row.channel, row.address), notice)
            await asyncio.to_thread(self.store.resolve, ticket, by, self.clock())
        self._forget(row.resident, row.number)
        log.info("hand-off: ticket #%d closed", row.number)
        return True

    async def mark_faq(self, ticket: TicketId) -> str | None:
        """加入问答: the latest staff reply becomes a FAQ draft; who wrote it (None: no reply yet)."""
        return await asyncio.to_thread(self.store.mark_faq, ticket)

    async def listing(self, *, open_only: bool, limit: int | None = None) -> list[TicketRow]:
        return await asyncio.to_thread(self.store.listing, open_only=open_only, limit=limit)

    async def tell_staff(
        self,
        number: int,
        notice: Notice,
        *,
        reply_to: int | None = None,
        name: str = "",
        channel: Channel | None = None,
    ) -> None:
        """Tell staff (best effort); a staff reply to that note goes to the ticket too (not to a
        note that the ticket is unknown)."""
        if self.room is None:
            return
        message = await self.room.tell(number, notice, reply_to=reply_to, name=name, channel=channel)
        if message is not None and notice != Notice.UNKNOWN:
            with contextlib.suppress(StorageError):
                await asyncio.to_thread(self.store.map_room_message, self.room.chat_id, message, number)

    # -- delivering -------------------------------------------------------------------------------

    async def _relay(self, pending: PendingReply) -> Notice:
        """Deliver one recorded staff reply (under the relay lock) and record what happened."""
        resident = Resident(pending.channel, pending.address)
        said = Said(replies.staff_reply(pending.ticket, pending.text), ref=pending.ref)
        if pending.sending:
            _sending_again(f"a staff reply in ticket #{pending.ticket}")
        await asyncio.to_thread(self.store.sending, pending.id)
        result = await self.delivery.deliver(resident, said)
        if result:
            ticket = await asyncio.to_thread(self.store.reply_delivered, pending.id, result.value, self.clock())
            if ticket is not None and ticket.live:
                self._active[ticket.resident] = (ticket.id, self.clock())
            return Notice.SENT if result == Delivered.SENT else Notice.KEPT
        if result == Delivered.GONE:
            gone = await asyncio.to_thread(self.store.resident_gone, pending.ticket)
            if gone is not None:
                self._forget(gone.resident, gone.number)
            log.info("hand-off: the resident of ticket #%d cannot be reached", pending.ticket)
            return Notice.GONE
        await asyncio.to_thread(self.store.reply_waits, pending.id)
        self._retry_replies()
        return Notice.RETRYING

    def _forget(self, key: str, number: int) -> None:
        found = self._active.get(key)
        if found is not None and found[0].number == number:
            del self._active[key]

    def _retry_replies(self) -> None:
        if not self._reply_wait:
            self._reply_wait = self.retry_min
            self._reply_due = asyncio.get_running_loop().time() + self._reply_wait
        self.nudge()

    # -- the worker -----------------------------------------------------------------------------------

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        maintain_due = 0.0
        while not self._stopping:
            self._wake.clear()
            now = loop.time()
            if now >= maintain_due:
                await self._guarded(self._maintain)
                maintain_due = now + MAINTAIN_EVERY
            if now >= self._room_due:
                ok = await self._guarded(self._post)
                self._room_wait = 0.0 if ok else _backoff(self._room_wait, self.retry_min, self.retry_max)
                self._room_due = now + self._room_wait
            if now >= self._reply_due:
                ok = await self._guarded(self._redeliver)
                self._reply_wait = 0.0 if ok else _backoff(self._reply_wait, self.retry_min, self.retry_max)
                self._reply_due = now + self._reply_wait
            due = min(
                maintain_due,
                self._room_due if self._room_wait else math.inf,
                self._reply_due if self._reply_wait else math.inf,
            )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), max(0.0, due - loop.time()))

    async def _guarded(self, step: Callable[[], Coroutine[Any, Any, bool]]) -> bool:
        try:
            return await step()
        except StorageError as exc:
            log.error("hand-off: %s", exc)
        except Exception:
            log.exception("hand-off: the desk's worker failed; retrying")
        return False

    async def _post(self) -> bool:
        """Post unposted cards, then unposted follow-ups; False when the room cannot be reached."""
        room = self.room
        if room is None:  # staff read tickets at the staff desk: nothing to post
            return True
        tickets = await asyncio.to_thread(self.store.unposted)
        for n, ticket in enumerate(tickets):
            if self._stopping:  # the rest waits for the next start; what was sent is recorded
                return True
            if ticket.posting:
                _sending_again(f"the card of ticket #{ticket.number}")
            await asyncio.to_thread(self.store.posting, ticket.number)
            try:
                message = await room.post_ticket(self.card(ticket))
            except StaffRoomError as exc:
                await self._room_failed(tickets[n:], str(exc))
                return False
            told = await asyncio.to_thread(self.store.posted, ticket.number, room.chat_id, message)
            log.info("hand-off: ticket #%d posted to the staff group", ticket.number)
            if told:
                self._tell_resident(ticket, replies.TICKET_REACHED_TEXT.format(number=ticket.number))
        for follow_up in await asyncio.to_thread(self.store.unposted_messages):
            if self._stopping:
                return True
            number = follow_up.ticket.number
            if follow_up.sending:
                _sending_again(f"a message for ticket #{number}")
            await asyncio.to_thread(self.store.sending, follow_up.id)
            try:
                message = await room.post_follow_up(follow_up.ticket, follow_up.card, follow_up.text)
            except StaffRoomError as exc:
                self.room_down, self.room_error = True, str(exc)
                log.warning("hand-off: a message for ticket #%d could not be posted: %s", number, exc)
                return False
            await asyncio.to_thread(self.store.message_posted, follow_up.id, room.chat_id, message, number)
        if self.room_down:
            log.info("hand-off: the staff group is reachable again")
        self.room_down = False
        return True

    async def _room_failed(self, tickets: list[TicketRow], error: str) -> None:
        if not self.room_down:
            log.warning("hand-off: the staff group cannot be reached (%s); %d ticket(s) wait", error, len(tickets))
        self.room_down, self.room_error = True, error
        for ticket in tickets:
            if await asyncio.to_thread(self.store.post_failed, ticket.number, error):
                where = self._where()
                self._tell_resident(ticket, replies.TICKET_NOT_REACHED_TEXT.format(number=ticket.number, where=where))

    def _tell_resident(self, ticket: TicketRow, text: str) -> None:
        if ticket.live and ticket.address is not None:
            resident = Resident(ticket.channel, ticket.address)
            self.later(self.delivery.deliver(resident, Said(Reply(text))))

    async def _redeliver(self) -> bool:
        """Staff replies recorded but not delivered (to retry, or interrupted by a restart)."""
        async with self._relay_lock:
            for pending in await asyncio.to_thread(self.store.pending_replies):
                if self._stopping:
                    return True
                notice = await self._relay(pending)
                _, _, message = pending.source.partition(":")
                reply_to = int(message) if message.isdigit() else None
                if notice == Notice.RETRYING:
                    return False
                note = self.tell_staff(
                    pending.ticket, notice, reply_to=reply_to, name=pending.staff_name, channel=pending.channel
                )
                self.later(note)
        return True

    async def _maintain(self) -> bool:
        now = self.clock()
        expired = await asyncio.to_thread(self.store.expire, now - dt.timedelta(days=self.settings.ticket_days), now)
        for ticket in expired:
            self._forget(ticket.resident, ticket.number)
        purged = await asyncio.to_thread(self.store.purge, now - dt.timedelta(days=self.settings.retention_days))
        if purged:
            log.info("hand-off: purged %d tickets older than %d days", purged, self.settings.retention_days)
        return True

    def card(self, ticket: TicketRow) -> Card:
        """The ticket as staff first see it, in the FAQ the bot answers from now."""
        return card_of(ticket, self.service.snapshot.faq)


def _backoff(current: float, low: float, high: float) -> float:
    return min(max(current * 2, low), high)


def _sending_again(what: str) -> None:
    """Counted: Telegram cannot say whether it arrived before the bot stopped."""
    log.warning("hand-off: sending again what may have been sent when the bot stopped: %s", what)


__all__ = ["Desk", "Relayed", "StaffRoom", "TicketNotices"]
