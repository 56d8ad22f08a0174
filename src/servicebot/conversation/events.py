"""What goes into the conversation and what comes out of it, as plain values.

A module of its own so that every party can name them without importing the conversation's
machinery: channel adapters build the events (`Text`, `Ask`, `Press`, `Pick`, `NonText`) and
render the `Said`; the hand-off desk reads `Asked` and `HandOff` and answers with a `Said`;
`Delivery` carries a `Said` to a `Resident` later.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from servicebot.answering.replies import Button, Reply
from servicebot.conversation.buttons import Tap, encode_button
from servicebot.records import ButtonKind, Channel, Status, Via

# --- who ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Resident:
    """Someone talking to the bot, as their channel knows them.

    `id` is the channel's own identifier (Telegram user id, web session id, WeChat OpenID):
    it is only ever hashed (`Service.resident_key`), never logged or stored. `chat` is where
    replies to them go (a Telegram chat id; the same as `id` elsewhere).
    """

    channel: Channel
    id: int | str
    chat: int | str | None = None
    chat_type: str = "private"

    @property
    def address(self) -> int | str:
        return self.id if self.chat is None else self.chat


# --- what the resident did -------------------------------------------------------------------


class Command(StrEnum):
    """What a resident can ask for by name (/start on Telegram and in the terminal)."""

    START = "start"
    HELP = "help"
    TOPICS = "topics"
    PRIVACY = "privacy"


@dataclass(frozen=True)
class Text:
    """Typed text, as the resident sent it (cleaned and cut by the conversation, not by the
    channel); or spoken, as the channel's speech recognition heard it (`via` VOICE): answered
    the same, logged as spoken."""

    text: str
    via: Via = Via.QUESTION


@dataclass(frozen=True)
class Ask:
    """A command by name; `Text("/help")` means the same."""

    command: Command


@dataclass(frozen=True)
class Press:
    """A button press carrying the button's data (`Said.button_data`), as it came back."""

    data: str | None


@dataclass(frozen=True)
class Pick:
    """An entry or a topic the channel names itself, with no button data behind it (a WeChat
    menu key): `kind` ENTRY (answered as if tapped in the topic menu) or TOPIC (its questions),
    `value` the entry id or topic name. Looked up in the FAQ when the conversation handles
    it: one gone by then is refused as stale, like an old button."""

    kind: ButtonKind
    value: str

    def __post_init__(self) -> None:
        if self.kind not in (ButtonKind.ENTRY, ButtonKind.TOPIC):
            raise ValueError(f"a pick names an entry or a topic, not a {self.kind} button")

    @property
    def tap(self) -> Tap:
        return Tap(self.kind, self.value, via=Via.TOPIC)


@dataclass(frozen=True)
class NonText:
    """A sticker, photo, voice message, location...: something the bot cannot read."""


Event = Text | Ask | Press | Pick | NonText


# --- what the desk is asked, and told ---------------------------------------------------------


class HandOffKind(StrEnum):
    OPEN = "open"  # open a ticket (or say which one already holds the question)
    ADD = "add"  # the resident wrote again in their open ticket
    LEAVE = "leave"  # the resident goes back to the bot


@dataclass(frozen=True)
class HandOff:
    """What the desk is asked to do. OPEN: hand off the question of interaction `ref` (the
    button's), or the resident's latest question when `ref` is None (typed 人工). ADD: `text`
    goes to ticket `number`."""

    kind: HandOffKind
    ref: str | None = None
    text: str = ""
    number: int | None = None


@dataclass(frozen=True)
class Asked:
    """A question as the desk needs it to open a ticket: the text (masked by the desk before
    it is stored or shown), and what the bot did with it."""

    ref: str
    question: str
    status: Status
    entry_id: str | None = None
    suggestions: tuple[str, ...] = ()


# --- what the conversation says ---------------------------------------------------------------


class Refusal(StrEnum):
    """Why an input got no real reply; channels map these to their own signals."""

    STALE = "stale"  # a button from an older FAQ, or one that never existed
    SLOW_DOWN = "slow_down"  # over the flood limit: told once to slow down
    DROPPED = "dropped"  # still over the limit: ignored quietly


@dataclass(frozen=True)
class Said:
    """What the conversation says back for one input.

    `reply` is a message to show, with its buttons; `ref` is the interaction it recorded
    (feedback and follow-up presses carry it) and `via` how the question buttons under it
    are reached: together they make each button's data (`button_data`). `notice` is a quiet
    line shown above the reply. `ack` is a short acknowledgement of a press or a refusal
    (Telegram shows it as a toast); a channel that has no toasts shows it as a message when
    there is no reply.
    """

    reply: Reply | None = None
    ref: str = ""
    via: Via = Via.TOPIC
    notice: str = ""
    ack: str = ""
    refused: Refusal | None = None
    status: Status | None = None  # outcome of a question or a question button
    # The hand-off the input asked for; where a desk runs, `Conversation.handle` has had the
    # desk carry it out, and what it says is the desk's.
    handoff: HandOff | None = None

    @property
    def text(self) -> str:
        """Everything said, as plain text (for channels without formatting, and tests)."""
        parts = [self.notice, self.reply.plain if self.reply else "", "" if self.reply else self.ack]
        return "\n\n".join(p for p in parts if p)

    def button_data(self, button: Button) -> str | None:
        """The data `button` of this reply carries, for the channel to send with it and hand
        back in a `Press`; None where there is none to send: a link, and 👍/👎 when no
        interaction was recorded to rate (`ref` empty)."""
        if button.kind == ButtonKind.URL or (button.kind == ButtonKind.FEEDBACK and not self.ref):
            return None
        return encode_button(button, self.ref, self.via)


__all__ = [
    "Ask",
    "Asked",
    "Command",
    "Event",
    "HandOff",
    "HandOffKind",
    "NonText",
    "Pick",
    "Press",
    "Refusal",
    "Resident",
    "Said",
    "Text",
]
