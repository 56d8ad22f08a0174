"""The update journal on a real SQLite file: each update admitted once, across restarts too;
what is unfinished comes back in order; only a run that died while processing an update
counts as an attempt at it, and one attempted too often becomes a dead letter, never
dropped silently; a finished row keeps no text; bounded; and a file that cannot be written
(locked, deleted, full, a newer version) never stops an update."""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import stat
from pathlib import Path

import pytest

from servicebot.storage.journal import DEAD_KEEP, MAX_ATTEMPTS, UpdateJournal, dead_letter_count

from support.disk import fill
from support.fakes import Clock

QUESTION = "我家住凤凰小区，低保怎么申请"
RAW_ID = 7012345678
T0 = 1_800_000_000.0


def payload(update_id: int, text: str = QUESTION, user: int = RAW_ID) -> str:
    """An update as the Telegram channel stores it (`Update.to_json()`: ASCII-escaped JSON)."""
    chat = {"id": user, "type": "private", "first_name": "居民"}
    message = {"message_id": update_id, "date": 0, "chat": chat, "from": {**chat, "is_bot": False}, "text": text}
    return json.dumps({"update_id": update_id, "message": message})


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "updates.sqlite3"


@pytest.fixture
def clock() -> Clock:
    return Clock(T0)


@pytest.fixture
def journal(path, clock):
    journal = UpdateJournal(path, clock=clock, retry_every=5.0, busy_timeout=0.05)
    assert journal.open() == []
    yield journal
    journal.close()


def reopen(path: Path, clock: Clock, **kwargs) -> tuple[UpdateJournal, list[int]]:
    journal = UpdateJournal(path, clock=clock, busy_timeout=0.05, **kwargs)
    return journal, [p.update_id for p in journal.open()]


def rows(path: Path) -> dict[int, tuple]:
    with sqlite3.connect(path) as conn:
        return {r[0]: r[1:] for r in conn.execute("SELECT update_id, done, attempts, payload FROM updates")}


def file_bytes(path: Path) -> bytes:
    return b"".join(Path(f"{path}{s}").read_bytes() for s in ("", "-wal", "-shm") if Path(f"{path}{s}").exists())


def traces(text: str) -> list[bytes]:
    """The forms a text takes in the file: UTF-8, and JSON's \\u escapes."""
    return [text.encode(), json.dumps(text).strip('"').encode()]


def journal_records(caplog, level: int) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "servicebot.storage.journal" and r.levelno == level]


@pytest.fixture(autouse=True)
def _info(caplog):
    caplog.set_level(logging.INFO, logger="servicebot.storage.journal")


def assert_nothing_personal_logged(caplog) -> None:
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert QUESTION not in logged and str(RAW_ID) not in logged


# --- the life of an update -------------------------------------------------------------------


def test_an_update_is_admitted_once_also_after_a_restart(path, clock, journal):
    assert journal.admit(1, payload(1))
    assert not journal.admit(1, payload(1))  # a webhook re-post, a redelivery
    journal.done(1)
    assert not journal.admit(1, payload(1))
    journal.close()

    again, pending = reopen(path, clock)
    assert pending == []
    assert not again.admit(1, payload(1))  # remembered in the file, not only in memory
    assert again.admit(2, payload(2))
    again.close()


def test_unfinished_updates_come_back_in_update_id_order_with_their_payloads(path, clock, journal):
    for update_id in (30, 10, 20, 40):
        assert journal.admit(update_id, payload(update_id, f"问题{update_id}"))
    journal.done(20)
    journal.close()

    again = UpdateJournal(path, clock=clock)
    pending = again.open()
    assert [p.update_id for p in pending] == [10, 30, 40]
    assert [json.loads(p.payload)["message"]["text"] for p in pending] == ["问题10", "问题30", "问题40"]
    assert not again.admit(30, payload(30))  # Telegram sends it again: the replay answers it
    again.close()


def test_a_finished_update_leaves_no_text_or_id_in_any_file(path, clock, journal):
    journal.admit(1, payload(1))
    journal.housekeep()
    assert any(t in file_bytes(path) for t in traces(QUESTION))  # it is there while unanswered

    journal.done(1)
    clock.now += 2
    journal.housekeep()  # truncates the WAL, where the inserted row's page still was
    content = file_bytes(path)
    assert not any(t in content for t in [*traces(QUESTION), str(RAW_ID).encode()])
    assert rows(path)[1][2] is None  # the row keeps its id (for deduplication), not the payload


def test_the_journal_files_are_readable_by_the_bot_user_only(path, journal):
    journal.admit(1, payload(1))
    for suffix in ("", "-wal", "-shm"):
        mode = stat.S_IMODE(os.stat(f"{path}{suffix}").st_mode)
        assert mode == 0o600, (suffix, oct(mode))


# --- bounds ----------------------------------------------------------------------------------


def test_finished_ids_are_pruned_after_the_window_and_beyond_the_cap(path, clock):
    journal = UpdateJournal(path, clock=clock, dedup_window=3600, max_done_rows=3)
    journal.open()
    for update_id in range(1, 8):
        clock.now += 1
        journal.admit(update_id, payload(update_id))
        if update_id != 4:
            journal.done(update_id)
    journal.housekeep()
    assert sorted(rows(path)) == [4, 5, 6, 7]  # the 3 newest finished, and the unfinished one

    clock.now += 3600 + 60
    journal.housekeep()
    assert sorted(rows(path)) == [4]  # an unfinished update is never pruned
    journal.close()


def dead_letters(path: Path) -> list[tuple]:
    with sqlite3.connect(path) as conn:
        return conn.execute(
            "SELECT update_id, attempts, reason, payload IS NOT NULL, told FROM dead_letters"
        ).fetchall()


def test_a_day_old_update_becomes_a_dead_letter(path, clock, journal, caplog):
    journal.admit(1, payload(1))
    clock.now += 3600
    journal.admit(2, payload(2))
    journal.close()
    clock.now += 23.5 * 3600
    again, pending = reopen(path, clock)
    assert pending == [2]
    assert rows(path)[1][0] is not None and rows(path)[1][2] is None  # done: not replayed, not re-admitted
    assert dead_letters(path) == [(1, 0, "age", True, 0)]
    assert dead_letter_count(path) == (1, clock.now)
    [error] = journal_records(caplog, logging.ERROR)
    assert "1 updates unanswered for more than 24 h are dead letters" in error
    again.close()
    assert_nothing_personal_logged(caplog)


def test_waiting_through_any_number_of_starts_is_no_attempt(path, clock, journal):
    """Three clean restarts (or kills) while an update waits its turn must not count against
    it: only a run that began processing it and died does."""
    journal.admit(1, payload(1))
    journal.admit(2, payload(2))
    journal.start(2)
    journal.release(2)  # a clean stop cancelled it: not an attempt either
    journal.close()
    for _ in range(MAX_ATTEMPTS + 5):
        again, pending = reopen(path, clock)
        assert pending == [1, 2]
        again._disconnect()  # no clean close: the process is gone
    assert {u: r[1] for u, r in rows(path).items()} == {1: 0, 2: 0}
    assert dead_letters(path) == []


def test_an_update_the_bot_dies_processing_again_and_again_becomes_a_dead_letter(path, clock, journal, caplog):
    journal.admit(1, payload(1))
    journal.admit(2, payload(2))
    journal.start(1)  # the bot dies while processing it, run after run
    journal._disconnect()
    for attempt in range(1, MAX_ATTEMPTS):
        again = UpdateJournal(path, clock=clock, busy_timeout=0.05)
        assert [(p.update_id, p.attempts) for p in again.open()] == [(1, attempt), (2, 0)]  # 1 is a suspect
        again.start(1)
        again._disconnect()
    again, pending = reopen(path, clock)
    assert pending == [2]  # not replayed a fourth time: it may be what brings the bot down
    assert dead_letters(path) == [(1, MAX_ATTEMPTS, "attempts", True, 0)]
    assert not again.admit(1, payload(1))  # Telegram sending it again does not bring it back
    assert again.untold_dead_letters() == 1
    again.told_dead_letters()
    assert again.untold_dead_letters() == 0 and dead_letters(path)[0][4] == 1
    [error] = journal_records(caplog, logging.ERROR)
    assert f"the bot stopped {MAX_ATTEMPTS} times while processing each" in error

    clock.now += DEAD_KEEP + 60
    again.housekeep()  # kept for the operator a week, then deleted with its payload
    assert dead_letters(path) == [] and dead_letter_count(path) == (0, None)
    again.close()
    assert_nothing_personal_logged(caplog)


def test_a_journal_of_the_first_version_is_upgraded_without_dropping_what_waits(path, clock):
    path.parent.mkdir(parents=True)
    with sqlite3.connect(path) as conn:
        conn.executescript(
            "CREATE TABLE updates (update_id INTEGER PRIMARY KEY, received REAL NOT NULL, done REAL,"
            " replays INTEGER NOT NULL DEFAULT 0, payload TEXT); PRAGMA user_version = 1;"
        )
        conn.execute("INSERT INTO updates VALUES (1, ?, NULL, 5, ?)", (clock.now, payload(1)))
    assert dead_letter_count(path) == (0, None)
    journal, pending = reopen(path, clock)
    assert pending == [1]  # five starts waited through are no attempts
    journal.close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 2


# --- when the file cannot be written ----------------------------------------------------------


def test_a_locked_file_degrades_to_memory_with_one_error_then_recovers(path, clock, journal, caplog):
    journal.admit(1, payload(1))
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        assert journal.admit(2, payload(2))  # processed, unprotected
        assert not journal.healthy
        assert not journal.admit(2, payload(2))  # still deduplicated, in memory
        assert journal.admit(3, payload(3))
        journal.done(1)  # owed: written when the file works again
        journal.housekeep()
        assert len(journal_records(caplog, logging.ERROR)) == 1
        assert "answering without it" in journal_records(caplog, logging.ERROR)[0]
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()

    journal.housekeep()
    assert not journal.healthy  # not before RETRY_EVERY: a held lock must not slow every update down
    clock.now += 5
    journal.housekeep()
    assert journal.healthy
    assert journal_records(caplog, logging.INFO) == [
        f"update journal {path} is writable again; updates are kept until answered"
    ]
    assert rows(path)[1][0] is not None  # the owed done mark was written
    assert journal.admit(4, payload(4)) and 4 in rows(path)
    assert len(journal_records(caplog, logging.ERROR)) == 1
    assert_nothing_personal_logged(caplog)


def test_a_deleted_file_is_noticed_and_a_new_one_started(path, clock, journal, caplog):
    journal.admit(1, payload(1))
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    assert journal.admit(2, payload(2))
    assert list(rows(path)) == [2]  # written to the new file, not to the deleted one
    assert not journal.admit(1, payload(1))  # still remembered
    errors = journal_records(caplog, logging.ERROR)
    assert len(errors) == 1 and "deleted" in errors[0]


def test_a_data_directory_that_cannot_be_created_degrades_and_recovers(path, clock, journal, caplog):
    data_dir = path.parent
    for child in data_dir.iterdir():
        child.unlink()
    data_dir.rmdir()
    data_dir.write_text("not a directory")  # mkdir fails until this is removed
    try:
        assert journal.admit(1, payload(1))
        assert not journal.healthy
        clock.now += 5
        assert journal.admit(2, payload(2))
        assert len(journal_records(caplog, logging.ERROR)) == 2  # deleted (noticed), cannot be created
    finally:
        data_dir.unlink()
    clock.now += 5
    assert journal.admit(3, payload(3))
    assert journal.healthy and list(rows(path)) == [3]


def test_a_journal_from_a_newer_version_is_left_alone(path, clock, journal, caplog):
    journal.close()
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA user_version = 99")
    newer, pending = reopen(path, clock)
    assert pending == [] and not newer.healthy
    assert newer.admit(1, payload(1))
    assert "newer servicebot" in journal_records(caplog, logging.ERROR)[0]
    newer.close()


def test_a_full_disk_degrades_to_memory_and_recovers_when_space_returns(small_disk, clock, caplog):
    path = small_disk / "updates.sqlite3"
    journal = UpdateJournal(path, clock=clock)
    journal.open()
    journal.admit(1, payload(1))
    journal.housekeep()  # WAL truncated: the next writes need new space
    filler = fill(small_disk)
    admitted = [journal.admit(n, payload(n, QUESTION * 20)) for n in range(2, 60)]
    assert all(admitted)  # every update is still processed
    assert not journal.healthy
    errors = journal_records(caplog, logging.ERROR)
    assert len(errors) == 1 and "full" in errors[0]

    filler.unlink()
    clock.now += 5
    assert journal.admit(60, payload(60))
    assert journal.healthy and 60 in rows(path)
    journal.close()
    assert_nothing_personal_logged(caplog)


def test_an_update_given_up_is_a_dead_letter_with_its_reason(path, clock, journal):
    journal.admit(1, "{not an update")
    journal.give_up(1, "unreadable")
    assert dead_letters(path) == [(1, 0, "unreadable", True, 0)]
    assert rows(path)[1][0] is not None  # done: never replayed
    journal.close()
    assert reopen(path, clock)[1] == []
