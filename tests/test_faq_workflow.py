"""Staff workflow: live reload that never breaks the bot, regression questions, stale entries,
and `faq diff` between directories and git revisions."""

from __future__ import annotations

import datetime as dt
import logging
import os
import shutil
import subprocess
import threading
from pathlib import Path

import pytest

from servicebot.answering.service import Service
from servicebot.channels.terminal import ChatSession
from servicebot.cli import main
from servicebot.errors import FaqError, Problem, ServicebotError, Severity
from servicebot.faq import check_faq, messages
from servicebot.faq.checks import REGRESSION_FAILED
from servicebot.faq.diff import NOT_A_REVISION, NOT_IN_GIT, diff_outcomes, labelled_questions
from servicebot.faq.freshness import office_today, stale_entries
from servicebot.faq.watcher import FaqWatcher, directory_signature
from servicebot.records import Channel
from servicebot.tools import faq_commands

from support.fakes import Recorder
from support.wording import wording

WAIT = 10.0  # seconds; generous upper bound for event waits, never a sleep

NEW_ENTRY = """\
  - id: bookhouse-borrow
    question: 书屋怎么借书？
    alternates:
      - 书屋借书
      - 借书要办证吗
    answer: 凭身份证登记即可借书。
    source: 测试资料
    reviewed: 2026-11-01
"""

LIBRARY_FILE = """\
topic: 社区图书室
entries:
  - id: library-hours
    question: 社区图书室几点开门？
    alternates:
      - 图书室开放时间
      - 图书室周末开吗
    answer: 每天上午九点开门。
    source: 测试资料
    reviewed: 2026-11-01
"""


def edit(path: Path, text: str) -> None:
    """Write a file as an editor would, with a modification time that surely differs."""
    before = path.stat().st_mtime_ns if path.exists() else 0
    path.write_text(text, encoding="utf-8")
    stamp = max(before + 1_000_000_000, path.stat().st_mtime_ns)
    os.utime(path, ns=(stamp, stamp))


def append_entry(faq_dir: Path, text: str = NEW_ENTRY) -> None:
    path = faq_dir / "books.yaml"
    edit(path, path.read_text(encoding="utf-8") + text)


def break_books(faq_dir: Path) -> str:
    """Leave books.yaml with an unclosed bracket on its alternates line; return its old text."""
    path = faq_dir / "books.yaml"
    good = path.read_text(encoding="utf-8")
    edit(path, good.replace("    alternates:\n      - 梧桐书屋\n", "    alternates: [梧桐书屋\n", 1))
    return good


@pytest.fixture
def service(mini_faq, make_settings) -> Service:
    return Service.from_settings(make_settings(mini_faq))


@pytest.fixture
def recorder() -> Recorder:
    """What the `watcher` fixture reported."""
    return Recorder(WAIT)


@pytest.fixture
def watcher(service, recorder):
    w = FaqWatcher(service, 0, recorder)
    yield w
    w.stop()


def answer_id(service: Service, question: str) -> str | None:
    return service.answer(question, channel=Channel.ASK).entry_id


# --- live reload: check_now ------------------------------------------------------------


def test_check_now_without_changes_reloads_nothing(watcher, service, recorder):
    before = service.snapshot
    assert watcher.check_now() is None
    assert service.snapshot is before and recorder.results == []


def test_an_edited_file_is_swapped_in_and_reported(watcher, service, mini_faq, recorder):
    assert answer_id(service, "书屋怎么借书") != "bookhouse-borrow"
    append_entry(mini_faq)
    swapped, problems = watcher.check_now()
    assert swapped and not [p for p in problems if p.is_error]
    assert recorder.results == [(True, problems)]
    assert answer_id(service, "书屋怎么借书") == "bookhouse-borrow"


def test_a_question_in_flight_finishes_on_the_snapshot_it_took(watcher, service, mini_faq):
    in_flight = service.snapshot
    append_entry(mini_faq)
    assert watcher.check_now()[0]
    assert service.snapshot is not in_flight
    assert "bookhouse-borrow" not in in_flight.faq.by_id
    assert in_flight.index.match("梧桐书屋").entry_id == "bookhouse-wutong"


def test_added_and_deleted_files_are_noticed(watcher, service, mini_faq):
    edit(mini_faq / "library.yaml", LIBRARY_FILE)
    assert watcher.check_now()[0]
    assert "library-hours" in service.snapshot.faq.by_id
    (mini_faq / "library.yaml").unlink()
    assert watcher.check_now()[0]
    assert "library-hours" not in service.snapshot.faq.by_id
    assert len(service.snapshot.faq.entries) == 5


def test_a_broken_edit_is_refused_and_the_old_faq_keeps_serving(watcher, service, mini_faq, caplog, recorder):
    before = service.snapshot
    caplog.set_level(logging.WARNING, logger="servicebot.faq.watcher")
    break_books(mini_faq)
    swapped, problems = watcher.check_now()
    assert not swapped
    assert service.snapshot is before
    assert answer_id(service, "梧桐书屋") == "bookhouse-wutong"
    located = [str(p) for p in problems]
    syntax = wording(messages.YAML_SYNTAX)
    assert any(p.startswith("books.yaml:") and syntax.search(p) for p in located), located
    assert recorder.results == [(False, problems)]
    assert "FAQ change refused" in caplog.text and "books.yaml:" in caplog.text


def test_an_unchanged_broken_state_is_not_reloaded_again_and_a_fix_is(watcher, service, mini_faq, recorder):
    good = break_books(mini_faq)
    assert watcher.check_now()[0] is False
    assert watcher.check_now() is None
    assert len(recorder.results) == 1
    edit(mini_faq / "books.yaml", good + NEW_ENTRY)
    swapped, _ = watcher.check_now()
    assert swapped and answer_id(service, "书屋怎么借书") == "bookhouse-borrow"


def test_an_edit_that_breaks_a_regression_question_is_refused(watcher, service, mini_faq):
    before = service.snapshot
    path = mini_faq / "welfare.yaml"
    # An alternate that hijacks the staff's regression question for another entry.
    edit(
        path,
        path.read_text(encoding="utf-8").replace("      - 低保被停了\n", "      - 低保被停了\n      - 地保怎么申请\n"),
    )
    swapped, problems = watcher.check_now()
    assert not swapped and service.snapshot is before
    failed = REGRESSION_FAILED.format(question="地保怎么申请", expect="dibao-apply", got="dibao-removal")
    assert f"tests.yaml:1: {failed}" in [str(p) for p in problems]
    assert answer_id(service, "地保怎么申请") == "dibao-apply"


def test_force_reloads_even_without_changes(watcher, service):
    before = service.snapshot
    swapped, _ = watcher.check_now(force=True)
    assert swapped and service.snapshot is not before


def test_a_failing_callback_does_not_stop_the_reload(service, mini_faq):
    def explode(swapped, problems):
        raise RuntimeError("admin chat unreachable")

    watcher = FaqWatcher(service, 0, explode)
    append_entry(mini_faq)
    tried = watcher.check_now()
    assert tried is not None and tried[0]
    assert "bookhouse-borrow" in service.snapshot.faq.by_id


def test_a_missing_directory_is_refused_not_crashed(watcher, service, mini_faq):
    before = service.snapshot
    shutil.rmtree(mini_faq)
    swapped, problems = watcher.check_now()
    assert not swapped and service.snapshot is before
    assert any(p.message == messages.NO_DIRECTORY for p in problems)


def test_signature_changes_with_names_sizes_and_times(mini_faq):
    first = directory_signature(mini_faq)
    assert [name for name, *_ in first] == ["books.yaml", "settings.yaml", "tests.yaml", "welfare.yaml"]
    (mini_faq / "notes.txt").write_text("ignored", encoding="utf-8")
    assert directory_signature(mini_faq) == first
    append_entry(mini_faq)
    assert directory_signature(mini_faq) != first
    assert directory_signature(mini_faq / "missing") == ()


# --- live reload: the thread -----------------------------------------------------------


@pytest.mark.slow  # a real watcher thread polling
def test_the_watcher_thread_picks_up_an_edit(service, mini_faq):
    recorder = Recorder(WAIT)
    watcher = FaqWatcher(service, 0.02, recorder)
    watcher.start()
    try:
        assert watcher.running
        append_entry(mini_faq)
        swapped, _ = recorder.next()
        assert swapped and answer_id(service, "书屋怎么借书") == "bookhouse-borrow"
    finally:
        watcher.stop()
    assert not watcher.running


@pytest.mark.slow  # a real watcher thread polling
def test_the_watcher_thread_tries_a_broken_state_once_then_takes_the_fix(service, mini_faq):
    recorder = Recorder(WAIT)
    watcher = FaqWatcher(service, 0.02, recorder)
    watcher.start()
    try:
        good = break_books(mini_faq)
        assert recorder.next()[0] is False
        assert watcher.wait_for_polls(watcher.polls + 10, WAIT)
        assert len(recorder.results) == 1, "an unchanged broken FAQ was reloaded again"
        edit(mini_faq / "books.yaml", good + NEW_ENTRY)
        assert recorder.next()[0] is True
        assert answer_id(service, "书屋怎么借书") == "bookhouse-borrow"
    finally:
        watcher.stop()


def test_interval_zero_starts_no_thread_but_check_now_works(service, mini_faq):
    watcher = FaqWatcher(service, 0)
    watcher.start()
    assert not watcher.running
    append_entry(mini_faq)
    tried = watcher.check_now()
    assert tried is not None and tried[0]
    watcher.stop()


@pytest.mark.slow  # a real watcher thread polling
def test_the_terminal_chat_sees_an_edit_without_restarting(service, mini_faq):
    recorder = Recorder(WAIT)
    watcher = FaqWatcher(service, 0.02, recorder)
    session = ChatSession(service)
    watcher.start()
    try:
        before = session.handle("书屋怎么借书")
        assert before is not None and "借书" not in before
        append_entry(mini_faq)
        assert recorder.next()[0]
        after = session.handle("书屋怎么借书")
        assert after is not None and "凭身份证登记即可借书。" in after
    finally:
        watcher.stop()


def test_chat_command_stops_its_watcher(mini_faq, tmp_path, capsys, monkeypatch):
    pytest.importorskip("servicebot.storage")
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO("梧桐书屋\n"))
    assert main(["chat", "--faq", str(mini_faq), "--data-dir", str(tmp_path / "data")]) == 0
    assert "梧桐书屋是滁州首家公益共享书屋。" in capsys.readouterr().out
    assert not [t for t in threading.enumerate() if t.name == "faq-watcher"]


# --- regression questions: faq test / faq check -----------------------------------------


def test_faq_test_prints_each_question_and_passes(mini_faq, capsys):
    assert main(["faq", "test", str(mini_faq)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == [
        faq_commands.CASE_PASSED.format(question="地保怎么申请", got="dibao-apply"),
        faq_commands.CASE_PASSED.format(question="今天天气怎么样", got="unanswered"),
        faq_commands.CASES_SUMMARY.format(cases=2, passed=2, failed=0),
    ]


def test_faq_test_fails_on_a_wrong_expectation(mini_faq, capsys):
    edit(
        mini_faq / "tests.yaml",
        "- question: 地保怎么申请\n  expect: pension-insurance\n- question: 今天天气怎么样\n  expect: unanswered\n",
    )
    assert main(["faq", "test", str(mini_faq)]) == 1
    out = capsys.readouterr().out
    failed = faq_commands.CASE_FAILED.format(question="地保怎么申请", got="dibao-apply", expect="pension-insurance")
    assert failed in out.splitlines()
    assert faq_commands.CASES_SUMMARY.format(cases=2, passed=1, failed=1) in out


def test_faq_test_on_a_broken_faq_shows_the_problems(mini_faq, capsys):
    break_books(mini_faq)
    assert main(["faq", "test", str(mini_faq)]) == 1
    assert "books.yaml:" in capsys.readouterr().out


def test_faq_check_runs_the_regression_questions(mini_faq, capsys):
    assert main(["faq", "check", str(mini_faq)]) == 0
    assert wording(faq_commands.CHECK_PASSED, passed=2, cases=2).search(capsys.readouterr().out)
    edit(mini_faq / "tests.yaml", "- question: 梧桐书屋\n  expect: garbage-hall\n")
    assert main(["faq", "check", str(mini_faq)]) == 1
    out = capsys.readouterr().out
    failed = REGRESSION_FAILED.format(question="梧桐书屋", expect="garbage-hall", got="bookhouse-wutong")
    assert f"tests.yaml:1: {failed}" in out


# --- freshness ---------------------------------------------------------------------------

OLD, FRESH = dt.date(2020, 1, 1), dt.date(2026, 11, 1)


def date_faq(faq_dir: Path, dates: dict[str, dt.date]) -> None:
    """Set each entry's reviewed date in the mini FAQ (ids not named keep theirs)."""
    for name in ("books.yaml", "welfare.yaml"):
        path = faq_dir / name
        lines, current = [], None
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip().startswith("- id:"):
                current = line.split(":", 1)[1].strip()
            if line.strip().startswith("reviewed:") and current in dates:
                line = f"    reviewed: {dates[current]:%Y-%m-%d}"
            lines.append(line)
        edit(path, "\n".join(lines) + "\n")


def line_of(path: Path, text: str) -> int:
    """1-based number of the first line of a file containing `text`."""
    return next(n for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if text in line)


def test_stale_entries_are_grouped_by_topic_oldest_first(mini_faq):
    date_faq(mini_faq, {"dibao-removal": OLD, "pension-insurance": dt.date(2021, 6, 1), "garbage-hall": OLD})
    today = dt.date(2026, 11, 28)
    faq, _ = check_faq(mini_faq, today=today)
    assert faq is not None
    groups = stale_entries(faq, 365, today=today)
    assert [(topic, [(e.id, age) for e, age in entries]) for topic, entries in groups] == [
        ("共享书屋", [("garbage-hall", (today - OLD).days)]),
        (
            "民生保障",
            [("dibao-removal", (today - OLD).days), ("pension-insurance", (today - dt.date(2021, 6, 1)).days)],
        ),
    ]


def test_stale_days_is_a_strict_limit(mini_faq):
    faq, _ = check_faq(mini_faq, today=FRESH)
    assert faq is not None
    assert stale_entries(faq, 10, today=FRESH + dt.timedelta(days=10)) == []
    assert len(stale_entries(faq, 10, today=FRESH + dt.timedelta(days=11))[0][1]) > 0


def test_faq_check_warns_about_stale_entries_with_file_and_line(mini_faq, capsys):
    date_faq(mini_faq, {"dibao-removal": OLD})
    assert main(["faq", "check", str(mini_faq)]) == 0
    out = capsys.readouterr().out
    age = (office_today() - OLD).days
    line = line_of(mini_faq / "welfare.yaml", "- id: dibao-removal")
    stale = messages.STALE.format(id="dibao-removal", age=age, reviewed=OLD)
    assert str(Problem("welfare.yaml", line, stale, Severity.WARNING)) in out
    assert wording(faq_commands.CHECK_PASSED, warnings=1).search(out)


def test_faq_stale_lists_old_entries_by_topic(mini_faq, capsys, monkeypatch):
    monkeypatch.setenv("SERVICEBOT_STALE_DAYS", "1000")
    today = office_today()
    date_faq(
        mini_faq,
        {
            "dibao-removal": OLD,
            "bookhouse-wutong": today - dt.timedelta(days=1001),
            "garbage-hall": today - dt.timedelta(days=1000),
            "dibao-apply": today,
            "pension-insurance": today,
        },
    )
    assert main(["faq", "stale", str(mini_faq)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == faq_commands.STALE_TOPIC.format(topic="共享书屋")
    line = line_of(mini_faq / "books.yaml", "- id: bookhouse-wutong")
    assert out[1] == faq_commands.STALE_ENTRY.format(
        id="bookhouse-wutong",
        question="梧桐书屋是什么？",
        reviewed=today - dt.timedelta(days=1001),
        age=1001,
        file="books.yaml",
        line=line,
    )
    assert out[2] == faq_commands.STALE_TOPIC.format(topic="民生保障")
    assert wording(faq_commands.STALE_ENTRY, id="dibao-removal").fullmatch(out[3])
    assert out[-1] == faq_commands.STALE_SUMMARY.format(count=2)
    assert "garbage-hall" not in "\n".join(out)


def test_faq_stale_says_so_when_everything_is_fresh(mini_faq, capsys):
    today = office_today()
    date_faq(
        mini_faq,
        {i: today for i in ("bookhouse-wutong", "garbage-hall", "dibao-apply", "dibao-removal", "pension-insurance")},
    )
    assert main(["faq", "stale", str(mini_faq)]) == 0
    assert capsys.readouterr().out.strip() == faq_commands.NOTHING_STALE.format(days=365)


# --- labelled questions -------------------------------------------------------------------


def test_labelled_questions_from_explicit_files_keep_order_without_repeats(tmp_path):
    a, b = tmp_path / "a.yaml", tmp_path / "b.yaml"
    a.write_text("低保咋申请: dibao-apply\n今天天气怎么样: null\n", encoding="utf-8")
    b.write_text("梧桐书屋在哪: bookhouse-wutong\n低保咋申请: dibao-apply\n", encoding="utf-8")
    assert labelled_questions([a, b]) == ["低保咋申请", "今天天气怎么样", "梧桐书屋在哪"]


def test_labelled_questions_default_to_tests_data(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert labelled_questions(None) == []
    data = tmp_path / "tests" / "data"
    data.mkdir(parents=True)
    (data / "a.yaml").write_text("低保咋申请: dibao-apply\n", encoding="utf-8")
    (data / "notes.yaml").write_text("- 不是映射\n", encoding="utf-8")
    assert labelled_questions(None) == ["低保咋申请"]


def test_an_explicit_labelled_file_that_is_not_a_mapping_is_an_error(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("- 一个列表\n", encoding="utf-8")
    with pytest.raises(ServicebotError):
        labelled_questions([bad])


# --- faq diff -------------------------------------------------------------------------------


@pytest.fixture
def labelled(tmp_path) -> Path:
    path = tmp_path / "labelled.yaml"
    path.write_text("书屋怎么借书: null\n梧桐书屋在哪: bookhouse-wutong\n今天天气怎么样: null\n", encoding="utf-8")
    return path


def test_diff_of_two_directories_lists_only_changed_outcomes(mini_faq, tmp_path, make_settings):
    new = tmp_path / "new"
    shutil.copytree(mini_faq, new)
    append_entry(new)
    questions = ["书屋怎么借书", "梧桐书屋在哪", "今天天气怎么样"]
    changes, old_n, new_n = diff_outcomes(str(mini_faq), str(new), make_settings(mini_faq), questions)
    assert (old_n, new_n) == (5, 6)
    assert [(q, after) for q, _, after in changes] == [("书屋怎么借书", "bookhouse-borrow")]
    assert changes[0][1] != "bookhouse-borrow"
    assert diff_outcomes(str(mini_faq), str(mini_faq), make_settings(mini_faq), questions)[0] == []


def test_diff_includes_both_sides_regression_questions(mini_faq, tmp_path, make_settings):
    new = tmp_path / "new"
    shutil.copytree(mini_faq, new)
    append_entry(new)
    edit(
        new / "tests.yaml",
        (new / "tests.yaml").read_text(encoding="utf-8") + "- question: 借书要办证吗\n  expect: bookhouse-borrow\n",
    )
    changes, _, _ = diff_outcomes(str(mini_faq), str(new), make_settings(mini_faq), [])
    assert [(q, after) for q, _, after in changes] == [("借书要办证吗", "bookhouse-borrow")]


def test_faq_diff_command_on_directories(mini_faq, tmp_path, labelled, capsys):
    new = tmp_path / "new"
    shutil.copytree(mini_faq, new)
    append_entry(new)
    assert main(["faq", "diff", str(mini_faq), str(new), "--labelled", str(labelled), "--faq", str(mini_faq)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == faq_commands.DIFF_HEADER.format(questions=3, old=5, new=6)
    assert out[1:] == [
        faq_commands.DIFF_CHANGE.format(question="书屋怎么借书", before=out[1].split()[1], after="bookhouse-borrow"),
        faq_commands.DIFF_SUMMARY.format(count=1),
    ]


def test_faq_diff_with_a_broken_side_names_it(mini_faq, tmp_path, capsys):
    new = tmp_path / "new"
    shutil.copytree(mini_faq, new)
    break_books(new)
    assert main(["faq", "diff", str(mini_faq), str(new), "--faq", str(mini_faq)]) == 1
    assert f"{new / 'books.yaml'}:" in capsys.readouterr().err


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return done.stdout


@pytest.fixture
def repo(tmp_path) -> Path:
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q")
    shutil.copytree(Path(__file__).parent / "fixtures" / "mini", root / "faq")
    git(root, "add", "faq")
    git(root, "commit", "-q", "-m", "FAQ")
    return root


def test_faq_diff_against_a_git_revision(repo, labelled, capsys):
    append_entry(repo / "faq")
    faq = str(repo / "faq")
    assert main(["faq", "diff", "HEAD", faq, "--faq", faq, "--labelled", str(labelled)]) == 0
    out = capsys.readouterr().out
    assert wording(faq_commands.DIFF_HEADER, old=5, new=6).search(out)
    assert wording(faq_commands.DIFF_CHANGE, question="书屋怎么借书", after="bookhouse-borrow").search(out)
    assert faq_commands.DIFF_SUMMARY.format(count=1) in out


def test_faq_diff_between_two_revisions_from_inside_the_repo(repo, capsys, monkeypatch):
    append_entry(repo / "faq")
    git(repo, "commit", "-q", "-am", "add borrow")
    (repo / "tests" / "data").mkdir(parents=True)
    (repo / "tests" / "data" / "set.yaml").write_text("借书要办证吗: bookhouse-borrow\n", encoding="utf-8")
    monkeypatch.chdir(repo / "faq")
    assert main(["faq", "diff", "HEAD~1", "HEAD", "--faq", "."]) == 0
    out = capsys.readouterr().out
    # tests/data is looked up from the current directory
    assert wording(faq_commands.DIFF_HEADER, questions=0).search(out)
    monkeypatch.chdir(repo)
    assert main(["faq", "diff", "HEAD~1", "HEAD"]) == 0
    out = capsys.readouterr().out
    assert wording(faq_commands.DIFF_HEADER, questions=1).search(out)
    assert wording(faq_commands.DIFF_CHANGE, question="借书要办证吗", after="bookhouse-borrow").search(out)


def test_faq_diff_with_an_unknown_revision_exits_1(repo, capsys):
    faq = str(repo / "faq")
    assert main(["faq", "diff", "no-such-rev", faq, "--faq", faq]) == 1
    assert f"servicebot: {NOT_A_REVISION.format(revision='no-such-rev', pathspec='faq')}（" in capsys.readouterr().err


def test_faq_diff_with_a_revision_outside_git_says_so(mini_faq, tmp_path, capsys, monkeypatch):
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))  # even if /tmp sits inside a repository
    faq = str(mini_faq)
    assert main(["faq", "diff", "HEAD", faq, "--faq", faq]) == 1
    assert NOT_IN_GIT.format(faq_dir=faq) in capsys.readouterr().err


def test_a_broken_faq_in_a_revision_is_located_in_that_revision(repo, make_settings):
    break_books(repo / "faq")
    git(repo, "commit", "-q", "-am", "broken")
    append_entry(repo / "faq")
    with pytest.raises(FaqError) as caught:
        diff_outcomes("HEAD", str(repo / "faq"), make_settings(repo / "faq"), [])
    assert any(p.file == "HEAD:faq/books.yaml" for p in caught.value.problems)
