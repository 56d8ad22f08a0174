"""Writing the interaction log: every question, its outcome, the buttons tapped and the 👍/👎,
without ever slowing the bot down or stopping it.

Writing happens on one background thread. `record()` and `feedback()` only append to an
in-memory queue; the writer inserts in batches, through the process's one `Database`. When
the database cannot be written (locked, read-only, disk full, file or directory deleted) the
writer logs one error, keeps the records in memory (at most `max_pending` besides the batch
being written; beyond that the oldest are dropped and counted), retries with backoff, and
logs one line when writing works again (a deleted file is re-created by the `Database`).
Rows older than the retention period are purged when the log opens and then daily.

Durable before the answer goes out: a channel awaits `settle()` after the conversation
recorded what it answered, and only then replies, so a kill -9 a moment after a resident got
an answer cannot take its record with it. Concurrent answers share one commit (the writer
writes everything queued at once), so this costs about one small transaction's time. While
the database cannot be written, `settle()` returns at once: answering never waits on a
failing disk (those records are in memory, as above).

Nothing personal is stored: questions are masked again here (phone and ID-card numbers),
and the resident column only ever holds the keyed hash the service computed.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import logging
import re
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from servicebot.config import RETENTION_DAYS
from servicebot.errors import StorageError
from servicebot.privacy import mask_personal
from servicebot.records import ASKED, Interaction, Status
from servicebot.storage.db import BUSY_TIMEOUT, CHINA_TZ, UTC, Database, china_day_bounds, database_for, utc_text
from servicebot.storage.reader import LogReader

log = logging.getLogger(__name__)

MAX_PENDING = 50_000  # records held in memory while the database is unavailable
BATCH = 1_000  # rows per write transaction
RETRY_MIN = 0.1  # first backoff after a failed write, doubled up to retry_max
RETRY_MAX = 30.0
RETRY_CLOSING = 0.25  # backoff cap while close() waits, so the last seconds are used
CLOSE_TIMEOUT = 5.0
SETTLE_TIMEOUT = 2.0  # seconds an answer waits, at most, for its record to be on disk
PURGE_EVERY = 24 * 3600.0

# A resident key is the service's keyed hash: 16+ hex digits. Anything else is not stored;
# that catches a bare Telegram user id passed by mistake (today ids have about 10 digits).
_PSEUDONYM_RE = re.compile(r"[0-9a-f]{16,64}")
_REF_RE = re.compile(r"[0-9a-f]{1,64}")


def _resident(key: str | None) -> str | None:
    if key is not None and _PSEUDONYM_RE.fullmatch(key):
        return key
    return None


def interaction_row(i: Interaction) -> tuple:
    """The stored form: masked again, resident kept only if it is a pseudonym; the enums as their values."""
    return (
        i.ref,
        utc_text(i.at),
        i.channel.value,
        i.chat_type,
        _resident(i.resident),
        mask_personal(i.question),
        mask_personal(i.normalized),
        i.status.value,
        i.entry_id,
        float(i.score),
        json.dumps(list(i.suggestions)),
        i.via.value,
        i.origin_ref,
    )


_INSERT = (
    "INSERT OR IGNORE INTO interactions (ref, at, channel, chat_type, resident, question, normalized,"
    " status, entry_id, score, suggestions, via, origin_ref) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)"
)
_VOTE = (
    "INSERT INTO feedback (ref, positive, at) VALUES (?,?,?)"
    " ON CONFLICT (ref) DO UPDATE SET positive = excluded.positive, at = excluded.at"
)


def purge(conn: sqlite3.Connection, before: dt.datetime) -> int:
    """Delete rows older than `before`; the number of interactions deleted."""
    cutoff = utc_text(before)
    deleted = conn.execute("DELETE FROM interactions WHERE at < ?", (cutoff,)).rowcount
    conn.execute("DELETE FROM feedback WHERE at < ?", (cutoff,))
    return deleted


@dataclass(frozen=True)
class Recorded:
    """A queued interaction, numbered in the order it was recorded."""

    seq: int
    interaction: Interaction


@dataclass(frozen=True)
class Voted:
    """A queued 👍 (positive) or 👎 for the answer whose Interaction.ref is `ref`."""

    seq: int
    ref: str
    positive: bool
    at: dt.datetime


Pending = Recorded | Voted  # what waits in memory for the writer thread


@dataclass(frozen=True)
class LogStatus:
    """How the writer is doing, for health checks and the admin /stats reply."""

    healthy: bool
    pending: int
    dropped: int
    last_error: str | None


class InteractionLog(LogReader):
    """The `InteractionSink` the service records into; see the module docstring.

    `record()` and `feedback()` never block on the database. `flush()` waits (bounded) until
    what was recorded before the call is written; `close()` flushes (bounded) and stops.
    """

    def __init__(
        self,
        path: Path,
        *,
        db: Database | None = None,
        retention_days: int = RETENTION_DAYS,
        max_pending: int = MAX_PENDING,
        retry_max: float = RETRY_MAX,
        busy_timeout: float = BUSY_TIMEOUT,
        purge_every: float = PURGE_EVERY,
    ):
        super().__init__(path)
        self.db, self._owned = database_for(path if db is None else db, busy_timeout=busy_timeout)
        self.retention_days = retention_days
        self.max_pending = max_pending
        self._retry_max = retry_max
        self._purge_every = purge_every
        self._cond = threading.Condition()
        self._commit_lock = threading.Lock()  # a commit and the emptying of `_inflight` are one step
        # -- guarded by _cond
        self._queue: deque[Pending] = deque()
        self._inflight: list[Pending] = []
        self._seq = 0  # number of the latest item queued
        self._done = 0  # the latest item written; every older one is written or dropped
        self._attempts = 0
        self._failed_attempt = 0  # number of the latest failed attempt
        self._nudged = False
        self._closing = False
        self._abandoned = False
        self._drop_warned = False
        self.dropped = 0
        self._last_error: str | None = None
        self._settling: list[tuple[int, asyncio.AbstractEventLoop, asyncio.Future[bool]]] = []
        # -- writer thread only (and __init__, before the thread starts)
        self._failing = False
        self._dropped_written = 0  # self.dropped at the last successful write
        self._next_purge = 0.0
        self._warned_resident = False
        try:
            with self.db.transaction() as conn:  # schema and purge now, so queries work as soon as the log exists
                self._purge(conn)
        except (sqlite3.Error, OSError, StorageError) as exc:
            self._note_failure(exc)
        self._thread = threading.Thread(target=self._run, name="interaction-log", daemon=True)
        self._thread.start()

    # -- the sink ----------------------------------------------------------------------

    def record(self, interaction: Interaction) -> None:
        self._enqueue(lambda seq: Recorded(seq, interaction))

    def feedback(self, ref: str, positive: bool) -> None:
        """👍 (positive) or 👎 for the answer whose Interaction.ref is `ref`; the latest counts."""
        if not _REF_RE.fullmatch(ref):
            log.warning("ignored feedback for a malformed reference")
            return
        at = dt.datetime.now(UTC)
        self._enqueue(lambda seq: Voted(seq, ref, bool(positive), at))

    def _enqueue(self, item: Callable[[int], Pending]) -> None:
        """Queue the item `item(seq)` makes with the next sequence number."""
        with self._cond:
            if self._closing:
                raise StorageError("the interaction log is closed")
            self._seq += 1
            self._queue.append(item(self._seq))
            warn = self._trim()
            self._cond.notify_all()
        if warn:
            self._warn_dropping()

    def _trim(self) -> bool:
        """Drop the oldest waiting records beyond `max_pending` (call with `_cond` held);
        True when this is the first drop since the last successful write."""
        excess = len(self._queue) - self.max_pending
        if excess <= 0:
            return False
        for _ in range(excess):
            self._queue.popleft()
        self.dropped += excess
        warn, self._drop_warned = not self._drop_warned, True
        return warn

    def _warn_dropping(self) -> None:
        log.warning(
            "interaction log: more than %d records waiting; dropping the oldest until the database is back",
            self.max_pending,
        )

    # -- waiting -----------------------------------------------------------------------

    async def settle(self, timeout: float = SETTLE_TIMEOUT) -> bool:
        """Wait until what was recorded before this call is on disk: True then; False at once
        while writing fails (the records wait in memory), or after `timeout` seconds."""
        loop = asyncio.get_running_loop()
        with self._cond:
            target = self._seq
            if self._done >= target:
                return True
            if self._last_error is not None or self._closing or not self._thread.is_alive():
                return False
            future: asyncio.Future[bool] = loop.create_future()
            self._settling.append((target, loop, future))
            self._cond.notify_all()
        try:
            return await asyncio.wait_for(asyncio.shield(future), timeout)
        except TimeoutError:
            return False

    def _settled(self, *, written: bool) -> None:
        """Wake the settle() calls the last write answered (call with `_cond` held): those it
        wrote for; or, when it failed, all of them (answers do not wait for a failing disk)."""
        waiting, self._settling = self._settling, []
        for target, loop, future in waiting:
            if written and target > self._done:
                self._settling.append((target, loop, future))
                continue
            with contextlib.suppress(RuntimeError):  # that loop is closed: nobody waits any more
                loop.call_soon_threadsafe(_resolve, future, written)

    def flush(self, timeout: float = CLOSE_TIMEOUT) -> bool:
        """Write now what was recorded before this call. True once written; False as soon as
        a write attempt made after this call fails, or when `timeout` seconds pass."""
        deadline = time.monotonic() + timeout
        with self._cond:
            target, started = self._seq, self._attempts
            self._nudged = True
            self._cond.notify_all()
            while self._done < target:
                left = deadline - time.monotonic()
                if self._failed_attempt > started or left <= 0 or not self._thread.is_alive():
                    return False
                self._cond.wait(left)
            return True

    def close(self, timeout: float = CLOSE_TIMEOUT) -> None:
        """Write what is pending (retrying for up to `timeout` seconds), then stop."""
        with self._cond:
            if self._closing:
                return
            self._closing = True
            self._nudged = True
            self._cond.notify_all()
        self._thread.join(timeout)
        if self._thread.is_alive():
            with self._cond:
                self._abandoned = True
                lost = len(self._queue) + len(self._inflight)
                self._settled(written=False)
                self._cond.notify_all()
            log.error("interaction log: gave up after %.1f s; %d records were not written", timeout, lost)
        if self._owned:
            self.db.close()

    def status(self) -> LogStatus:
        with self._cond:
            return LogStatus(
                self._last_error is None, len(self._queue) + len(self._inflight), self.dropped, self._last_error
            )

    # -- summaries ---------------------------------------------------------------------

    def day_summary(self, day: dt.date | None = None) -> dict[str, int]:
        """Counts for one China day (UTC+8; default today there): total typed questions,
        answered, suggest, unanswered, helpful (👍) and unhelpful (👎).

        Records still waiting in memory count too, so the numbers are current even while
        the database is unavailable (then only the pending records can be counted)."""
        day = day or dt.datetime.now(CHINA_TZ).date()
        start, end = (utc_text(t) for t in china_day_bounds(day))
        counted = (
            Status.ANSWERED,
            Status.SUGGEST,
            Status.UNANSWERED,
            Status.REFERRAL,
            Status.ITEM,
            Status.ITEM_UNLISTED,
        )
        counts = dict.fromkeys(("total", *counted), 0)
        votes: dict[str, bool] = {}
        with self._commit_lock:  # nothing moves from memory to the database meanwhile
            with self._cond:
                pending = [*self._inflight, *self._queue]
            try:
                with self._reading() as conn:
                    for status, n in conn.execute(
                        "SELECT status, count(*) FROM interactions"
                        f" WHERE at >= ? AND at < ? AND via IN ({', '.join('?' * len(ASKED))}) GROUP BY status",
                        (start, end, *ASKED),
                    ):
                        if status == Status.SMALL_TALK:
                            continue  # 你好 and 谢谢 are not questions
                        counts["total"] += n
                        if status in counts:
                            counts[status] += n
                    votes.update(
                        conn.execute(
                            "SELECT ref, positive FROM feedback WHERE at >= ? AND at < ?", (start, end)
                        ).fetchall()
                    )
            except StorageError as exc:
                log.warning("day summary from memory only: %s", exc)
        for item in pending:
            if isinstance(item, Recorded):
                i = item.interaction
                if i.via in ASKED and i.status != Status.SMALL_TALK and start <= utc_text(i.at) < end:
                    counts["total"] += 1
                    if i.status in counts:
                        counts[i.status] += 1
            else:
                ref, positive, at = item.ref, item.positive, item.at
                if start <= utc_text(at) < end:
                    votes[ref] = positive
                else:
                    votes.pop(ref, None)  # re-rated on another day: the latest rating moves there
        helpful = sum(votes.values())
        return {**counts, "helpful": helpful, "unhelpful": len(votes) - helpful}

    # -- the writer thread -------------------------------------------------------------

    def _run(self) -> None:
        delay = 0.0
        try:
            while True:
                with self._cond:
                    self._wait_for_work(delay)
                    if self._abandoned or (self._closing and not self._queue):
                        return
                    batch = [self._queue.popleft() for _ in range(min(BATCH, len(self._queue)))]
                    self._inflight = batch
                    self._attempts += 1
                    attempt = self._attempts
                if self._write(batch):
                    delay = 0.0
                    continue
                with self._cond:
                    self._queue.extendleft(reversed(self._inflight))  # oldest first again
                    self._inflight = []
                    warn = self._trim()
                    self._failed_attempt = attempt
                    self._settled(written=False)
                    self._cond.notify_all()
                if warn:
                    self._warn_dropping()
                cap = RETRY_CLOSING if self._closing else self._retry_max
                delay = min(max(delay * 2, RETRY_MIN), cap)
        finally:
            with self._cond:
                self._settled(written=False)

    def _wait_for_work(self, delay: float) -> None:
        """Until there is something to write (after the backoff `delay`), or a purge is due."""
        wake = time.monotonic() + delay
        while not self._abandoned:
            now = time.monotonic()
            if self._nudged or now >= wake:
                self._nudged, wake = False, now  # a flush() or close() cuts the backoff short
                if self._queue or self._closing or now >= self._next_purge:
                    return
                self._cond.wait(self._next_purge - now)
            else:
                self._cond.wait(wake - now)

    def _rows(self, batch: list[Pending]) -> tuple[list[tuple], list[tuple]]:
        """The batch as rows; an item that cannot be converted is logged and skipped."""
        records, votes = [], []
        for item in batch:
            try:
                if isinstance(item, Recorded):
                    records.append(interaction_row(self._checked(item.interaction)))
                else:
                    votes.append((item.ref, int(item.positive), utc_text(item.at)))
            except Exception:
                log.exception("interaction log: skipped a record that could not be stored")
        return records, votes

    def _write(self, batch: list[Pending]) -> bool:
        records, votes = self._rows(batch)
        try:
            with self._commit_lock:  # committing and emptying `_inflight` are one step for day_summary
                with self.db.transaction() as conn:
                    if time.monotonic() >= self._next_purge:
                        self._purge(conn)
                    conn.executemany(_INSERT, records)
                    conn.executemany(_VOTE, votes)
                self._note_recovery(len(batch))  # logged before any flush() returns
                with self._cond:
                    self._inflight = []
                    if batch:
                        self._done = batch[-1].seq
                    self._last_error = None
                    self._drop_warned = False
                    self._settled(written=True)
                    self._cond.notify_all()
        except Exception as exc:  # whatever it is, the bot goes on; the records wait in memory
            self._note_failure(exc)
            return False
        return True

    def _checked(self, interaction: Interaction) -> Interaction:
        if interaction.resident is not None and _resident(interaction.resident) is None and not self._warned_resident:
            self._warned_resident = True
            log.warning("interaction log: a resident key that is not a pseudonym was not stored")
        return interaction

    def _purge(self, conn: sqlite3.Connection) -> None:
        deleted = purge(conn, dt.datetime.now(UTC) - dt.timedelta(days=self.retention_days))
        self._next_purge = time.monotonic() + self._purge_every
        if deleted:
            log.info("interaction log: purged %d interactions older than %d days", deleted, self.retention_days)

    def _note_failure(self, exc: Exception) -> None:
        reason = str(exc) or type(exc).__name__
        with self._cond:
            self._last_error = reason
            pending = len(self._queue) + len(self._inflight)
        if not self._failing:
            self._failing = True
            log.error(
                "interaction log %s cannot be written (%s); keeping %d records in memory and retrying",
                self.path,
                reason,
                pending,
            )

    def _note_recovery(self, written: int) -> None:
        dropped, self._dropped_written = self.dropped - self._dropped_written, self.dropped
        if self._failing:
            self._failing = False
            with self._cond:
                pending = len(self._queue) + len(self._inflight) - written
            log.info(
                "interaction log %s is writable again: wrote %d records, %d still pending, %d dropped meanwhile",
                self.path,
                written,
                pending,
                dropped,
            )
        elif dropped:
            log.warning("interaction log: %d records were dropped while writing lagged behind", dropped)


def _resolve(future: asyncio.Future[bool], written: bool) -> None:
    if not future.done():
        future.set_result(written)
