"""Staff desk accounts and their sign-in sessions, in the log's SQLite file (migration 5).

Rows only: what a password must be and how it is hashed, how long a session lasts and what a
cookie looks like are `staffdesk.accounts`' business. This module never sees a password or a
session cookie: it stores an argon2 hash and the sha256 of the cookie.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from servicebot.storage.db import Database, database_for, from_utc_text, utc_text


@dataclass(frozen=True)
class AccountRow:
    name: str
    password: str  # the argon2 hash
    admin: bool
    created_at: dt.datetime
    password_at: dt.datetime
    disabled_at: dt.datetime | None
    sessions: int = 0  # signed in now (sessions not yet ended or swept)


@dataclass(frozen=True)
class SessionRow:
    id: str  # sha256 of the cookie
    account: str
    admin: bool
    csrf: str
    created_at: dt.datetime
    seen_at: dt.datetime
    disabled: bool  # the account was disabled since


_ACCOUNT = (
    "a.name, a.password, a.admin, a.created_at, a.password_at, a.disabled_at,"
    " (SELECT count(*) FROM staff_sessions s WHERE s.account = a.name)"
)


def _account(row: tuple) -> AccountRow:
    name, password, admin, created, changed, disabled, sessions = row
    return AccountRow(
        name,
        password,
        bool(admin),
        from_utc_text(created),
        from_utc_text(changed),
        from_utc_text(disabled) if disabled else None,
        sessions,
    )


class StaffStore:
    """Accounts and sessions of one database file; every method is one short transaction.
    `db` is the process's `Database` (the running bot's staff desk: sessions are touched at
    every poll, and must not wait on SQLite's lock for the log's writer), or a path, for a
    connection of its own (`servicebot staff`)."""

    def __init__(self, db: Database | Path, *, create: bool = True):
        self.db, self._owned = database_for(db, create=create)

    def close(self) -> None:
        if self._owned:
            self.db.close()

    # -- accounts ----------------------------------------------------------------------------

    def add(self, name: str, password_hash: str, *, admin: bool, at: dt.datetime) -> bool:
        """A new account; False when the name is taken (in any letter case)."""
        with self.db.transaction() as conn:
            if conn.execute("SELECT 1 FROM staff_accounts WHERE name = ?", (name,)).fetchone():
                return False
            conn.execute(
                "INSERT INTO staff_accounts (name, password, admin, created_at, password_at) VALUES (?,?,?,?,?)",
                (name, password_hash, int(admin), utc_text(at), utc_text(at)),
            )
            return True

    def account(self, name: str) -> AccountRow | None:
        with self.db.transaction(write=False) as conn:
            row = conn.execute(f"SELECT {_ACCOUNT} FROM staff_accounts a WHERE a.name = ?", (name,)).fetchone()
        return _account(row) if row else None

    def accounts(self) -> list[AccountRow]:
        with self.db.transaction(write=False) as conn:
            rows = conn.execute(f"SELECT {_ACCOUNT} FROM staff_accounts a ORDER BY a.created_at, a.name").fetchall()
        return [_account(r) for r in rows]

    def set_password(self, name: str, password_hash: str, at: dt.datetime, *, end_sessions: bool) -> bool:
        """A new hash (a new password, or the same one hashed with newer parameters); with
        `end_sessions`, everyone signed in with the old password is signed out."""
        with self.db.transaction() as conn:
            changed = conn.execute(
                "UPDATE staff_accounts SET password = ?, password_at = ? WHERE name = ?",
                (password_hash, utc_text(at), name),
            ).rowcount
            if changed and end_sessions:
                conn.execute("DELETE FROM staff_sessions WHERE account = ?", (name,))
            return bool(changed)

    def set_disabled(self, name: str, at: dt.datetime | None) -> int | None:
        """Disable (`at`) or enable (None) an account; disabling ends its sessions. The number of
        sessions ended; None for an unknown account."""
        with self.db.transaction() as conn:
            found = conn.execute(
                "UPDATE staff_accounts SET disabled_at = ? WHERE name = ?", (utc_text(at) if at else None, name)
            ).rowcount
            if not found:
                return None
            if at is None:
                return 0
            return conn.execute("DELETE FROM staff_sessions WHERE account = ?", (name,)).rowcount

    # -- sessions ----------------------------------------------------------------------------

    def open_session(self, session_id: str, account: str, csrf: str, at: dt.datetime) -> None:
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO staff_sessions (id, account, csrf, created_at, seen_at) VALUES (?,?,?,?,?)",
                (session_id, account, csrf, utc_text(at), utc_text(at)),
            )

    def session(self, session_id: str) -> SessionRow | None:
        with self.db.transaction(write=False) as conn:
            row = conn.execute(
                "SELECT s.id, a.name, a.admin, s.csrf, s.created_at, s.seen_at, a.disabled_at IS NOT NULL"
                " FROM staff_sessions s JOIN staff_accounts a ON a.name = s.account WHERE s.id = ?",
                (session_id,),
            ).fetchone()
        if row is None:
            return None
        sid, name, admin, csrf, created, seen, disabled = row
        return SessionRow(sid, name, bool(admin), csrf, from_utc_text(created), from_utc_text(seen), bool(disabled))

    def touch(self, session_id: str, at: dt.datetime) -> None:
        with self.db.transaction() as conn:
            conn.execute("UPDATE staff_sessions SET seen_at = ? WHERE id = ?", (utc_text(at), session_id))

    def end_session(self, session_id: str) -> bool:
        with self.db.transaction() as conn:
            return bool(conn.execute("DELETE FROM staff_sessions WHERE id = ?", (session_id,)).rowcount)

    def sweep(self, created_before: dt.datetime, seen_before: dt.datetime) -> int:
        """End sessions past their lifetime or idle too long; how many."""
        with self.db.transaction() as conn:
            return conn.execute(
                "DELETE FROM staff_sessions WHERE created_at < ? OR seen_at < ?",
                (utc_text(created_before), utc_text(seen_before)),
            ).rowcount


__all__ = ["AccountRow", "SessionRow", "StaffStore"]
