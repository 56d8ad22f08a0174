"""The SQLite file under the interaction log: how it is opened and how times are stored.

Times are stored as UTC text, ``YYYY-MM-DD HH:MM:SS.ffffff``, which sorts as text and which
SQLite's date functions read; "days" in summaries are China days (UTC+8).

`Database` is for the small writes that must be on disk before the bot goes on (a hand-off
ticket before the resident is told its number, a staff reply before it is relayed): one
connection, one transaction at a time, from whichever thread calls.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

from servicebot.errors import StorageError
from servicebot.migrations import migrate

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


def file_identity(path: Path) -> tuple[int, int] | None:
    """The file at `path` as (device, inode), None if there is none: a connection that kept
    this from when it opened can tell its file was deleted or replaced since."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


def remove_stale_wal(path: Path) -> None:
    """Delete `path`'s -wal and -shm files, before a new database is created there: it must
    not pick up the write-ahead log of a deleted one."""
    for suffix in ("-wal", "-shm"):
        with contextlib.suppress(OSError):
            os.unlink(f"{path}{suffix}")


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


class Database:
    """One connection to the log's file, shared by threads one transaction at a time.

    The file and its schema are created on first use (`create`), or must exist (readers such
    as `servicebot tickets`). Any SQLite error becomes a StorageError, and the connection is
    opened afresh for the next transaction (the file may have been replaced meanwhile).
    """

    def __init__(self, path: Path, *, create: bool = True, busy_timeout: float = BUSY_TIMEOUT):
        self.path = Path(path)
        self.create = create
        self.busy_timeout = busy_timeout
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None

    @contextlib.contextmanager
    def transaction(self, *, write: bool = True) -> Iterator[sqlite3.Connection]:
        """A connection inside one transaction: committed when the block ends, rolled back if it raises."""
        with self._lock:
            try:
                conn = self._connect()
                conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
                try:
                    yield conn
                    conn.execute("COMMIT")
                except BaseException:
                    with contextlib.suppress(sqlite3.Error):
                        conn.execute("ROLLBACK")
                    raise
            except (sqlite3.Error, OSError) as exc:
                self._disconnect()
                raise StorageError(f"数据库 {self.path} 读写失败：{exc}") from exc

    def _connect(self) -> sqlite3.Connection:
        if self._conn is None:
            if not self.create and not self.path.is_file():
                raise StorageError(f"找不到数据库 {self.path}（请检查 --data-dir 或 SERVICEBOT_DATA_DIR）")
            if self.create:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = connect(self.path, create=self.create, busy_timeout=self.busy_timeout)
            try:
                migrate(conn)
            except BaseException:
                conn.close()
                raise
            self._conn = conn
        return self._conn

    def _disconnect(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(sqlite3.Error):
                self._conn.close()
            self._conn = None

    def close(self) -> None:
        with self._lock:
            self._disconnect()
