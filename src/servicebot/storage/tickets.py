"""Hand-off tickets (转人工) as the log's SQLite file keeps them: the rows every layer reads.

A ticket holds one resident's question for staff, what was said in it since, and which of
the bot's messages in the staff group belong to it. `TicketStore` (`storage/ticket_store.py`)
reads and writes the tables; the desk, the staff group, the staff desk, `servicebot tickets`,
`health` and the review read the frozen rows defined here (times as aware UTC datetimes).

Typed rows: channels and statuses are the enums of `records`, converted as rows are read
(`ticket_row`, `BotSaid.from_json`); `TicketStore` writes their `.value`.

A ticket is named by its number *and* its random key (`TicketRow.id`, a `records.TicketId`).
`TICKET_COLUMNS` and `ticket_row` are the one mapping from the `tickets` table to `TicketRow`,
so every query that returns tickets returns them alike.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from dataclasses import dataclass
from typing import Any

from servicebot.records import Channel, Status, TicketId, TicketStatus
from servicebot.storage.db import from_utc_text

LIVE = (TicketStatus.OPEN, TicketStatus.ANSWERED)  # statuses in which the resident can still be reached


class Author:
    RESIDENT = "resident"
    STAFF = "staff"


@dataclass(frozen=True)
class BotSaid:
    """What the bot did with the question that was handed off."""

    status: Status | None = None  # None when the resident asked for a person before asking anything
    entry_id: str | None = None
    suggestions: tuple[str, ...] = ()

    def to_json(self) -> str:
        status = "" if self.status is None else self.status.value
        return json.dumps({"status": status, "entry_id": self.entry_id, "suggestions": list(self.suggestions)})

    @classmethod
    def from_json(cls, text: str) -> BotSaid:
        try:
            doc = json.loads(text)
            status = str(doc.get("status") or "")
            known = Status(status) if status in set(Status) else None
            return cls(known, doc.get("entry_id"), tuple(doc.get("suggestions") or ()))
        except (ValueError, AttributeError, TypeError):
            return cls()


@dataclass(frozen=True)
class TicketRow:
    number: int
    key: str
    opened_at: dt.datetime
    channel: Channel
    resident: str
    address: str | None
    ref: str | None
    question: str
    bot_said: BotSaid
    status: TicketStatus
    last_activity: dt.datetime
    left: bool
    room_message: int | None
    post_error: str | None
    told_unposted: bool
    answered_by: str | None
    answered_at: dt.datetime | None
    closed_by: str | None
    closed_at: dt.datetime | None
    replies: int = 0  # staff replies
    earlier: int = 0  # tickets the same resident opened before this one
    posting: bool = False  # its card was being posted when the bot stopped: it may be there already

    @property
    def live(self) -> bool:
        return self.status in LIVE and self.address is not None

    @property
    def id(self) -> TicketId:
        return TicketId(self.number, self.key)


@dataclass(frozen=True)
class PendingReply:
    """A staff reply recorded but not yet delivered, with where it goes."""

    id: int
    ticket: int
    channel: Channel
    address: str
    text: str  # as written
    ref: str
    staff_name: str
    source: str
    sending: bool = False  # it was being delivered when the bot stopped: it may have arrived


@dataclass(frozen=True)
class Unposted:
    """A resident's message in a ticket that is not yet in the staff group."""

    id: int
    ticket: TicketId
    text: str
    card: int  # the ticket's message in the staff group, which it answers
    sending: bool = False  # it was being posted when the bot stopped: it may be there already


@dataclass(frozen=True)
class StaffAnswer:
    """What staff replied in a ticket, with the question it answered (for `review --suggest-yaml`).

    `marked`: staff pressed 加入问答 on it (then it is the latest reply so marked); otherwise it
    is the ticket's latest staff reply, which may speak to that one resident only."""

    ticket: int
    ref: str | None
    question: str
    answer: str
    staff_name: str
    at: dt.datetime
    marked: bool = True


@dataclass(frozen=True)
class TicketMessage:
    """One thing said in a ticket after it opened, as the staff desk shows it (masked)."""

    at: dt.datetime
    author: str  # Author.RESIDENT or Author.STAFF
    text: str
    staff_name: str  # staff: who wrote it
    outcome: str | None  # staff: sent | kept | retry | gone; None while it is being delivered
    faq: bool  # staff: marked 加入问答


@dataclass(frozen=True, slots=True)
class AskedRow:
    """A logged interaction, as the desk needs it to hand off its question."""

    question: str
    status: Status
    entry_id: str | None
    suggestions: tuple[str, ...]
    resident: str | None  # the resident's key


@dataclass(frozen=True)
class DeskHealth:
    """What `servicebot health` reports about the hand-off desk."""

    unposted: int  # tickets that could not be posted to the staff group
    post_error: str | None  # the latest reason
    undelivered: int  # staff replies waiting to be retried


TICKET_COLUMNS = (
    "t.number, t.key, t.opened_at, t.channel, t.resident, t.address, t.ref, t.question, t.bot_said, t.status,"
    " t.last_activity, t.left_at, t.room_message, t.post_error, t.told_unposted, t.answered_by, t.answered_at,"
    " t.closed_by, t.closed_at,"
    " (SELECT count(*) FROM ticket_messages m WHERE m.ticket = t.number AND m.author = 'staff'),"
    " (SELECT count(*) FROM tickets e WHERE e.resident = t.resident AND e.number < t.number), t.posting"
)


def _time(text: str | None) -> dt.datetime | None:
    return from_utc_text(text) if text else None


def ticket_row(r: sqlite3.Row | tuple[Any, ...]) -> TicketRow:
    return TicketRow(
        number=r[0],
        key=r[1],
        opened_at=from_utc_text(r[2]),
        channel=Channel(r[3]),
        resident=r[4],
        address=r[5],
        ref=r[6],
        question=r[7],
        bot_said=BotSaid.from_json(r[8]),
        status=TicketStatus(r[9]),
        last_activity=from_utc_text(r[10]),
        left=r[11] is not None,
        room_message=r[12],
        post_error=r[13],
        told_unposted=bool(r[14]),
        answered_by=r[15],
        answered_at=_time(r[16]),
        closed_by=r[17],
        closed_at=_time(r[18]),
        replies=r[19],
        earlier=r[20],
        posting=bool(r[21]),
    )


__all__ = [
    "LIVE",
    "TICKET_COLUMNS",
    "AskedRow",
    "Author",
    "BotSaid",
    "DeskHealth",
    "PendingReply",
    "StaffAnswer",
    "TicketMessage",
    "TicketRow",
    "Unposted",
    "ticket_row",
]
