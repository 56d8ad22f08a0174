"""`servicebot health`: the container HEALTHCHECK must fail exactly when the bot could not serve."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import sqlite3
import time
from pathlib import Path

import pytest

from servicebot import cli
from servicebot.storage import InteractionLog, connect, utc_text
from servicebot.storage.migrations import MIGRATIONS
from servicebot.tools.health import Verdict, check_health, health_report


def test_valid_faq_and_missing_data_dir_is_healthy_and_creates_the_dir(mini_faq, make_settings, tmp_path):
    settings = make_settings(mini_faq, data_dir=tmp_path / "new" / "data")
    assert check_health(settings) == []
    assert settings.data_dir.is_dir()
    assert [p.name for p in settings.data_dir.iterdir()] == ["cache"]  # the probe file is removed


def test_existing_interaction_log_is_healthy(mini_faq, make_settings):
    settings = make_settings(mini_faq)
    InteractionLog(settings.db_path).close()
    assert settings.db_path.is_file()
    assert check_health(settings) == []


def test_log_being_written_by_the_bot_is_healthy(mini_faq, make_settings):
    # The HEALTHCHECK runs beside the running bot: a write in progress must not read as a fault.
    settings = make_settings(mini_faq)
    log = InteractionLog(settings.db_path)
    writer = connect(settings.db_path, create=False)
    try:
        writer.execute("BEGIN IMMEDIATE")
        writer.execute("INSERT INTO feedback (ref, positive, at) VALUES ('ab12', 1, '2026-11-28 00:00:00')")
        assert check_health(settings) == []
        writer.execute("ROLLBACK")
    finally:
        writer.close()
        log.close()


def test_faq_that_does_not_validate_is_unhealthy(mini_faq, make_settings):
    (mini_faq / "books.yaml").write_text("topic: 共享书屋\nentries: [\n", encoding="utf-8")
    problems = check_health(make_settings(mini_faq))
    assert len(problems) == 1
    assert str(mini_faq) in problems[0] and "books.yaml" in problems[0]


def test_faq_that_fails_its_regression_questions_is_unhealthy(mini_faq, make_settings):
    # Valid YAML the loader accepts, but the bot's full check (used by /reload) refuses it.
    (mini_faq / "tests.yaml").write_text("- question: 地保怎么申请\n  expect: pension-insurance\n", encoding="utf-8")
    problems = check_health(make_settings(mini_faq))
    assert len(problems) == 1
    assert "pension-insurance" in problems[0]


def test_missing_faq_dir_is_unhealthy(make_settings, tmp_path):
    problems = check_health(make_settings(tmp_path / "no-such-faq"))
    assert len(problems) == 1 and "no-such-faq" in problems[0]


def test_data_dir_that_is_a_file_is_unhealthy(mini_faq, make_settings, tmp_path):
    not_a_dir = tmp_path / "data-file"
    not_a_dir.write_text("x")
    problems = check_health(make_settings(mini_faq, data_dir=not_a_dir))
    assert len(problems) == 1
    assert "data directory" in problems[0] and str(not_a_dir) in problems[0]


def test_data_dir_under_a_regular_file_is_unhealthy(mini_faq, make_settings, tmp_path):
    # Tests run as root, so permissions don't block writes; a parent that is a file always does.
    blocker = tmp_path / "blocker"
    blocker.write_text("x")
    problems = check_health(make_settings(mini_faq, data_dir=blocker / "data"))
    assert len(problems) == 1
    assert "not writable" in problems[0] and str(blocker / "data") in problems[0]


def test_interaction_log_that_is_not_a_database_is_unhealthy(mini_faq, make_settings):
    settings = make_settings(mini_faq)
    settings.data_dir.mkdir(parents=True)
    settings.db_path.write_bytes(b"this is not sqlite" * 100)
    problems = check_health(settings)
    assert len(problems) == 1 and "interaction log" in problems[0]


def test_interaction_log_from_a_newer_version_is_unhealthy(mini_faq, make_settings):
    settings = make_settings(mini_faq)
    settings.data_dir.mkdir(parents=True)
    conn = sqlite3.connect(settings.db_path)
    conn.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    conn.close()
    problems = check_health(settings)
    assert len(problems) == 1 and "newer than this program" in problems[0]


def test_every_problem_is_reported_not_just_the_first(make_settings, tmp_path):
    blocker = tmp_path / "blocker"
    blocker.write_text("x")
    problems = check_health(make_settings(tmp_path / "no-such-faq", data_dir=blocker / "data"))
    assert len(problems) == 2


def test_cli_health_says_what_it_checked_and_what_it_could_not(mini_faq, tmp_path, capsys):
    data = tmp_path / "data"
    assert cli.main(["health", "--faq", str(mini_faq), "--data-dir", str(data)]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    lines = out.splitlines()
    verdicts = [line.split(":", 1)[0] for line in lines]
    assert verdicts == ["ok", "ok", "ok", "skipped", "skipped", "skipped", "skipped", "skipped"]
    assert "5 entries" in lines[0] and str(data) in lines[1]
    assert "SERVICEBOT_TOKEN" in lines[3] and "update journal" in lines[4]
    assert "SERVICEBOT_STAFF_CHAT_ID" in lines[5] and "SERVICEBOT_WEB_PORT" in lines[6]
    assert "SERVICEBOT_DESK_PORT" in lines[7]

    (mini_faq / "books.yaml").write_text("not: [valid\n", encoding="utf-8")
    assert cli.main(["health", "--faq", str(mini_faq), "--data-dir", str(data)]) == 1
    out, err = capsys.readouterr()
    assert not out.startswith("ok: FAQ")
    lines = err.strip().splitlines()
    assert len(lines) == 2 and lines[0].startswith("unhealthy: FAQ") and "faq check" in lines[0]
    assert lines[1].startswith("unhealthy: 1 problem(s)")


def test_cli_health_reads_settings_from_the_environment(mini_faq, tmp_path, monkeypatch, capsys):
    # The container sets SERVICEBOT_FAQ_DIR / SERVICEBOT_DATA_DIR and runs plain `servicebot health`.
    monkeypatch.setenv("SERVICEBOT_FAQ_DIR", str(mini_faq))
    monkeypatch.setenv("SERVICEBOT_DATA_DIR", str(tmp_path / "blocker" / "data"))
    (tmp_path / "blocker").write_text("x")
    assert cli.main(["health"]) == 1
    assert "blocker" in capsys.readouterr().err
    monkeypatch.setenv("SERVICEBOT_DATA_DIR", str(tmp_path / "data"))
    assert cli.main(["health"]) == 0
    assert Path(tmp_path / "data").is_dir()


# --- Telegram: the token, the staff group, the admin chat (against the fake Bot API) --------


async def health_against(api_token: str | None, make_settings, mini_faq, **settings):
    """`health_report` run beside a fake Bot API (it blocks on HTTP, so on its own thread)."""
    from support.botapi import FakeBotApi

    async with FakeBotApi(token=api_token) as api:
        blocked = settings.pop("blocked", None)
        if blocked is not None:
            api.block(blocked)
        configured = make_settings(mini_faq, base_url=api.base_url, **settings)
        return await asyncio.to_thread(health_report, configured)


@pytest.mark.slow
@pytest.mark.anyio
async def test_a_token_telegram_refuses_is_unhealthy_with_the_way_to_fix_it(make_settings, mini_faq):
    from support.botapi import TOKEN

    fake = "123456:not-the-bots-token"
    findings = await health_against(TOKEN, make_settings, mini_faq, token=fake)
    [problem] = [f.text for f in findings if f.verdict == Verdict.PROBLEM]
    assert "refused the token" in problem and "401" in problem and "@BotFather" in problem
    assert fake not in problem and "not-the-bots-token" not in " ".join(map(str, findings))


@pytest.mark.slow
@pytest.mark.anyio
async def test_the_token_the_staff_group_and_the_admin_chat_are_checked(make_settings, mini_faq):
    from support.botapi import BOT_USERNAME, TOKEN

    staff, admin = -1001000000001, -1001000000002
    findings = await health_against(
        TOKEN, make_settings, mini_faq, token=TOKEN, staff_chat_id=staff, admin_chat_id=admin
    )
    assert all(f.verdict != Verdict.PROBLEM for f in findings), findings
    texts = [f.text for f in findings if f.verdict == Verdict.OK]
    assert any(f"@{BOT_USERNAME}" in t for t in texts)
    assert any("staff group" in t and str(staff) in t for t in texts)
    assert any("admin chat" in t and str(admin) in t for t in texts)

    findings = await health_against(TOKEN, make_settings, mini_faq, token=TOKEN, staff_chat_id=staff, blocked=staff)
    [problem] = [f.text for f in findings if f.verdict == Verdict.PROBLEM]
    assert "staff group" in problem and "kicked" in problem and f"/id@{BOT_USERNAME}" in problem


def test_telegram_out_of_reach_is_unhealthy_and_says_so(make_settings, mini_faq):
    from support.webserver import free_port

    settings = make_settings(mini_faq, token="123456:abc", base_url=f"http://127.0.0.1:{free_port()}/bot")
    [problem] = check_health(settings)
    assert "cannot reach the Telegram Bot API at 127.0.0.1" in problem and "123456:abc" not in problem


def test_a_staff_desk_that_does_not_answer_is_unhealthy_and_turns_hand_off_on(mini_faq, make_settings):
    from support.webserver import free_port

    port = free_port()
    findings = health_report(make_settings(mini_faq, desk_port=port))
    [problem] = [f.text for f in findings if f.verdict == Verdict.PROBLEM]
    assert f"staff desk at http://127.0.0.1:{port}/desk/healthz does not answer" in problem
    # the desk alone is a hand-off: the hand-off check runs instead of being skipped
    assert any(f.verdict == Verdict.OK and f.text.startswith("hand-off:") for f in findings)


def test_a_log_the_bot_found_deleted_is_reported_for_a_week(mini_faq, make_settings):
    settings = make_settings(mini_faq)
    InteractionLog(settings.db_path).close()
    for days_ago, reported in ((1, True), (8, False)):
        when = utc_text(dt.datetime.now(dt.UTC) - dt.timedelta(days=days_ago))
        with contextlib.closing(sqlite3.connect(settings.db_path)) as conn, conn:
            conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('replaced_at', ?)", (when,))
        problems = check_health(settings)
        assert bool(problems) == reported
        if reported:
            assert len(problems) == 1 and "was deleted or replaced while the bot ran" in problems[0]
            assert "restore the latest backup" in problems[0]


def test_a_telegram_update_given_up_is_a_check_of_its_own(mini_faq, make_settings):
    from servicebot.storage.journal import UpdateJournal

    settings = make_settings(mini_faq)
    [journal_line] = [f for f in health_report(settings) if "update journal" in f.text]
    assert journal_line.verdict == Verdict.SKIPPED  # no token, no journal
    now = [time.time() - 25 * 3600]
    journal = UpdateJournal(settings.journal_path, clock=lambda: now[0])
    journal.open()
    journal.admit(1, '{"update_id": 1}')
    journal.admit(2, '{"update_id": 2}')
    journal.done(2)
    journal.close()
    [journal_line] = [f for f in health_report(settings) if "update journal" in f.text]
    assert journal_line.verdict == Verdict.OK and "no Telegram update was given up" in journal_line.text
    now[0] = time.time()  # a day later: the unanswered one is given up at the next start
    again = UpdateJournal(settings.journal_path, clock=lambda: now[0])
    again.open()
    again.close()
    findings = health_report(settings)
    [problem] = [f.text for f in findings if f.verdict == Verdict.PROBLEM]
    assert problem.startswith("1 Telegram update(s) were given up unanswered") and "dead_letters" in problem
    assert check_health(settings) == [problem]
