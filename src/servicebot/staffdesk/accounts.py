"""Who may use the staff desk: accounts, passwords and sign-in sessions.

Accounts are created from the command line (`servicebot staff add NAME`), never from the
desk itself. A password is kept only as an argon2id hash (argon2-cffi's defaults, RFC 9106's
low-memory profile), and rehashed at sign-in when those defaults grow. A session is a random
cookie value; the database keeps its sha256 only, so a copy of the database signs nobody in.

A session ends when its staff member signs out (the row is deleted: the cookie is worthless
from then on, wherever a copy of it went), when the account is disabled or its password is
changed, `SESSION_IDLE` after the last request, and `SESSION_MAX` after sign-in whatever
happens.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from servicebot.errors import StaffAccountError
from servicebot.storage.db import Database
from servicebot.storage.staff import AccountRow, StaffStore

SESSION_IDLE = dt.timedelta(hours=2)  # no request for this long (a closed tab): signed out
SESSION_MAX = dt.timedelta(hours=12)  # a working day; then sign in again
TOUCH_EVERY = dt.timedelta(minutes=1)  # how stale `seen_at` may get before a request writes it
MIN_PASSWORD, MAX_PASSWORD = 8, 256  # characters
NAME_RE = re.compile(r"[\w.\-]{1,20}")  # letters (Chinese too), digits, _ . -

# What staff read (the CLI and the desk); str.format templates.
BAD_NAME = "账号名“{name}”不行：请用 1 到 20 个字（汉字、字母、数字、_ . -），不要有空格。"
NAME_TAKEN = "已经有叫“{name}”的账号了（不区分大小写）。要改密码，请用 servicebot staff password {name}。"
UNKNOWN_ACCOUNT = "没有叫“{name}”的账号。servicebot staff list 列出所有账号。"
SHORT_PASSWORD = "密码太短：至少 {min} 个字符。"
LONG_PASSWORD = "密码太长：最多 {max} 个字符。"
NAME_AS_PASSWORD = "密码不能和账号名一样。"


@dataclass(frozen=True)
class Session:
    """A signed-in staff member, as a request of theirs sees it."""

    id: str  # sha256 of the cookie
    name: str
    admin: bool
    csrf: str  # every form of this session carries it


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def session_id(cookie: str) -> str:
    """What the database keeps of a session cookie."""
    return hashlib.sha256(cookie.encode("utf-8", "surrogatepass")).hexdigest()


def check_name(name: str) -> str:
    if not NAME_RE.fullmatch(name):
        raise StaffAccountError(BAD_NAME.format(name=name))
    return name


def check_password(name: str, password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise StaffAccountError(SHORT_PASSWORD.format(min=MIN_PASSWORD))
    if len(password) > MAX_PASSWORD:
        raise StaffAccountError(LONG_PASSWORD.format(max=MAX_PASSWORD))
    if password.casefold() == name.casefold():
        raise StaffAccountError(NAME_AS_PASSWORD)
    return password


class Accounts:
    """The accounts and sessions of one database file; see the module docstring. Methods block
    (argon2 takes tens of milliseconds on purpose; SQLite): the desk calls them in a thread."""

    def __init__(
        self,
        path: Database | Path,
        *,
        clock: Callable[[], dt.datetime] = _utcnow,
        hasher: PasswordHasher | None = None,
        create: bool = True,
    ):
        self.store = StaffStore(path, create=create)
        self.clock = clock
        self.hasher = hasher or PasswordHasher()
        self._dummy: str | None = None

    def close(self) -> None:
        self.store.close()

    # -- the CLI's side --------------------------------------------------------------------

    def add(self, name: str, password: str, *, admin: bool = False) -> None:
        check_password(check_name(name), password)
        if not self.store.add(name, self.hasher.hash(password), admin=admin, at=self.clock()):
            raise StaffAccountError(NAME_TAKEN.format(name=name))

    def set_password(self, name: str, password: str) -> None:
        """A new password; whoever is signed in with the old one is signed out."""
        account = self._known(name)
        check_password(account.name, password)
        self.store.set_password(account.name, self.hasher.hash(password), self.clock(), end_sessions=True)

    def disable(self, name: str) -> int:
        """No more sign-ins; sessions end now. How many sessions ended."""
        ended = self.store.set_disabled(self._known(name).name, self.clock())
        return ended or 0

    def enable(self, name: str) -> None:
        self.store.set_disabled(self._known(name).name, None)

    def listing(self) -> list[AccountRow]:
        return self.store.accounts()

    def _known(self, name: str) -> AccountRow:
        account = self.store.account(name)
        if account is None:
            raise StaffAccountError(UNKNOWN_ACCOUNT.format(name=name))
        return account

    # -- the desk's side ---------------------------------------------------------------------

    def verify(self, name: str, password: str) -> AccountRow | None:
        """The account when `password` is its password and it may sign in, else None. An
        unknown or disabled account costs the same hashing work, so the answer's timing does not
        tell which names exist."""
        account = self.store.account(name) if NAME_RE.fullmatch(name) and len(password) <= MAX_PASSWORD else None
        stored = account.password if account is not None else self._dummy_hash()
        try:
            self.hasher.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return None
        if account is None or account.disabled_at is not None:
            return None
        if self.hasher.check_needs_rehash(stored):
            self.store.set_password(account.name, self.hasher.hash(password), self.clock(), end_sessions=False)
        return account

    def open_session(self, account: AccountRow) -> tuple[str, Session]:
        """A new session: (the cookie value, the session)."""
        now = self.clock()
        self.store.sweep(now - SESSION_MAX, now - SESSION_IDLE)
        cookie, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        sid = session_id(cookie)
        self.store.open_session(sid, account.name, csrf, now)
        return cookie, Session(sid, account.name, account.admin, csrf)

    def session(self, cookie: str) -> Session | None:
        """The live session a cookie belongs to; None (and the row deleted) when it has ended."""
        if not cookie or len(cookie) > 100:
            return None
        row = self.store.session(session_id(cookie))
        if row is None:
            return None
        now = self.clock()
        if row.disabled or now - row.created_at > SESSION_MAX or now - row.seen_at > SESSION_IDLE:
            self.store.end_session(row.id)
            return None
        if now - row.seen_at > TOUCH_EVERY:
            self.store.touch(row.id, now)
        return Session(row.id, row.account, row.admin, row.csrf)

    def end_session(self, session: Session) -> None:
        """Sign out: the session's row is deleted, so its cookie opens nothing any more."""
        self.store.end_session(session.id)

    def _dummy_hash(self) -> str:
        if self._dummy is None:
            self._dummy = self.hasher.hash(secrets.token_hex(16))
        return self._dummy


__all__ = [
    "MAX_PASSWORD",
    "MIN_PASSWORD",
    "SESSION_IDLE",
    "SESSION_MAX",
    "Accounts",
    "Session",
    "check_name",
    "check_password",
    "session_id",
]
