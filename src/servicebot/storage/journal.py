"""The update journal: every update the bot received and has not finished, on disk, so that
a crash loses no resident's question and no question is answered twice.

Why it exists: Telegram forgets an update once the bot confirms it (polling: the offset of
the next getUpdates; webhook: the 200 answer), but replies go out at about 30 a second, so a
burst leaves confirmed questions waiting in memory, and kill -9 or the OOM killer lost them.
The Telegram channel (`channels/tg_ingest.py`) calls `admit` before an update can be
confirmed and `done` once its reply was sent (or it was deliberately ignored); at start-up
`open` hands back what is unfinished, to be processed first.

- Deduplication: an update id seen before (a webhook re-post, Telegram sending again what
  was not confirmed before a crash, the overlap with the replay) is admitted once.
- Privacy: a pending row holds the update as Telegram sent it, i.e. the resident's raw text
  and Telegram ids. `done` erases it (the row keeps the update id and times, for
  deduplication); `secure_delete` overwrites the erased bytes, and the WAL is truncated every
  CHECKPOINT_EVERY seconds, so a finished question is gone from the files within seconds.
  The file is created readable by the bot's user only. Nothing from a payload is logged.
- Durability: WAL with synchronous=NORMAL (the file is opened by `storage.db.connect`, like
  the log's, with a busy timeout of its own). A commit is written to the WAL (write(2)) before
  it returns, so it survives the death of the process, which is the fault at hand (kill -9,
  OOM kill, a crash, a container killed at the end of its stop grace period). Only an
  operating-system crash or power cut can lose commits not yet synced; the WAL is synced at
  each checkpoint, so that window is CHECKPOINT_EVERY seconds. FULL would fsync every
  update on the path that confirms updates to Telegram (measured 0.56 ms per update instead
  of 0.015 ms on the development machine, far more on network disks), throttling intake in
  exactly the burst the journal is for.
- Bounded: finished rows are deleted after DEDUP_WINDOW, and beyond MAX_DONE_ROWS.
- Poison updates: an update that brings the bot down must not do so at every start. The
  channel calls `start` (durably) when it begins processing an update, `release` when a
  clean stop cancels it; so `attempts` counts the runs that died while it was being
  processed — not every start it merely waited through. At start-up an update that has
  been attempted before is a suspect: the channel processes it alone (`tg_ingest`), so a
  death while it runs is its own, and `clear`s it once its own work is done (it is then
  waiting for Telegram, like everything else). One attempted MAX_ATTEMPTS times, or unfinished for
  MAX_AGE, is never dropped silently: it moves to the dead letters (`dead_letters` table,
  payload kept DEAD_KEEP, then erased), which are logged, reported by `servicebot health`
  (`dead_letter_count`) and told to staff once (`untold_dead_letters`, `told_dead_letters`).
- Never in the way: when the file cannot be written (disk full, locked, deleted, the data
  directory gone) the journal logs one error, admits updates in memory only (deduplicating
  those it remembers) — today's behaviour without the journal — and tries the file again
  every RETRY_EVERY seconds; done marks it could not write are kept and written then. A
  deleted or replaced file is noticed on the next write and a new one created.

Not thread-safe: one thread (the channel's journal thread) makes every call.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from servicebot.bounded import BoundedMap
from servicebot.storage.db import connect, file_identity, remove_stale_wal

log = logging.getLogger(__name__)

SCHEMA_VERSION = 2
DEDUP_WINDOW = 24 * 3600.0  # seconds a finished update id is remembered: Telegram keeps an update 24 h
MAX_DONE_ROWS = 100_000  # finished ids kept at most (a few MB), whatever the window
MAX_AGE = 24 * 3600.0  # an update unfinished for longer is a dead letter: the question is a day old
MAX_ATTEMPTS = 3  # runs that may die while processing an update before it is a dead letter
DEAD_KEEP = 7 * 24 * 3600.0  # seconds a dead letter is kept (for the operator), then deleted
RETRY_EVERY = 5.0  # seconds between attempts to use the file again after a failure
CHECKPOINT_EVERY = 2.0  # seconds between WAL truncations (erased payloads gone, WAL synced)
PRUNE_EVERY = 60.0
BUSY_TIMEOUT = 0.2  # seconds to wait for another process's lock: updates must not wait longer
REMEMBERED = 20_000  # update ids kept in memory (~2 MB), to deduplicate while the file is unavailable
OWED = 100_000  # done marks kept in memory while the file is unavailable

_SCHEMA = """
CREATE TABLE IF NOT EXISTS updates (
    update_id INTEGER PRIMARY KEY,  -- Telegram's update_id
    received REAL NOT NULL,         -- Unix time it was admitted
    done REAL,                      -- Unix time it was finished (or became a dead letter); NULL while pending
    replays INTEGER NOT NULL DEFAULT 0,  -- version 1 only: starts it waited through (no longer used)
    payload TEXT,                   -- the update as JSON while pending; NULL once done
    attempts INTEGER NOT NULL DEFAULT 0  -- runs that began processing it and did not finish or release it
);
CREATE INDEX IF NOT EXISTS updates_done ON updates (done);
CREATE TABLE IF NOT EXISTS dead_letters (
    update_id INTEGER PRIMARY KEY,
    received REAL NOT NULL,
    failed REAL NOT NULL,           -- Unix time it was given up
    attempts INTEGER NOT NULL,
    reason TEXT NOT NULL,           -- 'attempts' (it may bring the bot down), 'age' (a day old), 'unreadable'
    payload TEXT,                   -- the update as Telegram sent it, for the operator; deleted after DEAD_KEEP
    told INTEGER NOT NULL DEFAULT 0 -- staff have been told
);
"""


@dataclass(frozen=True)
class Pending:
    """An update received before the last stop and not finished: to be processed first.
    `attempts` > 0: a run died while processing it (a suspect)."""

    update_id: int
    payload: str
    attempts: int = 0


def dead_letter_count(path: Path) -> tuple[int, float | None]:
    """(dead letters, when the latest was given up) in the journal at `path`, read-only, for
    `servicebot health`; (0, None) when there is no journal (or one from before them)."""
    if not Path(path).is_file():
        return 0, None
    with contextlib.closing(connect(path, read_only=True)) as conn:
        try:
            count, latest = conn.execute("SELECT count(*), max(failed) FROM dead_letters").fetchone()
        except sqlite3.OperationalError:  # version 1: no dead letters
            return 0, None
    return count, latest


def _create_private(path: Path) -> None:
    """Create the file readable by the bot's user only (SQLite gives -wal and -shm the same mode)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_wal(path)
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))


class UpdateJournal:
    """See the module docstring. `open` first; every method is safe to call when the file is
    unusable (it then works in memory) and none raises for a storage failure."""

    def __init__(
        self,
        path: Path,
        *,
        clock: Callable[[], float] = time.time,
        retry_every: float = RETRY_EVERY,
        busy_timeout: float = BUSY_TIMEOUT,
        dedup_window: float = DEDUP_WINDOW,
        max_done_rows: int = MAX_DONE_ROWS,
        max_age: float = MAX_AGE,
        max_attempts: int = MAX_ATTEMPTS,
    ):
        self.path = Path(path)
        self._clock = clock
        self._retry_every = retry_every
        self._busy_timeout = busy_timeout
        self._dedup_window = dedup_window
        self._max_done_rows = max_done_rows
        self._max_age = max_age
        self._max_attempts = max_attempts
        self._opened = False  # between open() and close()
        self._conn: sqlite3.Connection | None = None
        self._file: tuple[int, int] | None = None
        self._failing = False
        self._retry_at = 0.0
        self._dirty = False  # written since the last checkpoint
        self._next_checkpoint = 0.0
        self._next_prune = 0.0
        self._seen: BoundedMap[int, None] = BoundedMap(REMEMBERED)  # update ids admitted lately
        self._owed: BoundedMap[int, float] = BoundedMap(OWED)  # done marks not yet written

    @property
    def healthy(self) -> bool:
        return not self._failing

    # -- start and stop ------------------------------------------------------------------

    def open(self) -> list[Pending]:
        """Open (or create) the file; the updates left unfinished, in update id order. Those too
        old, or attempted MAX_ATTEMPTS times, become dead letters instead."""
        self._opened = True
        if not self._usable():
            return []
        try:
            return self._take_unfinished()
        except (sqlite3.Error, OSError) as exc:
            self._fail(exc)
            return []

    def close(self) -> None:
        """Write owed done marks if possible, truncate the WAL, close."""
        if self._conn is not None and self._usable():
            self._pay_owed()
            if self._conn is not None:
                with contextlib.suppress(sqlite3.Error, OSError):
                    self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self._opened = False
        self._disconnect()

    # -- the life of an update -----------------------------------------------------------

    def admit(self, update_id: int, payload: str) -> bool:
        """Keep an update that has just arrived; False if it arrived before (do not process
        it again). True also when the file cannot be written: it is processed unprotected."""
        if update_id in self._seen:
            return False
        fresh = True
        if self._usable():
            assert self._conn is not None
            try:
                fresh = (
                    self._conn.execute(
                        "INSERT OR IGNORE INTO updates (update_id, received, payload) VALUES (?, ?, ?)",
                        (update_id, self._clock(), payload),
                    ).rowcount
                    == 1
                )
                self._dirty = True
            except (sqlite3.Error, OSError) as exc:
                self._fail(exc)
        self._remember(update_id)
        return fresh

    def start(self, update_id: int) -> None:
        """Processing of the update begins: if the process dies before `done` or `release`,
        this run counts as an attempt at it. Written before it returns."""
        self._write("UPDATE updates SET attempts = attempts + 1 WHERE update_id = ? AND done IS NULL", update_id)

    def release(self, update_id: int) -> None:
        """Processing was stopped on purpose (a clean stop cancelled it): not an attempt."""
        self._write(
            "UPDATE updates SET attempts = max(attempts - 1, 0) WHERE update_id = ? AND done IS NULL", update_id
        )

    def clear(self, update_id: int) -> None:
        """A suspect got through its own work (it is waiting for Telegram now): the runs that
        died while it was in flight were not its fault."""
        self._write("UPDATE updates SET attempts = 0 WHERE update_id = ? AND done IS NULL", update_id)

    def give_up(self, update_id: int, reason: str) -> None:
        """Make a pending update a dead letter now (`reason`: e.g. it cannot be read back)."""
        if not self._usable():
            return
        assert self._conn is not None
        now = self._clock()
        try:
            self._conn.execute("BEGIN IMMEDIATE")
            self._conn.execute(
                "INSERT OR REPLACE INTO dead_letters (update_id, received, failed, attempts, reason, payload)"
                " SELECT update_id, received, ?, attempts, ?, payload FROM updates WHERE update_id = ?",
                (now, reason, update_id),
            )
            self._conn.execute("UPDATE updates SET done = ?, payload = NULL WHERE update_id = ?", (now, update_id))
            self._conn.execute("COMMIT")
        except (sqlite3.Error, OSError) as exc:
            with contextlib.suppress(sqlite3.Error):
                self._conn.execute("ROLLBACK")
            self._fail(exc)
            return
        self._dirty = True

    def untold_dead_letters(self) -> int:
        """How many dead letters staff have not been told about (`told_dead_letters` when they were)."""
        if not self._usable():
            return 0
        assert self._conn is not None
        try:
            return self._conn.execute("SELECT count(*) FROM dead_letters WHERE told = 0").fetchone()[0]
        except (sqlite3.Error, OSError) as exc:
            self._fail(exc)
            return 0

    def told_dead_letters(self) -> None:
        if self._usable():
            assert self._conn is not None
            try:
                self._conn.execute("UPDATE dead_letters SET told = 1 WHERE told = 0")
                self._dirty = True
            except (sqlite3.Error, OSError) as exc:
                self._fail(exc)

    def done(self, update_id: int) -> None:
        """The update was answered (or deliberately ignored): forget its payload."""
        self._owed[update_id] = self._clock()
        if self._usable():
            self._pay_owed()

    def housekeep(self) -> None:
        """Call every second or so: truncates the WAL (at most every CHECKPOINT_EVERY seconds,
        after writes), prunes finished rows (every PRUNE_EVERY seconds), and tries the file
        again when it failed."""
        if not self._usable():
            return
        assert self._conn is not None
        now = self._clock()
        try:
            if now >= self._next_prune:
                self._next_prune = now + PRUNE_EVERY
                self._prune(now)
            if self._dirty and now >= self._next_checkpoint:
                self._next_checkpoint = now + CHECKPOINT_EVERY
                self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                self._dirty = False
        except (sqlite3.Error, OSError) as exc:
            self._fail(exc)

    def _write(self, sql: str, update_id: int) -> None:
        if not self._usable():
            return  # working in memory: nothing is counted
        assert self._conn is not None
        try:
            self._conn.execute(sql, (update_id,))
            self._dirty = True
        except (sqlite3.Error, OSError) as exc:
            self._fail(exc)

    # -- the file --------------------------------------------------------------------------

    def _usable(self) -> bool:
        """Connected to the file at `path`, (re)connecting if it is time to try; False means
        work in memory for now."""
        if not self._opened:
            return False
        if self._conn is not None and file_identity(self.path) != self._file:
            self._disconnect()
            log.error("update journal %s was deleted or replaced; starting a new one", self.path)
            self._failing = False  # a new file is tried at once
            self._retry_at = 0.0
        if self._conn is not None:
            return True
        if self._clock() < self._retry_at:
            return False
        try:
            self._connect()
            self._pay_owed()
        except (sqlite3.Error, OSError) as exc:
            self._fail(exc)
            return False
        return self._conn is not None

    def _connect(self) -> None:
        if not self.path.exists():
            _create_private(self.path)
        # WAL, synchronous=NORMAL (see the module docstring), secure_delete (erased payloads are
        # overwritten); usable from another thread, which closes it if the journal thread is gone.
        conn = connect(self.path, busy_timeout=self._busy_timeout)
        try:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise sqlite3.DatabaseError(f"written by a newer servicebot (version {version})")
            if version == 1:  # counted starts, not attempts: each pending update starts at 0 again
                conn.execute("ALTER TABLE updates ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0")
            conn.executescript(_SCHEMA)
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        except BaseException:
            conn.close()
            raise
        self._conn, self._file = conn, file_identity(self.path)
        if self._failing:
            self._failing = False
            log.info("update journal %s is writable again; updates are kept until answered", self.path)

    def _disconnect(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(sqlite3.Error):
                self._conn.close()
            self._conn = None

    def _fail(self, exc: BaseException) -> None:
        self._disconnect()
        self._retry_at = self._clock() + self._retry_every
        if not self._failing:
            self._failing = True
            log.error(
                "update journal %s cannot be written (%s): answering without it, so updates received"
                " until it recovers are lost if the bot dies; trying again every %g s",
                self.path,
                str(exc) or type(exc).__name__,
                self._retry_every,
            )

    # -- rows --------------------------------------------------------------------------------

    def _remember(self, update_id: int) -> None:
        if update_id not in self._seen:  # one already remembered keeps its place
            self._seen[update_id] = None

    def _pay_owed(self) -> None:
        if not self._owed or self._conn is None:
            return
        owed = [(at, update_id) for update_id, at in self._owed.items()]
        try:
            self._conn.executemany("UPDATE updates SET done = ?, payload = NULL WHERE update_id = ?", owed)
        except (sqlite3.Error, OSError) as exc:
            self._fail(exc)
            return
        self._owed.clear()
        self._dirty = True

    def _take_unfinished(self) -> list[Pending]:
        assert self._conn is not None
        now = self._clock()
        conn = self._conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            rows = conn.execute(
                "SELECT update_id, received, attempts, payload FROM updates"
                " WHERE done IS NULL AND payload IS NOT NULL ORDER BY update_id"
            ).fetchall()
            stale = [r for r in rows if r[1] < now - self._max_age]
            failing = [r for r in rows if r[1] >= now - self._max_age and r[2] >= self._max_attempts]
            dead = [(*r[:3], "age", r[3]) for r in stale] + [(*r[:3], "attempts", r[3]) for r in failing]
            conn.executemany(
                "INSERT OR REPLACE INTO dead_letters (update_id, received, failed, attempts, reason, payload)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                [(u, received, now, attempts, reason, payload) for u, received, attempts, reason, payload in dead],
            )
            conn.executemany(
                "UPDATE updates SET done = ?, payload = NULL WHERE update_id = ?", [(now, d[0]) for d in dead]
            )
            given_up = {d[0] for d in dead}
            pending = [Pending(r[0], r[3], r[2]) for r in rows if r[0] not in given_up]
            conn.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            raise
        self._dirty = True
        for p in pending:
            self._remember(p.update_id)
        if stale:
            log.error(
                "update journal: %d updates unanswered for more than %g h are dead letters now"
                " (`servicebot health` lists them)",
                len(stale),
                self._max_age / 3600,
            )
        if failing:
            log.error(
                "update journal: %d updates are dead letters now: the bot stopped %d times while processing each"
                " (one of them may be what brings it down); `servicebot health` lists them",
                len(failing),
                self._max_attempts,
            )
        if pending:
            suspects = sum(1 for p in pending if p.attempts)
            log.info(
                "update journal: %d updates received before the last stop are answered first%s",
                len(pending),
                f" ({suspects} were being processed when it stopped: they are processed one at a time)"
                if suspects
                else "",
            )
        return pending

    def _prune(self, now: float) -> None:
        assert self._conn is not None
        conn = self._conn
        conn.execute("DELETE FROM updates WHERE done IS NOT NULL AND done < ?", (now - self._dedup_window,))
        conn.execute(
            "DELETE FROM updates WHERE done IS NOT NULL AND update_id IN ("
            " SELECT update_id FROM updates WHERE done IS NOT NULL ORDER BY done DESC LIMIT -1 OFFSET ?)",
            (self._max_done_rows,),
        )
        conn.execute("DELETE FROM dead_letters WHERE failed < ?", (now - DEAD_KEEP,))
        self._dirty = True


__all__ = [
    "DEAD_KEEP",
    "DEDUP_WINDOW",
    "MAX_AGE",
    "MAX_ATTEMPTS",
    "Pending",
    "UpdateJournal",
    "dead_letter_count",
]
