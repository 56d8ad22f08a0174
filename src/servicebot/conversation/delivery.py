"""Late messages: "deliver this to that resident", for what is not the answer to their input.

A staff reply reaches a resident long after the request that asked for it has gone. This
module is the registry that carries it there without the sender (the hand-off desk) knowing
any channel: each running channel registers a `Deliverer`, which answers with `Delivered`.
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass, field
from typing import Protocol

from servicebot.conversation.events import Resident, Said
from servicebot.records import Channel

log = logging.getLogger(__name__)


class Delivered(enum.Enum):
    """What became of a late message. True (in `if`) when the channel took it."""

    SENT = "sent"  # the resident has it
    KEPT = "kept"  # it waits where the resident will see it next (the outbox of the web chat, of WeChat)
    RETRY = "retry"  # not now (the channel is down or not running): try again later
    GONE = "gone"  # the resident cannot be reached (blocked the bot, deleted the chat)

    def __bool__(self) -> bool:
        return self in (Delivered.SENT, Delivered.KEPT)


class Deliverer(Protocol):
    """How one channel brings a message to a resident outside a request/response.

    A channel without a way to push (WeChat's passive replies) keeps the message in the
    durable `storage.outbox.Outbox` and answers KEPT, then shows what waits with its next
    answer to that resident (`Outbox.take`). A plain bool is read as SENT / RETRY."""

    async def deliver(self, resident: Resident, said: Said) -> Delivered | bool: ...


@dataclass
class Delivery:
    """Channel-neutral "deliver this to that resident": each running channel registers its
    deliverer; the hand-off desk sends staff replies through here."""

    deliverers: dict[Channel, Deliverer] = field(default_factory=dict)
    answer_only: set[Channel] = field(default_factory=set)

    def register(self, channel: Channel, deliverer: Deliverer, *, answer_only: bool = False) -> None:
        """`answer_only`: the channel can only answer a resident's message, never write first
        (WeChat), so what is delivered waits for their next message: residents are told so."""
        self.deliverers[channel] = deliverer
        if answer_only:
            self.answer_only.add(channel)
        else:
            self.answer_only.discard(channel)

    def waits_for_resident(self, channel: Channel) -> bool:
        """A late message to this channel's residents is only seen when they next write."""
        return channel in self.answer_only

    async def deliver(self, resident: Resident, said: Said) -> Delivered:
        """What the resident's channel made of the message; RETRY when it is not running."""
        deliverer = self.deliverers.get(resident.channel)
        if deliverer is None:
            log.warning("cannot deliver to a %s resident: that channel is not running", resident.channel)
            return Delivered.RETRY
        result = await deliverer.deliver(resident, said)
        if isinstance(result, Delivered):
            return result
        return Delivered.SENT if result else Delivered.RETRY


__all__ = ["Delivered", "Deliverer", "Delivery"]
