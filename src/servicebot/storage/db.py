"""The SQLite files the bot keeps: how they are opened, who owns the log's connection, and
how times are stored.

`connect` is the one place a connection to one of them is made, with the same settings
everywhere (autocommit, WAL, synchronous=NORMAL, secure_delete; read-only when asked): the
interaction log's `Database`, the log's reader, `health`, and the update journal (its own
file, its own busy timeout). The word tables shipped in the package (`servicebot.data`) are
not kept by the bot: read-only and immutable, they open on their own.

Times are stored as UTC text, ``YYYY-MM-DD HH:MM:SS.ffffff``, which sorts as text and which
SQLite's date functions read; "days" in summaries are China days (UTC+8).

`Database` is the one owner of the bot's connection to `interactions.sqlite3`: the log's
writer, the hand-off tickets and the outboxes of the web chat and WeChat all write through
it (`channels.Core` makes one and hands it to each), one transaction at a time, in the order
they asked (a first-come lock), so none of them ever waits on SQLite's own lock for another
(that is what made hand-offs fail with "database is locked" while the log's writer was busy).

Before each transaction it checks that the file at its path is still the one it opened. If
the file was deleted or replaced while the bot ran, writing on would go to a file nobody can
see any more (and be lost at the next start): it says so once, loudly, opens (or creates)
the file now at the path, and notes in it when that happened (`replaced_at`), which
`servicebot health` reports.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import sqlite3
import threading
from collections import deque
from collections.abc import Iterator
from pathlib import Path

from servicebot.errors import StorageError
from servicebot.storage.migrations import migrate

log = logging.getLogger(__name__)

CHINA_TZ = dt.timezone(dt.timedelta(hours=8), "UTC+8")
UTC = dt.UTC

BUSY_TIMEOUT = 5.0  # seconds to wait for another process's lock (`servicebot ask --log`, a backup)
FILE_ID = "file_id"  # meta key: a random id the file gets when it is first opened
REPLACED_AT = "replaced_at"  # meta key: when the bot found its file deleted or replaced, and started afresh


def connect(
    path: Path, *, create: bool = False, read_only: bool = False, busy_timeout: float = BUSY_TIMEOUT
) -> sqlite3.Connection:
    """A connection to one of the bot's SQLite files: autocommit (transactions are explicit),
    usable from any thread (one at a time), waiting `busy_timeout` seconds for another's lock.

    Read-write (`create`: the file is made if missing) in WAL mode, synchronous=NORMAL and
    secure_delete; `read_only` (mode=ro) sets nothing that would write to the file."""
    mode = "ro" if read_only else "rwc" if create else "rw"
    conn = sqlite3.connect(
        f"{Path(path).resolve().as_uri()}?mode={mode}",
        uri=True,
        timeout=busy_timeout,
        isolation_level=None,
        check_same_thread=False,
    )
    if read_only:
        return conn
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


def replaced_at(conn: sqlite3.Connection) -> dt.datetime | None:
    """When a running bot found this file's predecessor deleted or replaced (None: never)."""
    try:
        row = conn.execute("SELECT value FROM meta WHERE key = ?", (REPLACED_AT,)).fetchone()
    except sqlite3.OperationalError:  # a log from before migration 5: no meta table
        return None
    return from_utc_text(row[0]) if row else None


class FairLock:
    """A lock handed to waiting threads in the order they asked: a thread that releases and
    asks again at once (the log's writer, under load) cannot starve the others."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._held = False
        self._waiting: deque[threading.Lock] = deque()

    def __enter__(self) -> FairLock:
        with self._guard:
            if not self._held:
                self._held = True
                return self
            turn = threading.Lock()
            turn.acquire()
            self._waiting.append(turn)
        turn.acquire()  # released by the holder, which hands the lock over without letting go
        return self

    def __exit__(self, *exc: object) -> None:
        with self._guard:
            if self._waiting:
                self._waiting.popleft().release()
            else:
                self._held = False


class Database:
    """One connection to the log's file, shared by threads one transaction at a time.

    The file and its schema are created on first use (`create`), or must exist (readers such
    as `servicebot tickets`). Any SQLite error becomes a StorageError, and the connection is
    opened afresh for the next transaction. A file deleted or replaced since it was opened is
    noticed before the next transaction (see the module docstring); `replaced` counts how
    often. Whoever made it closes it (a store given a Database leaves it open).
    """

    def __init__(self, path: Path, *, create: bool = True, busy_timeout: float = BUSY_TIMEOUT):
        self.path = Path(path)
        self.create = create
        self.busy_timeout = busy_timeout
        self.replaced = 0
        self._lock = FairLock()
        self._conn: sqlite3.Connection | None = None
        self._file: tuple[int, int] | None = None  # (device, inode) of the file `_conn` has open
        self._file_id: str | None = None  # the FILE_ID of the file this process used last
        self._lost = False  # the file `_conn` had open was deleted or replaced

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
        # While `_conn` holds the file open its inode cannot be reused, so this stat tells.
        if self._conn is not None and self.create and file_identity(self.path) != self._file:
            self._lost = True
            self._disconnect()  # deleted or replaced: never write on into a file nobody sees
        if self._conn is None:
            if not self.create and not self.path.is_file():
                raise StorageError(f"找不到数据库 {self.path}（请检查 --data-dir 或 SERVICEBOT_DATA_DIR）")
            if self.create:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                if not self.path.exists():
                    remove_stale_wal(self.path)
            conn = connect(self.path, create=self.create, busy_timeout=self.busy_timeout)
            try:
                migrate(conn)
                found, file_id = file_identity(self.path), self._read_file_id(conn)
                if self._file_id is not None and (self._lost or file_id != self._file_id):
                    self._note_replaced(conn)
            except BaseException:
                conn.close()
                raise
            self._conn, self._file, self._lost = conn, found, False
            self._file_id = file_id
        return self._conn

    def _read_file_id(self, conn: sqlite3.Connection) -> str | None:
        """The file's FILE_ID (given one now, if it has none and this is the bot's own file):
        a file deleted while the connection was closed is told apart from the same file
        opened again, even if the new one got the old one's inode."""
        if self.create:
            conn.execute("INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)", (FILE_ID, os.urandom(8).hex()))
        row = conn.execute("SELECT value FROM meta WHERE key = ?", (FILE_ID,)).fetchone()
        return row[0] if row else None

    def _note_replaced(self, conn: sqlite3.Connection) -> None:
        self.replaced += 1
        log.error(
            "interaction log %s was deleted or replaced while the bot ran: continuing in the file now"
            " there. Hand-off tickets, messages waiting for web and WeChat residents and the history"
            " from before are not in it (restore the latest backup to get them back; see docs/operations.md)",
            self.path,
        )
        conn.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (REPLACED_AT, utc_text(dt.datetime.now(UTC)))
        )

    def _disconnect(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(sqlite3.Error):
                self._conn.close()
            self._conn = None

    def close(self) -> None:
        with self._lock:
            self._disconnect()


def database_for(
    db: Database | Path, *, create: bool = True, busy_timeout: float = BUSY_TIMEOUT
) -> tuple[Database, bool]:
    """The `Database` a store works through, and whether it is the store's own (to close):
    `db` itself when given one (the running bot's, which `channels.Core` closes), else one of
    its own for the path (the commands, `health`)."""
    if isinstance(db, Database):
        return db, False
    return Database(db, create=create, busy_timeout=busy_timeout), True
