"""Messages waiting for residents who are not there to receive them, kept in SQLite.

A staff reply to a web-chat resident cannot be pushed to a closed page: it waits here until
the page asks for it (`after`), even across a restart of the bot. The page asks for what
came after the last message it has seen, which also acknowledges everything up to it: those
are deleted then, so a reply's text is kept no longer than needed. A channel that can only
answer when the resident writes (WeChat's passive replies) takes everything waiting at that
moment (`take`), which deletes it. Nothing is kept longer than `keep_days`: older messages
are never returned, and are deleted whenever a message is put and by `purge`.

Residents are identified by the channel's keyed hash, never by a raw id. Ids only grow
(they start from the clock, so a page that saw ids of an older outbox still gets new ones).

A message put with a `once` name (a staff reply's reference) is kept once, however often it
is put within `keep_days`: the desk delivers a reply again when the bot stopped before it
could note the first delivery, and the resident must not see it twice.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from servicebot.records import Channel
from servicebot.storage.db import UTC, Database, database_for, utc_text

MAX_WAITING = 50  # messages kept per resident; the oldest go first


class Outbox:
    """The outbox in one database file: `db` is the process's `Database` (or a path, for a
    connection of its own)."""

    def __init__(self, db: Database | Path, *, keep_days: int, clock: Callable[[], float] = time.time):
        self.db, self._owned = database_for(db)
        self.keep_days = keep_days
        self._clock = clock

    def put(self, channel: Channel, resident: str, message: dict[str, Any], *, once: str | None = None) -> int | None:
        """Keep a message for the resident; its id. None: a message put before under the name
        `once` (it is kept, or was shown, already)."""
        now = self._clock()
        with self.db.transaction() as conn:
            if once is not None:
                at = utc_text(dt.datetime.fromtimestamp(now, UTC))
                new = conn.execute(
                    "INSERT OR IGNORE INTO outbox_once (channel, once, at) VALUES (?,?,?)", (channel.value, once, at)
                ).rowcount
                if not new:
                    return None
            last = conn.execute("SELECT coalesce(max(id), 0) FROM outbox").fetchone()[0]
            message_id = max(last + 1, int(now * 1_000_000))
            conn.execute(
                "INSERT INTO outbox (id, channel, resident, at, message) VALUES (?,?,?,?,?)",
                (
                    message_id,
                    channel.value,
                    resident,
                    utc_text(dt.datetime.fromtimestamp(now, UTC)),
                    json.dumps(message),
                ),
            )
            conn.execute(
                "DELETE FROM outbox WHERE channel = ? AND resident = ? AND id NOT IN"
                " (SELECT id FROM outbox WHERE channel = ? AND resident = ? ORDER BY id DESC LIMIT ?)",
                (channel, resident, channel, resident, MAX_WAITING),
            )
            conn.execute("DELETE FROM outbox WHERE at < ?", (self._oldest(),))
            conn.execute("DELETE FROM outbox_once WHERE at < ?", (self._oldest(),))
        return message_id

    def after(self, channel: Channel, resident: str, after: int) -> list[dict[str, Any]]:
        """Messages after id `after`, each with its "id"; those up to `after` were seen: deleted.
        A page asks every few seconds, mostly for nothing: that costs a read, no write lock."""
        with self.db.transaction(write=False) as conn:
            rows = conn.execute(
                "SELECT id, at, message FROM outbox WHERE channel = ? AND resident = ? ORDER BY id",
                (channel, resident),
            ).fetchall()
        if any(message_id <= after for message_id, _, _ in rows):
            with self.db.transaction() as conn:
                conn.execute(
                    "DELETE FROM outbox WHERE channel = ? AND resident = ? AND id <= ?", (channel, resident, after)
                )
        oldest = self._oldest()
        return [
            {**json.loads(message), "id": message_id}
            for message_id, at, message in rows
            if message_id > after and at >= oldest
        ]

    def take(self, channel: Channel, resident: str) -> list[dict[str, Any]]:
        """Every message waiting for the resident, oldest first, removed from the outbox: each
        is taken once, also by two calls at the same moment. Asked with every message a
        resident sends, mostly for nothing: that costs a read, no write lock."""
        with self.db.transaction(write=False) as conn:
            waiting = conn.execute(
                "SELECT 1 FROM outbox WHERE channel = ? AND resident = ? LIMIT 1", (channel, resident)
            ).fetchone()
        if waiting is None:
            return []
        with self.db.transaction() as conn:
            rows = conn.execute(
                "SELECT id, message FROM outbox WHERE channel = ? AND resident = ? AND at >= ? ORDER BY id",
                (channel, resident, self._oldest()),
            ).fetchall()
            conn.execute("DELETE FROM outbox WHERE channel = ? AND resident = ?", (channel, resident))
        return [json.loads(message) for _, message in rows]

    def residents(self, channel: Channel) -> set[str]:
        """The residents of `channel` something waits for (also too old to show: take clears it)."""
        with self.db.transaction(write=False) as conn:
            rows = conn.execute("SELECT DISTINCT resident FROM outbox WHERE channel = ?", (channel,)).fetchall()
        return {resident for (resident,) in rows}

    def purge(self) -> int:
        """Delete messages older than `keep_days`; how many."""
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM outbox_once WHERE at < ?", (self._oldest(),))
            return conn.execute("DELETE FROM outbox WHERE at < ?", (self._oldest(),)).rowcount

    def close(self) -> None:
        if self._owned:
            self.db.close()

    def _oldest(self) -> str:
        return utc_text(dt.datetime.fromtimestamp(self._clock(), UTC) - dt.timedelta(days=self.keep_days))


__all__ = ["MAX_WAITING", "Outbox"]
