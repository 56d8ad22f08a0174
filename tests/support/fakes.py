"""Small hand-written fakes the test modules share: a clock a test moves, a recording
interaction sink, a recording reload callback; and `converse`, one input through a
conversation for a test without an event loop of its own."""

from __future__ import annotations

import asyncio
import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from servicebot.conversation.chat import Conversation
    from servicebot.conversation.events import Event, Resident, Said


class Clock:
    """A clock that stands still until a test moves it: `clock()` is `clock.now`."""

    def __init__(self, now: Any = 1000.0) -> None:
        self.now = now

    def __call__(self) -> Any:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class Recorded:
    """A hand-written interaction sink: keeps what the service records, in order."""

    def __init__(self) -> None:
        self.interactions: list = []
        self.feedback_given: list = []

    def record(self, interaction) -> None:
        self.interactions.append(interaction)

    def feedback(self, ref, positive) -> None:
        self.feedback_given.append((ref, positive))


def converse(conversation: Conversation, resident: Resident, event: Event, *, ref: str | None = None) -> Said:
    """What `conversation` says to one input, through its one way in (`Conversation.handle`),
    for a test that runs no event loop of its own."""
    return asyncio.run(conversation.handle(resident, event, ref=ref))


class Recorder:
    """The reload watcher's on_result callback: keeps every result and signals each one."""

    def __init__(self, wait: float = 10.0) -> None:
        self.results: list[tuple[bool, list]] = []
        self.event = threading.Event()
        self.wait = wait

    def __call__(self, swapped, problems) -> None:
        self.results.append((swapped, list(problems)))
        self.event.set()

    def next(self) -> tuple[bool, list]:
        assert self.event.wait(self.wait), "the watcher never reported"
        self.event.clear()
        return self.results[-1]
