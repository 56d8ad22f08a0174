"""How staff see the hand-off desk: a ticket's card, what they are told about replies and
tickets, and the Chinese words for a ticket's status, age and channel.

Pure and channel-neutral, apart from the desk's logic (`tickets.Desk`) that produces them:
each staff room renders cards and notices its own way (the Telegram staff group in
`channels/tg_staff.py`, the staff desk in `staffdesk/pages.py`), and the words are shared by
both, by `servicebot tickets` and by the 企业微信 notice, so a ticket reads the same wherever
staff meet it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from servicebot.records import Channel, Status, TicketId, TicketStatus
from servicebot.storage.tickets import TicketRow

if TYPE_CHECKING:
    from servicebot.faq.model import Faq


class Notice(StrEnum):
    """What staff are told about a reply or a ticket (rendered by the room)."""

    SENT = "sent"  # ✅ the resident has the reply
    KEPT = "kept"  # ✅ the reply waits in the resident's web chat
    RETRYING = "retrying"  # ⏳ not delivered yet; the bot keeps trying
    GONE = "gone"  # ⚠️ the resident cannot be reached (blocked the bot)
    CLOSED = "closed"  # ⚠️ the ticket is closed: the reply was not relayed
    NOT_TEXT = "not_text"  # ⚠️ only text replies are relayed
    RESOLVED = "resolved"  # ☑️ someone pressed 已解决
    UNKNOWN = "unknown"  # ⚠️ the reply answers a card of no ticket in the log (deleted or restored): not relayed


@dataclass(frozen=True)
class Card:
    """A ticket as staff first see it. Never the resident's id, username or name."""

    ticket: TicketId
    channel: Channel
    question: str  # masked; "" when the resident asked for a person before asking anything
    status: Status | None  # what the bot did with it; None when nothing was asked
    answered: str | None  # the question of the entry the bot answered with
    suggested: tuple[str, ...]  # the questions it offered instead
    earlier: int  # tickets this resident opened before
    opened_at: dt.datetime
    again: bool = False  # posted again after a crash: the first may be in the room too

    @property
    def number(self) -> int:
        return self.ticket.number


def card_of(ticket: TicketRow, faq: Faq) -> Card:
    """The ticket as staff first see it (the staff group's card, the staff desk's list): what
    the bot did, in the questions of `faq`'s entries (an entry no longer there: its id)."""
    said = ticket.bot_said
    entry = faq.by_id.get(said.entry_id or "")
    answered = entry.question if entry else said.entry_id
    suggested = tuple(faq.by_id[e].question if e in faq.by_id else e for e in said.suggestions)
    return Card(
        ticket.id,
        ticket.channel,
        ticket.question,
        said.status,
        answered,
        suggested,
        ticket.earlier,
        ticket.opened_at,
        again=ticket.posting,
    )


# --- how staff read tickets (the staff group's /tickets, the staff desk, `servicebot tickets`) -------

STATUS_NAMES = {
    TicketStatus.OPEN: "等待回复",
    TicketStatus.ANSWERED: "已回复",
    TicketStatus.UNREACHABLE: "无法联系居民",
    TicketStatus.CLOSED: "已结束",
}
CHANNEL_NAMES = {Channel.TELEGRAM: "Telegram 私聊", Channel.WEB: "网页聊天", Channel.WECHAT: "微信公众号"}


def status_text(ticket: TicketRow, *, room: bool = True) -> str:
    """等待回复, 已回复（李四）, 已结束（李四）, 无法联系居民; "（未送达工作人员群）" while not posted to a `room`."""
    text = STATUS_NAMES[ticket.status]
    who = ticket.closed_by if ticket.status == TicketStatus.CLOSED else ticket.answered_by
    if ticket.status == TicketStatus.CLOSED and ticket.closed_by == "":
        who = "到期"
    if who and ticket.status != TicketStatus.OPEN:
        text += f"（{who}）"
    if room and ticket.room_message is None and ticket.status != TicketStatus.CLOSED:
        text += "（还没送到工作人员群）"
    return text


def age_text(since: dt.datetime, now: dt.datetime) -> str:
    """How long ago, as staff say it: 刚刚, 5 分钟前, 3 小时前, 2 天前."""
    seconds = max(0, int((now - since).total_seconds()))
    if seconds < 60:
        return "刚刚"
    if seconds < 3600:
        return f"{seconds // 60} 分钟前"
    if seconds < 86400:
        return f"{seconds // 3600} 小时前"
    return f"{seconds // 86400} 天前"


def channel_text(channel: Channel) -> str:
    return CHANNEL_NAMES.get(channel, channel.value)


__all__ = [
    "CHANNEL_NAMES",
    "STATUS_NAMES",
    "Card",
    "Notice",
    "age_text",
    "card_of",
    "channel_text",
    "status_text",
]
