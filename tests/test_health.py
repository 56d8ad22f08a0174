"""`servicebot health`: the container HEALTHCHECK must fail exactly when the bot could not serve."""

from __future__ import annotations

import contextlib
import datetime as dt
import sqlite3
from pathlib import Path

from servicebot import cli
from servicebot.health import check_health
from servicebot.migrations import MIGRATIONS
from servicebot.storage import InteractionLog, connect, utc_text


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


def test_cli_health_exit_codes(mini_faq, tmp_path, capsys):
    data = tmp_path / "data"
    assert cli.main(["health", "--faq", str(mini_faq), "--data-dir", str(data)]) == 0
    out, err = capsys.readouterr()
    assert out.strip() == "ok" and err == ""

    (mini_faq / "books.yaml").write_text("not: [valid\n", encoding="utf-8")
    assert cli.main(["health", "--faq", str(mini_faq), "--data-dir", str(data)]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("unhealthy: FAQ")


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
