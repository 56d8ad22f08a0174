"""The SQLite file under the interaction log: how it is opened and how times are stored.

Times are stored as UTC text, ``YYYY-MM-DD HH:MM:SS.ffffff``, which sorts as text and which
SQLite's date functions read; "days" in summaries are China days (UTC+8).
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

CHINA_TZ = dt.timezone(dt.timedelta(hours=8), "UTC+8")
UTC = dt.UTC

BUSY_TIMEOUT = 1.0  # seconds to wait for another connection's lock before counting a failure


def connect(path: Path, *, create: bool, busy_timeout: float = BUSY_TIMEOUT) -> sqlite3.Connection:
    """A connection in autocommit mode (transactions are explicit), WAL journal."""
    mode = "rwc" if create else "rw"
    conn = sqlite3.connect(
        f"{Path(path).resolve().as_uri()}?mode={mode}",
        uri=True,
        timeout=busy_timeout,
        isolation_level=None,
        check_same_thread=False,
    )
    try:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")  # durable across app crashes in WAL mode
        conn.execute("PRAGMA secure_delete = ON")  # purged rows are overwritten, not left in free pages
    except BaseException:
        conn.close()
        raise
    return conn


def utc_text(moment: dt.datetime) -> str:
    """How a time is stored (naive times are taken as UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def from_utc_text(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=UTC)


def china_day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    start = dt.datetime.combine(day, dt.time(), CHINA_TZ)
    return start, start + dt.timedelta(days=1)
