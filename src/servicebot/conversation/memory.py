"""Numbered choices, for channels without real buttons (the terminal, WeChat).

There a resident picks a button of the last reply by typing its number, and rates the last
answer with + or -. That needs a short memory per resident of what they were last shown: it
lives here, apart from the conversation that consults it, so a channel can adapt what is
remembered to what it shows (WeChat's links are not numbered: `channels.wechat.WechatChoices`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from servicebot.answering.replies import Button, Reply
from servicebot.bounded import BoundedMap
from servicebot.conversation.events import Said
from servicebot.records import Via


@dataclass
class Shown:
    """What a resident last saw with choices under it."""

    choices: tuple[Button, ...]
    ref: str
    via: Via
    rated_ref: str  # the answer "+" / "-" rates; "" when the last reply had no feedback buttons


class ChoiceMemory:
    """Per resident, the numbered choices of the last reply, for `ttl` seconds; at most
    `size` residents (the least recently active are forgotten first). Keys are hashed
    resident keys."""

    def __init__(self, ttl: float = 30 * 60, size: int = 10_000, clock: Callable[[], float] = time.monotonic):
        self.ttl = ttl
        self.size = size
        self._shown: BoundedMap[str, Shown] = BoundedMap(size, ttl, clock=clock)

    def get(self, key: str) -> Shown | None:
        return self._shown.get(key)

    def remember(self, key: str, said: Said) -> None:
        reply = said.reply
        if reply is None:
            return
        rated = said.ref if reply.rated else ""
        self._shown[key] = Shown(tuple(self.numbered(reply)), said.ref, said.via, rated)

    def numbered(self, reply: Reply) -> list[Button]:
        """The buttons of `reply` the channel shows numbered: choices and links (the terminal)."""
        return reply.numbered

    def __len__(self) -> int:
        return len(self._shown)


def choice_hint(count: int) -> str:
    pick = " 1 " if count == 1 else f" 1 到 {count} 之间的数字"
    return f"请输入{pick}来选择，或者直接打字提问。"


__all__ = ["ChoiceMemory", "Shown", "choice_hint"]
