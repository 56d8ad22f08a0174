"""Staff desk accounts: names and passwords, argon2 hashes, sessions and how they end, the
sign-in gate, and `servicebot staff …` (a real SQLite file, a clock the test moves)."""

from __future__ import annotations

import datetime as dt
import io
import sqlite3
from typing import Literal

import pytest
from argon2 import PasswordHasher

from servicebot import cli
from servicebot.errors import StaffAccountError
from servicebot.staffdesk import accounts as accounts_module
from servicebot.staffdesk.accounts import SESSION_IDLE, SESSION_MAX, Accounts, session_id
from servicebot.staffdesk.admin import ADDED, DISABLED, MISMATCH, NO_ACCOUNTS, read_password
from servicebot.staffdesk.guard import SignInGate

from support.fakes import Clock
from support.wording import wording

START = dt.datetime(2026, 12, 1, 1, 0, tzinfo=dt.UTC)
FAST = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)  # the same argon2id, cheaper for unit tests


@pytest.fixture
def clock():
    return Clock(START)


@pytest.fixture
def accounts(tmp_path, clock):
    store = Accounts(tmp_path / "log.sqlite3", clock=clock, hasher=FAST)
    yield store
    store.close()


def advance(clock: Clock, delta: dt.timedelta) -> None:
    clock.now = clock.now + delta


def test_a_password_is_kept_only_as_an_argon2id_hash(accounts, tmp_path):
    accounts.add("张三", "correct horse 1")
    (stored,) = sqlite3.connect(tmp_path / "log.sqlite3").execute("SELECT password FROM staff_accounts").fetchone()
    assert stored.startswith("$argon2id$") and "correct horse" not in stored
    assert accounts.verify("张三", "correct horse 1").name == "张三"
    assert accounts.verify("张三", "correct horse 2") is None
    assert accounts.verify("张三", "") is None
    assert accounts.verify("王五", "correct horse 1") is None


def test_names_and_passwords_are_checked(accounts):
    for name in ("", "张 三", "a" * 21, "x<y", "名/字"):
        with pytest.raises(StaffAccountError, match="账号名"):
            accounts.add(name, "correct horse 1")
    with pytest.raises(StaffAccountError, match="太短"):
        accounts.add("张三", "short")
    with pytest.raises(StaffAccountError, match="太长"):
        accounts.add("张三", "x" * 257)
    with pytest.raises(StaffAccountError, match="不能和账号名一样"):
        accounts.add("zhangsan", "ZhangSan")
    accounts.add("Zhang.San-2", "correct horse 1")
    with pytest.raises(StaffAccountError, match="已经有"):
        accounts.add("zhang.san-2", "another one 12")  # names differ in case only: taken


def test_a_rehash_follows_stronger_defaults_at_sign_in(tmp_path, clock):
    weak = Accounts(tmp_path / "log.sqlite3", clock=clock, hasher=FAST)
    weak.add("张三", "correct horse 1")
    weak.close()
    stronger = PasswordHasher(time_cost=2, memory_cost=64, parallelism=1)
    strong = Accounts(tmp_path / "log.sqlite3", clock=clock, hasher=stronger)
    assert strong.verify("张三", "correct horse 1") is not None
    account = strong.store.account("张三")
    assert account is not None and "t=2" in account.password
    strong.close()


def test_a_session_ends_at_sign_out_idle_time_lifetime_disable_and_password_change(accounts, clock, tmp_path):
    accounts.add("张三", "correct horse 1")
    account = accounts.verify("张三", "correct horse 1")

    cookie, session = accounts.open_session(account)
    assert accounts.session(cookie) == session and session.id == session_id(cookie)
    rows = sqlite3.connect(tmp_path / "log.sqlite3").execute("SELECT id, csrf FROM staff_sessions").fetchall()
    assert rows == [(session_id(cookie), session.csrf)] and cookie not in str(rows)
    accounts.end_session(session)
    assert accounts.session(cookie) is None  # signed out: the cookie opens nothing

    cookie, _ = accounts.open_session(account)
    advance(clock, SESSION_IDLE - dt.timedelta(minutes=1))
    assert accounts.session(cookie) is not None  # in use: it lives on
    advance(clock, SESSION_IDLE - dt.timedelta(minutes=1))
    assert accounts.session(cookie) is not None
    advance(clock, SESSION_IDLE + dt.timedelta(seconds=1))
    assert accounts.session(cookie) is None  # idle too long

    cookie, _ = accounts.open_session(account)
    for _ in range(int(SESSION_MAX / dt.timedelta(hours=1))):
        advance(clock, dt.timedelta(hours=1))
        accounts.session(cookie)
    advance(clock, dt.timedelta(minutes=1))
    assert accounts.session(cookie) is None  # past the working day, however busy

    cookie, _ = accounts.open_session(account)
    assert accounts.disable("张三") == 1 and accounts.session(cookie) is None
    assert accounts.verify("张三", "correct horse 1") is None  # disabled: no sign-in
    accounts.enable("张三")
    cookie, _ = accounts.open_session(accounts.verify("张三", "correct horse 1"))
    accounts.set_password("张三", "battery staple 2")
    assert accounts.session(cookie) is None
    assert accounts.verify("张三", "battery staple 2") is not None


class CountingHasher(PasswordHasher):
    """The fast hasher, noting each hash it checks a password against."""

    def __init__(self) -> None:
        super().__init__(time_cost=1, memory_cost=8, parallelism=1)
        self.verified: list[str] = []

    def verify(self, hash: str | bytes, password: str | bytes) -> Literal[True]:
        assert isinstance(hash, str), hash  # `Accounts` keeps its hashes as text
        self.verified.append(hash)
        return super().verify(hash, password)


def test_unknown_and_disabled_accounts_cost_the_same_hashing(tmp_path, clock):
    hasher = CountingHasher()
    accounts = Accounts(tmp_path / "log.sqlite3", clock=clock, hasher=hasher)
    accounts.add("张三", "correct horse 1")
    accounts.add("李四", "correct horse 1")
    accounts.disable("李四")
    assert accounts.verify("nobody", "correct horse 1") is None
    assert accounts.verify("张三", "wrong password 1") is None
    assert accounts.verify("李四", "correct horse 1") is None
    assert len(hasher.verified) == 3 and all(h.startswith("$argon2id$") for h in hasher.verified)
    accounts.close()


def test_the_gate_counts_failures_per_name_and_address_in_a_sliding_window():
    clock = Clock(0.0)
    gate = SignInGate(per_name=3, per_address=5, window=600, clock=clock)
    for n in range(3):
        assert gate.wait("张三", "10.0.0.1") == 0
        assert gate.failed("张三", "10.0.0.1") == n + 1
    assert gate.wait("张三", "10.0.0.1") == 600
    assert gate.wait("张三", "10.0.0.2") == 600  # the name, wherever from
    assert gate.wait("李四", "10.0.0.1") == 0
    clock.advance(599)
    assert gate.wait("张三", "10.0.0.1") == pytest.approx(1)
    clock.advance(2)
    assert gate.wait("张三", "10.0.0.1") == 0  # the window passed
    gate.failed("张三", "10.0.0.1")
    gate.succeeded("张三")
    assert gate.wait("ZHANG三".lower(), "10.0.0.3") == 0
    for n in range(5):
        gate.failed(f"user{n}", "10.0.0.9")
    assert gate.wait("anyone", "10.0.0.9") > 0  # the address, whatever the name


def test_the_gate_forgets_the_oldest_keys_first(monkeypatch):
    monkeypatch.setattr("servicebot.staffdesk.guard.REMEMBERED", 10)
    gate = SignInGate(per_name=1, per_address=100, clock=Clock(0.0))
    for n in range(20):
        gate.failed(f"user{n}", f"10.0.1.{n}")
    assert gate.wait("user19", "x") > 0 and gate.wait("user0", "x") == 0
    assert len(gate._failures) <= 10


# --- servicebot staff ---------------------------------------------------------------------------


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_read_password_asks_twice_at_a_terminal_and_reads_one_line_otherwise():
    answers = iter(["correct horse 1", "correct horse 1"])
    assert read_password("张三", Terminal(), lambda prompt: next(answers)) == "correct horse 1"
    answers = iter(["correct horse 1", "typo"])
    with pytest.raises(StaffAccountError, match=MISMATCH):
        read_password("张三", Terminal(), lambda prompt: next(answers))
    assert read_password("张三", io.StringIO("pass word 123\r\nrest\n")) == "pass word 123"


def test_staff_commands_add_list_disable_from_a_script(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(accounts_module, "PasswordHasher", lambda: FAST)
    data = ["--data-dir", str(tmp_path / "data")]
    assert cli.main(["staff", "list", *data]) == 1  # a mistyped --data-dir is not a new database
    assert "找不到数据库" in capsys.readouterr().err and not (tmp_path / "data").exists()
    (tmp_path / "data").mkdir()
    Accounts(tmp_path / "data" / "interactions.sqlite3").listing()  # the bot's log, as it creates it
    assert cli.main(["staff", "list", *data]) == 0
    assert NO_ACCOUNTS in capsys.readouterr().out

    monkeypatch.setattr("sys.stdin", io.StringIO("correct horse 1\n"))
    assert cli.main(["staff", "add", "张三", "--admin", *data]) == 0
    assert wording(ADDED, name="张三").search(capsys.readouterr().out)
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert cli.main(["staff", "add", "李四", *data]) == 1
    assert "太短" in capsys.readouterr().err
    monkeypatch.setattr("sys.stdin", io.StringIO("another pass 1\n"))
    assert cli.main(["staff", "add", "张三", *data]) == 1  # taken
    assert "已经有" in capsys.readouterr().err

    assert cli.main(["staff", "disable", "张三", *data]) == 0
    assert wording(DISABLED, name="张三", sessions=0).search(capsys.readouterr().out)
    assert cli.main(["staff", "disable", "王五", *data]) == 1
    assert cli.main(["staff", "list", *data]) == 0
    listed = capsys.readouterr().out
    assert "张三" in listed and "已停用" in listed and "是" in listed
    assert "correct horse" not in listed
