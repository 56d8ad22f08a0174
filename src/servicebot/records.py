"""The vocabulary every layer shares, and the record the interaction log stores.

The matcher, the conversation, every channel, the log writer and the review all speak of a
question's outcome, how a resident reached an answer and which channel they came from.
Those names live here, as `StrEnum`s (so they compare equal to the strings stored in
SQLite), together with `Interaction`, so that none of those modules has to import another
just to name a status: the log writer does not drag in the matcher, nor a channel the log.
Records, outcomes and rows carry the enums themselves, never bare strings: the storage
modules write their `.value` and turn what they read back into enums.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol, runtime_checkable


class Status(StrEnum):
    """What became of one interaction."""

    ANSWERED = "answered"  # the bot answered with one entry
    SUGGEST = "suggest"  # the bot offered "您是不是想问" choices
    UNANSWERED = "unanswered"  # the bot said honestly that it cannot answer
    TAP = "tap"  # the resident tapped a question button (no matching involved)
    SMALL_TALK = "smalltalk"  # 你好, 谢谢, 你是谁: not a question about a service
    REFERRAL = "referral"  # another body handles it: the bot said which, and how to reach it (never an entry)
    # An everyday item's bin (garbage-items.yaml): entry_id "item:<name>", and the item as the
    # resident named it in the `normalized` column, for review to list the items the list lacks.
    ITEM = "item"  # the item is listed: its bin
    ITEM_UNLISTED = "item-unlisted"  # it is not: said so, with each bin's rule of thumb, never a guessed bin


class Via(StrEnum):
    """How a resident reached an interaction."""

    QUESTION = "question"  # typed a question
    VOICE = "voice"  # spoke a question (WeChat's speech recognition gave its text)
    SUGGESTION = "suggestion"  # tapped one of the "您是不是想问" choices
    TOPIC = "topic"  # tapped a question in the topic menu
    RELATED = "related"  # tapped a related question under an answer
    NONE = "none"  # rejected every suggestion ("都不是")


# A question the resident put in their own words, typed or spoken (not a button tapped):
# what the review and the stats count as asked.
ASKED: tuple[Via, ...] = (Via.QUESTION, Via.VOICE)


class Channel(StrEnum):
    """Where a resident talks to the bot; stored in the log's `channel` column."""

    TELEGRAM = "telegram"
    TERMINAL = "chat"
    WEB = "web"
    WECHAT = "wechat"
    ASK = "ask"  # `servicebot ask --log`: a staff member trying questions, not a resident


class ButtonKind(StrEnum):
    """What tapping a reply's button does; each channel decides how a tap comes back."""

    URL = "url"  # value: the address
    ENTRY = "entry"  # value: entry id; tapping answers it
    TOPIC = "topic"  # value: topic name; tapping lists its questions
    TOPICS = "topics"  # show the topic menu
    FEEDBACK = "feedback"  # value: "+" or "-"
    NONE_OF_THESE = "none"  # the resident rejected every suggestion
    HANDOFF = "handoff"  # 转人工: hand the question (the interaction the button was shown under) to staff
    BACK = "back"  # leave the hand-off: what the resident types goes to the bot again


class TicketStatus(StrEnum):
    """Where a hand-off ticket (转人工) stands; stored in the `tickets.status` column."""

    OPEN = "open"  # waiting for a staff reply
    ANSWERED = "answered"  # staff replied at least once, and it reached the resident
    UNREACHABLE = "unreachable"  # a reply could not be delivered: the resident blocked the bot or left
    CLOSED = "closed"  # 已解决, or expired: the resident's address is deleted


TICKET_KEY_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # no 0/O, 1/I/L: read aloud and typed safely
TICKET_KEY_CHARS = 6  # 31**6 ≈ 8.9e8 keys: an old card matches a new ticket by chance about once in a billion
TICKET_KEY_RE = re.compile(f"[{TICKET_KEY_ALPHABET}]{{{TICKET_KEY_CHARS}}}")


def new_ticket_key() -> str:
    """A random ticket key (`TicketId.key`)."""
    return "".join(secrets.choice(TICKET_KEY_ALPHABET) for _ in range(TICKET_KEY_CHARS))


@dataclass(frozen=True)
class TicketId:
    """Which hand-off ticket, wherever staff see it (a card in the Telegram staff group, a
    ticket on a web desk). `number` is what residents and staff say (#12); it starts again in
    a new log file (a deleted one, a restored backup). `key` is random, chosen when the ticket
    opens: a card or a link that names a ticket by number and key cannot be taken for another
    ticket with the same number, in this file or any later one."""

    number: int
    key: str

    @property
    def label(self) -> str:
        """How staff see it: #12（K7QX2M）."""
        return f"#{self.number}（{self.key}）"


@dataclass(frozen=True)
class Interaction:
    """One row of the interaction log. Holds no raw personal data by construction."""

    ref: str
    at: dt.datetime
    channel: Channel
    chat_type: str
    resident: str | None
    question: str
    normalized: str
    status: Status
    entry_id: str | None
    score: float
    suggestions: tuple[str, ...] = ()
    via: Via = Via.QUESTION
    origin_ref: str | None = None


class InteractionSink(Protocol):
    """Where the service sends interactions and feedback (the log, or a test's fake)."""

    def record(self, interaction: Interaction) -> None: ...
    def feedback(self, ref: str, positive: bool) -> None: ...


@runtime_checkable
class SettlingSink(Protocol):
    """A sink that can say when what it was given is on disk (the interaction log)."""

    async def settle(self) -> bool: ...
