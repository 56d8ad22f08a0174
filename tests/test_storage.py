"""The interaction log: what it stores (and never stores), its migrations and retention, and
how it rides out a locked or deleted database without getting in the bot's way."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import shutil
import sqlite3
import threading
from pathlib import Path
from typing import Any, TypedDict

import pytest

from servicebot.answering.service import Service
from servicebot.errors import StorageError
from servicebot.records import Channel, Interaction, Status, Via
from servicebot.storage import InteractionLog, LogReader, utc_text
from servicebot.storage.db import Database, replaced_at
from servicebot.storage.migrations import MIGRATIONS, NEWER_SCHEMA
from servicebot.storage.outbox import Outbox
from servicebot.storage.ticket_store import TicketStore
from servicebot.storage.tickets import BotSaid

from support.wording import wording

RAW_ID = 7012345678
PHONE = "13812345678"
ID_CARD = "34112219800101123X"
PSEUDONYM = "0a1b2c3d4e5f6a7b"
WAIT = 10.0  # seconds; an upper bound for event-driven waits, never a sleep


class Quick(TypedDict):
    """The writer's timings for tests (`InteractionLog` keywords)."""

    retry_max: float
    busy_timeout: float


QUICK: Quick = {"retry_max": 0.5, "busy_timeout": 0.2}  # fail fast on a held lock, retry soon


@pytest.fixture
def settings(mini_faq, make_settings):
    # A high answer threshold keeps near misses "did you mean" whatever the matcher's tuning.
    return make_settings(mini_faq, answer_threshold=80)


@pytest.fixture
def log(settings):
    log = InteractionLog(settings.db_path, retention_days=settings.retention_days, **QUICK)
    yield log
    log.close()


@pytest.fixture
def service(settings, log):
    return Service.from_settings(settings, log, secret="test-secret")


def rows(path: Path, sql: str = "SELECT * FROM interactions ORDER BY id", args=()) -> list[sqlite3.Row]:
    conn = sqlite3.connect(path)
    conn.row_factory = sqlite3.Row
    try:
        return conn.execute(sql, args).fetchall()
    finally:
        conn.close()


def refs_in(path: Path) -> list[str]:
    return [r["ref"] for r in rows(path)]


def interaction(
    ref: str,
    at: dt.datetime,
    *,
    status: Status = Status.UNANSWERED,
    question: str = "问题",
    via: Via = Via.QUESTION,
    resident: str | None = PSEUDONYM,
) -> Interaction:
    return Interaction(
        ref=ref,
        at=at,
        channel=Channel.TERMINAL,
        chat_type="terminal",
        resident=resident,
        question=question,
        normalized=question,
        status=status,
        entry_id="dibao-apply" if status == Status.ANSWERED else None,
        score=70.0 if status == Status.ANSWERED else 10.0,
        via=via,
    )


@pytest.fixture(autouse=True)
def _info_logs(caplog):
    caplog.set_level(logging.INFO, logger="servicebot.storage")


def storage_records(caplog, level: int) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name.startswith("servicebot.storage") and r.levelno == level]


def caught_up(log: InteractionLog, attempts: int = 3) -> bool:
    """flush() until it succeeds: the attempt that overlaps a lock being let go may still fail."""
    return any(log.flush(WAIT) for _ in range(attempts))


NOW = dt.datetime.now(dt.UTC)


# --- schema ------------------------------------------------------------------------------


def test_blank_database_gets_every_migration_in_wal_mode(log, settings):
    conn = sqlite3.connect(settings.db_path)
    try:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    finally:
        conn.close()
    assert {"interactions", "feedback"} <= tables


def test_older_database_is_upgraded_and_keeps_its_rows(tmp_path):
    path = tmp_path / "old.sqlite3"
    conn = sqlite3.connect(path, isolation_level=None)
    MIGRATIONS[0](conn)
    conn.execute("PRAGMA user_version = 1")
    conn.execute(
        "INSERT INTO interactions (ref, at, channel, chat_type, question, normalized, status, score, suggestions, via)"
        " VALUES ('abc', ?, 'chat', 'terminal', '老问题', '老问题', 'unanswered', 0, '[]', 'question')",
        (utc_text(NOW),),
    )
    conn.close()
    log = InteractionLog(path)
    log.feedback("abc", True)
    assert log.flush(WAIT)
    log.close()
    assert rows(path, "PRAGMA user_version")[0][0] == len(MIGRATIONS)
    assert refs_in(path) == ["abc"]
    assert [tuple(r) for r in rows(path, "SELECT ref, positive FROM feedback")] == [("abc", 1)]


def test_newer_database_is_refused_with_a_clear_message(tmp_path, caplog):
    path = tmp_path / "new.sqlite3"
    sqlite3.connect(path).execute("PRAGMA user_version = 99").connection.close()
    newer = wording(NEWER_SCHEMA, version=99, known=len(MIGRATIONS))
    with pytest.raises(StorageError, match=newer.pattern):
        LogReader(path).question_rows(NOW - dt.timedelta(days=1))
    log = InteractionLog(path, **QUICK)  # the bot itself keeps running and says why nothing is recorded
    log.record(interaction("aa01", NOW))
    assert not log.flush(WAIT)
    log.close(timeout=0.1)
    assert any(newer.search(r.getMessage()) for r in storage_records(caplog, logging.ERROR))


def test_reader_without_a_database_names_the_path(tmp_path):
    with pytest.raises(StorageError, match=r"missing\.sqlite3"):
        LogReader(tmp_path / "missing.sqlite3").totals(NOW - dt.timedelta(days=1))
    assert not (tmp_path / "missing.sqlite3").exists()


# --- what is stored ----------------------------------------------------------------------


def test_every_kind_of_interaction_is_stored_with_its_links(service, log, settings):
    typed = service.answer("低保", channel=Channel.TELEGRAM, chat_type="private", resident=RAW_ID)
    offered = service.answer("低保和书屋", channel=Channel.TELEGRAM, chat_type="group", resident=RAW_ID)  # two subjects
    assert (typed.status, offered.status) == (Status.ANSWERED, Status.SUGGEST)
    tapped = service.answer_entry(
        "bookhouse-wutong", via=Via.SUGGESTION, channel=Channel.TELEGRAM, resident=RAW_ID, origin_ref=offered.ref
    )
    service.none_of_these(offered.ref, channel=Channel.TELEGRAM, resident=RAW_ID)
    missed = service.answer("今天天气怎么样", channel=Channel.TERMINAL, chat_type="terminal")
    service.feedback(typed.ref, False)
    service.feedback(tapped.ref, True)
    assert log.flush(WAIT)

    stored = {r["ref"]: r for r in rows(settings.db_path)}
    assert len(stored) == 5
    first = stored[typed.ref]
    assert (first["channel"], first["chat_type"], first["status"], first["entry_id"], first["via"]) == (
        "telegram",
        "private",
        Status.ANSWERED,
        "dibao-apply",
        "question",
    )
    assert first["question"] == "低保" and first["normalized"] == "低保" and first["score"] == typed.match.score
    assert first["resident"] == service.resident_key(RAW_ID)
    assert json.loads(stored[offered.ref]["suggestions"]) == [c.entry_id for c in offered.match.suggestions]
    assert stored[offered.ref]["chat_type"] == "group"
    tap = stored[tapped.ref]
    assert (tap["status"], tap["via"], tap["origin_ref"]) == (Status.TAP, "suggestion", offered.ref)
    assert tap["entry_id"] == "bookhouse-wutong"
    rejected = [r for r in stored.values() if r["via"] == "none"]
    assert [r["origin_ref"] for r in rejected] == [offered.ref]
    assert stored[missed.ref]["resident"] is None and stored[missed.ref]["status"] == Status.UNANSWERED
    votes = {r["ref"]: r["positive"] for r in rows(settings.db_path, "SELECT * FROM feedback")}
    assert votes == {typed.ref: 0, tapped.ref: 1}


def test_a_second_rating_of_the_same_answer_replaces_the_first(service, log, settings):
    ref = service.answer("低保", channel=Channel.TERMINAL).ref
    service.feedback(ref, True)
    service.feedback(ref, False)
    assert log.flush(WAIT)
    assert [tuple(r) for r in rows(settings.db_path, "SELECT ref, positive FROM feedback")] == [(ref, 0)]


def test_malformed_feedback_reference_is_ignored(log, settings, caplog):
    log.feedback("'; DROP TABLE feedback; --", True)
    assert log.flush(WAIT)
    assert rows(settings.db_path, "SELECT * FROM feedback") == []
    assert storage_records(caplog, logging.WARNING)


def test_no_raw_id_phone_or_id_card_number_reaches_the_database_files(service, log, settings):
    text = f"我的手机{PHONE}，身份证{ID_CARD}，低保怎么申请"
    service.answer(text, channel=Channel.TELEGRAM, resident=RAW_ID)
    service.answer(f"{ID_CARD.lower()} 办证", channel=Channel.TELEGRAM, resident=RAW_ID)
    # A careless caller that skips the service's masking and hashing is caught here too.
    log.record(
        Interaction(
            ref="feed01",
            at=NOW,
            channel=Channel.ASK,
            chat_type="cli",
            resident=str(RAW_ID),
            question=f"电话 {PHONE}",
            normalized=f"电话{PHONE}",
            status=Status.UNANSWERED,
            entry_id=None,
            score=0.0,
        )
    )
    assert log.flush(WAIT)
    stored = rows(settings.db_path)
    assert len(stored) == 3
    assert stored[2]["resident"] is None
    assert "[手机号]" in stored[0]["question"] and "[身份证号]" in stored[0]["question"]

    def assert_clean() -> None:
        files = [p for p in (settings.db_path, Path(f"{settings.db_path}-wal")) if p.exists()]
        assert settings.db_path in files
        for path in files:
            raw = path.read_bytes()
            for secret in (str(RAW_ID), PHONE, ID_CARD, ID_CARD.lower()):
                assert secret.encode() not in raw, f"{secret} found in {path.name}"

    assert_clean()  # while the bot runs, recent rows live in the -wal file
    log.close()
    assert_clean()


# --- never in the way --------------------------------------------------------------------


def test_locked_database_logs_once_keeps_answering_and_catches_up(service, log, settings, caplog):
    before = [service.answer("低保", channel=Channel.TERMINAL).ref]
    assert log.flush(WAIT)
    blocker = sqlite3.connect(settings.db_path, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        during = [
            service.answer(q, channel=Channel.TERMINAL, resident=n)
            for n, q in enumerate(["低保", "养老保险怎么交", "体验馆"])
        ]
        assert [o.status for o in during] == [Status.ANSWERED] * 3  # residents still get answers
        assert not log.flush(WAIT)  # returns when the write attempt fails, not after WAIT
        during += [service.answer("今天天气怎么样", channel=Channel.TERMINAL, resident=9) for _ in range(3)]
        service.feedback(during[0].ref, False)
        assert not log.flush(WAIT)
        assert not log.flush(WAIT)
        assert len(storage_records(caplog, logging.ERROR)) == 1
        status = log.status()
        assert (status.healthy, status.pending, status.dropped) == (False, 7, 0)
        assert "locked" in status.last_error
        summary = log.day_summary()  # the admin's /stats still counts what waits in memory
        assert (summary["total"], summary[Status.ANSWERED], summary[Status.UNANSWERED], summary["unhelpful"]) == (
            7,
            4,
            3,
            1,
        )
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()

    assert caught_up(log)
    assert log.status().healthy and log.status().pending == 0
    recovered = storage_records(caplog, logging.INFO)
    assert len(recovered) == 1 and "writable again" in recovered[0].getMessage()
    log.close()
    expected = before + [o.ref for o in during]
    assert refs_in(settings.db_path) == expected  # all of them, in order, none twice
    assert [tuple(r) for r in rows(settings.db_path, "SELECT ref, positive FROM feedback")] == [(during[0].ref, 0)]
    assert len(storage_records(caplog, logging.ERROR)) == 1


def test_deleted_database_file_is_recreated_with_its_schema(service, log, settings, caplog):
    service.answer("低保", channel=Channel.TERMINAL)
    assert log.flush(WAIT)
    settings.db_path.unlink()
    after = [service.answer(q, channel=Channel.TERMINAL).ref for q in ("梧桐书屋", "体验馆", "今天天气怎么样")]
    assert log.flush(WAIT)
    errors = storage_records(caplog, logging.ERROR)
    assert len(errors) == 1 and "deleted" in errors[0].getMessage()
    assert storage_records(caplog, logging.INFO) == []  # noticed before writing, so nothing failed
    assert rows(settings.db_path, "PRAGMA user_version")[0][0] == len(MIGRATIONS)
    assert refs_in(settings.db_path) == after
    with contextlib.closing(sqlite3.connect(settings.db_path)) as conn:
        assert replaced_at(conn) is not None  # for `health`


def test_data_directory_gone_and_blocked_waits_until_it_can_be_recreated(service, log, settings, caplog):
    service.answer("低保", channel=Channel.TERMINAL)
    assert log.flush(WAIT)
    data_dir = settings.db_path.parent
    shutil.rmtree(data_dir)
    data_dir.write_text("not a directory")  # mkdir fails until this is removed
    try:
        pending = [service.answer("体验馆", channel=Channel.TERMINAL, resident=n).ref for n in range(3)]
        assert not log.flush(WAIT)
        pending += [service.answer("养老保险", channel=Channel.TERMINAL).ref]
        assert not log.flush(WAIT)
        assert len(storage_records(caplog, logging.ERROR)) == 1
    finally:
        data_dir.unlink()
    assert log.flush(WAIT)
    assert len(storage_records(caplog, logging.INFO)) == 1
    log.close()
    assert refs_in(settings.db_path) == pending
    errors = storage_records(caplog, logging.ERROR)  # cannot be written; then: a new file, the old one gone
    assert [r.name for r in errors] == ["servicebot.storage.writer", "servicebot.storage.db"]


def test_records_waiting_in_memory_are_bounded_and_the_oldest_dropped(tmp_path, caplog):
    path = tmp_path / "bounded.sqlite3"
    log = InteractionLog(path, max_pending=5, **QUICK)
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    refs = [f"b{n:03d}" for n in range(8)]
    for ref in refs:
        log.record(interaction(ref, NOW))
    assert not log.flush(WAIT)  # after a failed attempt, what waits is cut back to the bound
    assert (log.status().pending, log.dropped) == (5, 3)
    assert len(storage_records(caplog, logging.WARNING)) == 1
    blocker.execute("ROLLBACK")
    blocker.close()
    assert caught_up(log)
    log.close()
    assert refs_in(path) == refs[-5:]
    assert "3 dropped" in storage_records(caplog, logging.INFO)[0].getMessage()


def test_a_record_that_cannot_be_stored_is_skipped_and_the_rest_written(tmp_path, caplog):
    path = tmp_path / "bad.sqlite3"
    log = InteractionLog(path)
    log.record(interaction("ok01", NOW))
    log.record(interaction("bad1", None))  # type: ignore[arg-type]
    log.record(interaction("ok02", NOW))
    assert log.flush(WAIT)
    log.close()
    assert refs_in(path) == ["ok01", "ok02"]
    assert len(storage_records(caplog, logging.ERROR)) == 1


def test_close_writes_everything_still_queued(tmp_path):
    path = tmp_path / "close.sqlite3"
    log = InteractionLog(path)
    refs = [f"c{n:05d}" for n in range(2500)]  # more than one batch
    for ref in refs:
        log.record(interaction(ref, NOW))
    log.close()
    assert refs_in(path) == refs
    with pytest.raises(StorageError):
        log.record(interaction("late", NOW))


def test_close_gives_up_after_its_timeout_when_the_database_stays_locked(tmp_path, caplog):
    path = tmp_path / "stuck.sqlite3"
    log = InteractionLog(path, **QUICK)
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        log.record(interaction("s1", NOW))
        log.close(timeout=0.5)
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    log._thread.join(WAIT)  # the abandoned writer may still finish its write: not after this test
    assert any("were not written" in r.getMessage() for r in storage_records(caplog, logging.ERROR))


# --- retention and summaries -------------------------------------------------------------


def test_rows_older_than_retention_are_purged_when_the_log_opens(tmp_path):
    path = tmp_path / "retention.sqlite3"
    log = InteractionLog(path, retention_days=180)
    log.record(interaction("old", NOW - dt.timedelta(days=200)))
    log.record(interaction("new", NOW - dt.timedelta(days=100)))
    assert log.flush(WAIT)
    log.close()
    assert refs_in(path) == ["old", "new"]
    InteractionLog(path, retention_days=180).close()
    assert refs_in(path) == ["new"]


def test_purged_questions_leave_no_trace_in_the_file(tmp_path):
    path = tmp_path / "trace.sqlite3"
    log = InteractionLog(path, retention_days=30)
    log.record(interaction("gone", NOW - dt.timedelta(days=31), question="旧问题独一无二的内容"))
    log.record(interaction("kept", NOW, question="新问题"))
    log.close()
    assert "旧问题独一无二的内容".encode() in path.read_bytes()
    InteractionLog(path, retention_days=30).close()
    assert refs_in(path) == ["kept"]
    assert "旧问题独一无二的内容".encode() not in path.read_bytes()


def test_the_writer_purges_again_when_the_interval_comes_round(tmp_path):
    path = tmp_path / "daily.sqlite3"
    log = InteractionLog(path, retention_days=30, purge_every=0.0)
    log.record(interaction("old", NOW - dt.timedelta(days=31)))
    assert log.flush(WAIT)
    log.record(interaction("new", NOW))
    assert log.flush(WAIT)
    log.close()
    assert refs_in(path) == ["new"]


def test_day_summary_uses_china_days(tmp_path):
    path = tmp_path / "days.sqlite3"
    log = InteractionLog(path)
    utc = dt.UTC
    # 2026-11-27 16:30 UTC is already 2026-11-28 00:30 in China.
    log.record(interaction("d1", dt.datetime(2026, 11, 27, 16, 30, tzinfo=utc), status=Status.ANSWERED))
    log.record(interaction("d2", dt.datetime(2026, 11, 27, 15, 59, tzinfo=utc)))
    log.record(interaction("d3", dt.datetime(2026, 11, 28, 15, 59, tzinfo=utc), status=Status.SUGGEST))
    log.record(interaction("d4", dt.datetime(2026, 11, 28, 10, 0, tzinfo=utc), status=Status.TAP, via=Via.SUGGESTION))
    assert log.flush(WAIT)
    day = log.day_summary(dt.date(2026, 11, 28))
    log.close()
    assert day == {
        "total": 2,
        Status.ANSWERED: 1,
        Status.SUGGEST: 1,
        Status.UNANSWERED: 0,
        Status.REFERRAL: 0,
        Status.ITEM: 0,
        Status.ITEM_UNLISTED: 0,
        "helpful": 0,
        "unhelpful": 0,
    }


# --- one owner of the connection (issue 22) -------------------------------------------------------


def test_hand_offs_never_fail_while_the_log_writer_is_saturated(tmp_path):
    """The log's writer, flooded, takes a transaction again the moment it lets one go. The
    tickets and the outbox share its connection and get theirs in turn (first come, first
    served); with connections of their own they waited for SQLite's file lock, polling, and
    gave up with "database is locked" (20 of 120 hand-offs at ~790 answers/s)."""
    db = Database(tmp_path / "shared.sqlite3")
    log = InteractionLog(db.path, db=db)
    store, outbox = TicketStore(db), Outbox(db, keep_days=30)
    flooding = threading.Event()

    def flood() -> None:
        n = 0
        while not flooding.is_set():
            log.record(interaction(f"{n:012x}", NOW, question="低保怎么申请" * 20))
            n += 1

    flooders = [threading.Thread(target=flood) for _ in range(2)]
    for thread in flooders:
        thread.start()
    opened = 0
    try:  # hand-offs until 40 are done and the writer has written 1,000 records meanwhile
        while opened < 40 or rows(db.path, "SELECT count(*) FROM interactions")[0][0] < 1_000:
            ticket = store.open_ticket(
                channel=Channel.WEB, resident="k" * 16, address="s", ref=None, question="问", bot_said=BotSaid(), at=NOW
            )
            opened += 1
            assert ticket.number == opened and opened < 10_000
            assert outbox.put(Channel.WEB, "k", {"body": str(opened)}) is not None
    finally:
        flooding.set()
        for thread in flooders:
            thread.join()
    assert log.flush(30) and log.status().healthy
    log.close()
    db.close()


def test_tickets_and_the_outbox_never_write_on_into_a_deleted_log(tmp_path, caplog):
    """interactions.sqlite3 deleted while the bot runs: the next ticket and the next message
    for a resident go to a new file at the path (they used to go on into the deleted one and
    vanish at the next start); it is said once, and noted in the file for `health`."""
    path = tmp_path / "interactions.sqlite3"
    db = Database(path)
    store, outbox = TicketStore(db), Outbox(db, keep_days=30)
    opened: dict[str, Any] = dict(
        channel=Channel.WEB, resident="k" * 16, address="s", ref=None, question="问", bot_said=BotSaid(), at=NOW
    )
    first = store.open_ticket(**opened)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    second = store.open_ticket(**opened)
    outbox.put(Channel.WEB, "k", {"body": "答复"})
    assert (first.number, second.number) == (1, 1) and first.key != second.key
    with contextlib.closing(sqlite3.connect(path)) as conn:
        assert conn.execute("SELECT key FROM tickets").fetchall() == [(second.key,)]
        assert conn.execute("SELECT count(*) FROM outbox").fetchone() == (1,)
        assert replaced_at(conn) is not None
    assert db.replaced == 1
    errors = storage_records(caplog, logging.ERROR)
    assert len(errors) == 1 and "deleted or replaced while the bot ran" in errors[0].getMessage()
    db.close()
