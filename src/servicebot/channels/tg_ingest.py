"""Telegram updates coming in: on disk before Telegram may consider them delivered, processed
once, one at a time per chat, and a stop that finishes what it can in bounded time.

- `JournaledQueue` is the Application's update queue, so every update enters through it.
  PTB's Updater awaits `put` for each update of a getUpdates batch before it advances the
  offset that the next getUpdates confirms the batch with; the webhook route awaits `put`
  before it answers 200. `put` writes the update to the journal (`servicebot.storage.journal`) first
  and drops an update whose id the journal has seen. The journal runs on a thread of its own,
  so SQLite never blocks the event loop. `open` queues, before anything new arrives, what the
  last run left unfinished, oldest first — so each chat's replayed questions come before its
  new ones.
- `ChatOrderedProcessor` runs updates concurrently across chats but one at a time within a
  chat, in arrival order (answers come back in the order questions were asked), and tells
  the journal when each starts (on disk before it runs: if the process dies now, that is an
  attempt at it) and when it is finished — answered, deliberately ignored, or failed and
  reported by the error handler. One cancelled by a stop is released (not an attempt); one
  cancelled, or never started, stays in the journal.
- Suspects: an update a run died while processing (`Pending.attempts`) does its own work
  alone at the next start (`SoloGate`): no other update is at its own work meanwhile (until
  it makes its first Bot API call, or ALONE_FOR seconds; updates waiting for Telegram do not
  count), so if the bot dies then, the blame is its own, not shared with the dozens of
  innocent updates that were in flight with it; once it calls the Bot API its count is
  cleared (it got through: waiting for Telegram brings no bot down). After MAX_ATTEMPTS the
  journal makes it a dead letter (staff are told, `health` lists it) instead of letting it
  bring the bot down at every start.
- `UpdatesRequest` reads each getUpdates batch before python-telegram-bot does: an update it
  cannot parse (a field of a new Bot API version it does not know, a malformed payload) would
  make PTB refuse the whole batch, again and again, with a CRITICAL log line each time and no
  update answered ever again. Such an update is replaced by a bare one (its `update_id` only),
  which moves the offset past it and is ignored like any update not meant for the bot;
  `on_unreadable` counts and logs it. The webhook route does the same (`readable_update`).
- `stop_draining`, the drain on stop: updates keep being processed for DRAIN_SECONDS. Then
  one not started, or started but with nothing sent yet (waiting for the outgoing rate
  limit), is left for the next start; one whose request is on the network gets CANCEL_AFTER
  more seconds and is then cancelled, and if its reply had reached Telegram it is sent again
  at the next start: the only duplicate a stop can cause.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol, TypeVar

from telegram import Bot, Update
from telegram._utils.types import JSONDict
from telegram.ext import Application, BaseUpdateProcessor

from servicebot.channels.tg_net import Calls, QuietRequest, Timings, timed
from servicebot.storage.journal import UpdateJournal

log = logging.getLogger(__name__)

DRAIN_SECONDS = 5.0  # on stop, queued updates are still started for this long...
CANCEL_AFTER = 2.0  # ...and what is still running this much later is cancelled
HOUSEKEEP_EVERY = 1.0  # seconds between the journal's housekeeping calls (WAL truncation, pruning)
ALONE_FOR = 5.0  # seconds a suspect runs alone at most; then the others may start beside it

T = TypeVar("T")


class Ledger(Protocol):
    """What `ChatOrderedProcessor` tells of each update's progress: the `JournaledQueue` below."""

    suspects: set[int]

    async def started(self, update_id: int) -> None: ...
    async def released(self, update_id: int) -> None: ...
    async def cleared(self, update_id: int) -> None: ...
    async def finished(self, update_id: int) -> None: ...


class JournaledQueue(asyncio.Queue[object]):
    """The update queue, journaled: see the module docstring. `put_nowait` is not journaled:
    it is how `open` queues updates the journal already holds (PTB itself only awaits `put`)."""

    def __init__(self, journal: UpdateJournal):
        super().__init__()
        self.journal = journal
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="update-journal")
        self._housekeeping: asyncio.Task[None] | None = None
        self._closed = False
        self._failed_once = False
        self.suspects: set[int] = set()  # replayed updates a run died while processing

    async def _call(self, function: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, function, *args)

    async def open(self, bot: Bot | None) -> int:
        """Open the journal and queue what the last run left unfinished; how many were queued."""
        pending = await self._call(self.journal.open)
        self.suspects = {item.update_id for item in pending if item.attempts}
        updates = []
        for item in pending:
            try:
                updates.append(Update.de_json(json.loads(item.payload), bot))
            except Exception as exc:  # written by another version, or damaged: cannot be answered
                log.error("update journal: an update cannot be read back (%s): a dead letter now", type(exc).__name__)
                await self._call(self.journal.give_up, item.update_id, "unreadable")
        for update in suspects_first(updates, self.suspects):
            self.put_nowait(update)
        self._housekeeping = asyncio.create_task(self._housekeep(), name="update-journal-housekeeping")
        return len(updates)

    async def put(self, item: object) -> None:
        if isinstance(item, Update) and not self._closed and not await self._admit(item):
            return  # seen before: a webhook re-post, a redelivery, a replayed update
        await super().put(item)

    async def _admit(self, update: Update) -> bool:
        try:
            return await self._call(self.journal.admit, update.update_id, update.to_json())
        except Exception as exc:  # a bug, not a storage failure (the journal handles those): answer anyway
            if not self._failed_once:
                self._failed_once = True
                log.error("update journal failed (%s); answering without it", type(exc).__name__)
            return True

    async def started(self, update_id: int) -> None:
        """Processing of the update begins: on disk before it does (see the module docstring)."""
        if not self._closed:
            await self._call(self.journal.start, update_id)

    async def released(self, update_id: int) -> None:
        """A stop cancelled the update's processing: that was no attempt."""
        self.suspects.discard(update_id)
        if not self._closed:
            await self._call(self.journal.release, update_id)

    async def cleared(self, update_id: int) -> None:
        """A suspect got through its own work: no attempt so far was its fault."""
        self.suspects.discard(update_id)
        if not self._closed:
            await self._call(self.journal.clear, update_id)

    async def finished(self, update_id: int) -> None:
        """The update was processed: the journal forgets its payload."""
        self.suspects.discard(update_id)
        if not self._closed:
            await self._call(self.journal.done, update_id)

    async def untold_dead_letters(self) -> int:
        """Dead letters staff have not been told about."""
        return await self._call(self.journal.untold_dead_letters)

    async def told_dead_letters(self) -> None:
        await self._call(self.journal.told_dead_letters)

    async def close(self) -> None:
        self._closed = True
        if self._housekeeping is not None:
            self._housekeeping.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._housekeeping
            self._housekeeping = None
        await self._call(self.journal.close)
        self._executor.shutdown(wait=False)

    async def _housekeep(self) -> None:
        while True:
            await asyncio.sleep(HOUSEKEEP_EVERY)
            await self._call(self.journal.housekeep)


# --- updates python-telegram-bot cannot read -------------------------------------------------

Unreadable = Callable[[int | None, Exception], None]  # (its update_id if it has one, what went wrong)


def readable_update(item: object, bot: Bot | None, on_unreadable: Unreadable) -> Update | None:
    """The update in `item` (one element of getUpdates' result, or a webhook body); a bare
    Update with its update_id alone if PTB cannot read the rest; None if it has no update_id."""
    parsed = _parse(item, bot)
    return parsed if isinstance(parsed, Update) else _bare(item, parsed, on_unreadable)


def _parse(item: object, bot: Bot | None) -> Update | Exception:
    try:
        update = Update.de_json(item, bot) if isinstance(item, dict) and item else None
    except Exception as exc:
        return exc
    return update if update is not None else ValueError("not an update")


def _bare(item: object, exc: Exception, on_unreadable: Unreadable) -> Update | None:
    update_id = item.get("update_id") if isinstance(item, dict) else None
    if not isinstance(update_id, int) or isinstance(update_id, bool):
        on_unreadable(None, exc)
        return None
    on_unreadable(update_id, exc)
    return Update(update_id)


class UpdatesRequest(QuietRequest):
    """The request getUpdates goes through: every update of a batch that PTB could not parse
    becomes a bare one (see the module docstring), so the batch, and the ones after it, are read."""

    def __init__(self, *, on_unreadable: Unreadable, **kwargs: Any):
        super().__init__(**kwargs)
        self._on_unreadable = on_unreadable

    def parse_json_payload(self, payload: bytes) -> JSONDict:  # type: ignore[override]
        doc = super().parse_json_payload(payload)
        result = doc.get("result")
        if not isinstance(result, list):
            return doc
        kept: list[JSONDict] = []
        for item in result:
            parsed = _parse(item, None)
            if isinstance(parsed, Update):
                kept.append(item)
            elif (bare := _bare(item, parsed, self._on_unreadable)) is not None:
                kept.append({"update_id": bare.update_id})
        return {**doc, "result": kept}


def suspects_first(updates: list[Update], suspects: set[int]) -> list[Update]:
    """The replay order: the updates of chats whose next update is a suspect first, then the
    rest, each part in its received order (so each chat's own order is kept). A suspect queued
    behind updates that are not suspects would start its solo work the moment one of them
    calls Telegram, in every run alike: a crash loop timed by replies (a reply handler, the
    HTTP client) would catch the same innocent suspect at its own work each time."""
    first: dict[tuple[str, int], bool] = {}
    for update in updates:
        first.setdefault(_replay_chat(update), update.update_id in suspects)
    return sorted(updates, key=lambda update: not first[_replay_chat(update)])  # stable


def _replay_chat(update: Update) -> tuple[str, int]:
    chat = _chat_key(update)
    return ("chat", chat) if chat is not None else ("update", update.update_id)


def _chat_key(update: object) -> int | None:
    chat = update.effective_chat if isinstance(update, Update) else None
    return chat.id if chat is not None else None


def _discard(coroutine: Awaitable[Any]) -> None:
    """Drop a coroutine that will not run, without the "never awaited" warning."""
    close = getattr(coroutine, "close", None)
    if close is not None:
        close()


class SoloGate:
    """Lets a suspect do its own work alone: it starts once no other update is at its own
    work (each is, until its first Bot API call: `Calls.asking`), and no other update starts
    while it waits or works — until it calls the Bot API itself, or `alone_for` seconds pass.
    Updates waiting for Telegram do not hold it up. Single-threaded (the event loop), so
    checking and changing the counts needs no lock."""

    def __init__(self, alone_for: float = ALONE_FOR):
        self.alone_for = alone_for
        self._inside: set[int] = set()  # ids of the Calls of the updates in the gate
        self._working: dict[int, Calls] = {}  # those not yet waiting for Telegram
        self._solo: object | None = None  # the suspect at its own work alone
        self._suspects_waiting = 0
        self._changed = asyncio.Event()

    async def _until(self, ready: Callable[[], bool]) -> None:
        while not ready():
            await self._changed.wait()

    def _change(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    @contextlib.asynccontextmanager
    async def enter(self, calls: Calls, *, suspect: bool) -> AsyncIterator[None]:
        """Run the block when it may start (`calls`: the update's Bot API calls)."""
        token = object()
        timer = None
        if suspect:
            self._suspects_waiting += 1
            try:
                await self._until(lambda: self._solo is None and not self._working)
            finally:
                self._suspects_waiting -= 1
                self._change()
            self._solo = token
            timer = asyncio.get_running_loop().call_later(self.alone_for, self._end_solo, token)
            calls.listeners.append(functools.partial(self._end_solo, token))
        else:
            await self._until(lambda: self._solo is None and not self._suspects_waiting)
        self._working[id(calls)] = calls
        calls.listeners.append(functools.partial(self._asking, calls))
        try:
            yield
        finally:
            self._working.pop(id(calls), None)
            if timer is not None:
                timer.cancel()
            self._end_solo(token)
            self._change()

    def _asking(self, calls: Calls) -> None:
        self._working.pop(id(calls), None)
        self._change()

    def _end_solo(self, token: object) -> None:
        if self._solo is token:
            self._solo = None
            self._change()


class ChatOrderedProcessor(BaseUpdateProcessor):
    """Up to `max_concurrent` updates at once, but one at a time per chat, in arrival order;
    each update's start, finish (processed to the end) or release (cancelled by a stop) is
    reported to `ledger` (the `JournaledQueue`), and its suspects run alone (`SoloGate`).

    A chat's queued updates hold a concurrency slot while they wait; they are quick (a
    flooding resident's extra messages are dropped without network calls), so this only
    matters if `max_concurrent` is tiny.
    """

    def __init__(
        self,
        max_concurrent: int,
        timings: Timings | None = None,
        ledger: Ledger | None = None,
        *,
        alone_for: float = ALONE_FOR,
    ):
        super().__init__(max_concurrent)
        self.timings = timings
        self._ledger = ledger
        self._gate = SoloGate(alone_for)
        self._locks: dict[int, asyncio.Lock] = {}
        self._waiting: dict[int, int] = {}
        self._running: dict[asyncio.Task[Any], Calls] = {}
        self._stop_starting_at: float | None = None
        self.left = 0  # not started because the drain ended: they wait in the journal
        self.cancelled = 0  # cancelled by `cancel_running`: they wait in the journal too

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        key = _chat_key(update)
        if key is None:
            await self._process(update, coroutine)
            return
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._waiting[key] = self._waiting.get(key, 0) + 1
        try:
            async with lock:
                await self._process(update, coroutine)
        finally:
            self._waiting[key] -= 1
            if not self._waiting[key]:
                del self._waiting[key], self._locks[key]

    async def _process(self, update: object, coroutine: Awaitable[Any]) -> None:
        if self._stopped_starting():
            _discard(coroutine)
            return
        ledger = self._ledger if isinstance(update, Update) else None
        update_id = update.update_id if isinstance(update, Update) else 0
        suspect = ledger is not None and update_id in ledger.suspects
        calls = Calls()
        if suspect:
            assert ledger is not None
            # its first Bot API call: its own work is done; its attempts are cleared, on disk
            # before the call goes on (a kill once the request arrived must not count)
            calls.before_asking = functools.partial(ledger.cleared, update_id)
        async with self._gate.enter(calls, suspect=suspect):
            if self._stopped_starting():  # while it waited for a suspect
                _discard(coroutine)
                return
            task = asyncio.current_task()
            assert task is not None
            self._running[task] = calls
            try:
                if ledger is not None:
                    await ledger.started(update_id)
                await timed(coroutine, self.timings, calls)
            except asyncio.CancelledError:
                _discard(coroutine)  # if it was cancelled before it began
                if ledger is not None:
                    await asyncio.shield(ledger.released(update_id))
                raise
            finally:
                del self._running[task]
            if ledger is not None:
                await ledger.finished(update_id)

    def _stopped_starting(self) -> bool:
        if self._stop_starting_at is not None and time.monotonic() >= self._stop_starting_at:
            self.left += 1
            return True
        return False

    def stop_starting(self, at: float) -> None:
        """Start no update after `at` (time.monotonic()); those left wait in the journal."""
        self._stop_starting_at = at

    def cancel_running(self, *, unsent_only: bool = False) -> int:
        """Cancel the updates being processed (with `unsent_only`, those that have not let a
        Bot API request out yet, so nothing of theirs reached Telegram); how many."""
        chosen = [task for task, calls in self._running.items() if not (unsent_only and calls.sent)]
        for task in chosen:
            task.cancel()
        self.cancelled += len(chosen)
        return len(chosen)

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass


async def stop_draining(application: Application, processor: ChatOrderedProcessor, drain: float) -> None:
    """Stop `application` (whose processor is `processor`) in bounded time: fetch nothing more,
    keep answering for `drain` seconds, then cancel what has sent nothing yet, and CANCEL_AFTER
    seconds later what still runs. What is left waits in the journal for the next start."""
    began = time.monotonic()
    processor.stop_starting(began + drain)
    if application.updater is not None and application.updater.running:
        try:
            # Its last getUpdates confirms what it fetched: all of that is in the journal.
            await asyncio.wait_for(application.updater.stop(), drain)
        except TimeoutError:
            log.warning("telegram: the last getUpdates did not finish; its updates will come again")
    if not application.running:
        return
    loop, now = asyncio.get_running_loop(), time.monotonic()
    timers = [
        loop.call_later(max(0.0, began + drain - now), functools.partial(processor.cancel_running, unsent_only=True)),
        loop.call_later(max(0.0, began + drain + CANCEL_AFTER - now), processor.cancel_running),
    ]
    try:
        await application.stop()  # returns once every queued update is processed, left or cancelled
    finally:
        for timer in timers:
            timer.cancel()
    left = processor.left + processor.cancelled
    log.info(
        "telegram: stopped in %.1f s%s",
        time.monotonic() - began,
        f"; {left} updates wait in the journal for the next start" if left else "",
    )


__all__ = [
    "ALONE_FOR",
    "CANCEL_AFTER",
    "DRAIN_SECONDS",
    "ChatOrderedProcessor",
    "JournaledQueue",
    "SoloGate",
    "UpdatesRequest",
    "readable_update",
    "stop_draining",
]
