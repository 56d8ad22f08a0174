"""`servicebot faq check DIR`: every mistake in a FAQ directory is reported in one run, each
with its file and line, in words staff understand; a valid FAQ gets a one-line summary."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from servicebot.answering.replies import MAX_ANSWER_CHARS, answer_text
from servicebot.cli import main
from servicebot.errors import Problem, Severity
from servicebot.faq import PLACEHOLDER, Entry, check_faq, messages, validation
from servicebot.faq.checks import ANSWER_TOO_LONG
from servicebot.faq.freshness import office_today
from servicebot.faq.validation import ENTRY_KEYS
from servicebot.tools.faq_commands import CHECK_FAILED, CHECK_PASSED

SYNTAX = """\
topic: 语法
entries:
  - id: syntax-one
    question: 这是问题
    alternates: [一个问法, 另一个问法
    answer: 回答
"""

MAIN = """\
topic: 民生保障
entries:
  - id: dibao-apply
    question: 低保怎么申请？
    alternates:
      - 低保申请
      - 想办低保找谁
    answer: 请到户籍所在社区咨询。
    source: 测试资料
    reviewed: 2026-11-01
    note: 多写的字段
  - id: pension
    question: 养老保险怎么交？
    alternates:
      - 养老保险
      - 低保申请
    answer: 请到社区咨询。
    links:
      - title: 政府网站
        url: www.gov.cn
    related: [no-such-entry]
    source: 测试资料
    reviewed: 2026-11-01
  - id: no-answer
    question: 这个条目忘了写回答
    alternates: [忘了写回答的条目]
    source: 测试资料
    reviewed: 2026-11-01
  - id: Bad_ID
    question: [不是文字]
    alternates: 不是列表
    answer: 回答
    source: 测试资料
    reviewed: 2026-11-01
  - id: bad-date
    question: 日期写错的条目
    alternates: [日期写错]
    answer: 回答
    source: 测试资料
    reviewed: 2026/11/01
  - id: twice
    question: 写了两次来源的条目
    alternates: [两次来源]
    answer: 回答
    source: 测试资料
    source: 另一个来源
    reviewed: 2026-11-01
"""

MORE = """\
topic: 其他
entries:
  - id: dibao-apply
    question: 编号重复的条目
    alternates: [编号重复]
    answer: 回答
    source: 测试资料
    reviewed: 2026-11-01
  - id: long-answer
    question: 回答太长的条目
    alternates: [超长回答]
    answer: LONG
    source: 测试资料
    reviewed: 2026-11-01
"""

NO_TOPIC = """\
entries:
  - id: orphan
    question: 没有主题的条目
    alternates: [没有主题]
    answer: 回答
    source: 测试资料
    reviewed: 2026-11-01
"""

SETTINGS = """\
contact: [不是文字]
synonyms:
  - [书屋]
  - [低保, 最低生活保障]
  - [最低生活保障, 救助]
color: red
"""

TESTS = """\
- question: 低保怎么申请
  expect: no-such-id
- question: 没写期望结果
- question: 养老保险
  expect: pension
  extra: 1
"""


LONG_ANSWER = "很" * 4200


@pytest.fixture
def broken(tmp_path) -> Path:
    faq = tmp_path / "faq"
    faq.mkdir()
    files = {
        "a_syntax.yaml": SYNTAX,
        "b_main.yaml": MAIN,
        "c_more.yaml": MORE.replace("LONG", LONG_ANSWER),
        "e_no_topic.yaml": NO_TOPIC,
        "settings.yaml": SETTINGS,
        "tests.yaml": TESTS,
    }
    for name, text in files.items():
        (faq / name).write_text(text, encoding="utf-8")
    (faq / "d_gbk.yaml").write_bytes("topic: 编码\nentries:\n  - id: gbk\n    question: 国标编码\n".encode("gbk"))
    return faq


def line_of(path: Path, text: str, nth: int = 1) -> int:
    """1-based line number of the nth line of a file that contains `text`."""
    hits = [n for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if text in line]
    return hits[nth - 1]


def long_answer_problem(more: str) -> str:
    """The message for c_more.yaml's long answer: its rendered length, and the limit."""
    entry = Entry(
        "long-answer",
        "回答太长的条目",
        ("超长回答",),
        more,
        "测试资料",
        dt.date(2026, 11, 1),
        "其他",
        file="c_more.yaml",
    )
    return ANSWER_TOO_LONG.format(id=entry.id, length=len(answer_text(entry)), limit=MAX_ANSWER_CHARS)


def expected(faq: Path) -> list[tuple[str, int, str]]:
    """(file, line, message) for every mistake planted in `broken`."""
    main_ = faq / "b_main.yaml"
    return [
        ("a_syntax.yaml", 6, messages.YAML_SYNTAX.format(reason="did not find expected ',' or ']'")),
        (
            "b_main.yaml",
            line_of(main_, "note:"),
            messages.UNKNOWN_KEY.format(where="条目", key="note", allowed="、".join(ENTRY_KEYS)),
        ),
        ("b_main.yaml", line_of(main_, "url: www.gov.cn"), messages.LINK_BAD_URL.format(url="www.gov.cn")),
        (
            "b_main.yaml",
            line_of(main_, "- id: pension"),
            messages.UNKNOWN_RELATED.format(id="pension", related="no-such-entry"),
        ),
        (
            "b_main.yaml",
            line_of(main_, "- 低保申请", 2),
            messages.SHARED_PHRASING.format(
                text="低保申请",
                id="pension",
                other="dibao-apply",
                file="b_main.yaml",
                line=line_of(main_, "- 低保申请"),
            ),
        ),
        (
            "b_main.yaml",
            line_of(main_, "- id: no-answer"),
            messages.ENTRY_MISSING_KEY.format(id="no-answer", key="answer", meaning=ENTRY_KEYS["answer"]),
        ),
        ("b_main.yaml", line_of(main_, "- id: Bad_ID"), messages.BAD_ID.format(id="Bad_ID")),
        (
            "b_main.yaml",
            line_of(main_, "question: [不是文字]"),
            messages.EMPTY_VALUE.format(key="question", meaning=ENTRY_KEYS["question"]),
        ),
        ("b_main.yaml", line_of(main_, "alternates: 不是列表"), messages.NOT_A_LIST.format(name="alternates")),
        (
            "b_main.yaml",
            line_of(main_, "reviewed: 2026/11/01"),
            messages.BAD_DATE.format(name="reviewed", value="2026/11/01"),
        ),
        ("b_main.yaml", line_of(main_, "source: 另一个来源"), messages.DUPLICATE_KEY.format(key="source")),
        ("c_more.yaml", 3, messages.DUPLICATE_ID.format(id="dibao-apply", file="b_main.yaml", line=3)),
        ("c_more.yaml", line_of(faq / "c_more.yaml", "- id: long-answer"), long_answer_problem(LONG_ANSWER)),
        ("d_gbk.yaml", 1, messages.NOT_UTF8),
        ("e_no_topic.yaml", 1, messages.NO_TOPIC),
        ("settings.yaml", 1, messages.CONTACT_NOT_TEXT),
        ("settings.yaml", 3, messages.SYNONYM_GROUP_TOO_SMALL),
        ("settings.yaml", 5, messages.SYNONYM_IN_TWO_GROUPS.format(word="最低生活保障", first=4, line=5)),
        (
            "settings.yaml",
            6,
            messages.UNKNOWN_KEY.format(where="settings.yaml", key="color", allowed="contact、synonyms"),
        ),
        ("tests.yaml", 1, messages.UNKNOWN_EXPECT.format(expect="no-such-id")),
        ("tests.yaml", 3, messages.TEST_INCOMPLETE),
        ("tests.yaml", 6, messages.UNKNOWN_KEY.format(where="测试问题", key="extra", allowed="question、expect")),
    ]


def test_every_mistake_is_named_with_file_and_line_in_one_run(broken, capsys):
    assert main(["faq", "check", str(broken)]) == 1
    captured = capsys.readouterr()
    assert captured.err == ""
    lines = captured.out.splitlines()
    missing = [
        f"{file}:{line}: {fragment}"
        for file, line, fragment in expected(broken)
        if not any(out.startswith(f"{file}:{line}: {fragment}") for out in lines)
    ]
    assert not missing, "\n".join(["not reported:", *missing, "output:", *lines])


def test_the_summary_counts_the_errors(broken, capsys):
    main(["faq", "check", str(broken)])
    lines = capsys.readouterr().out.splitlines()
    problems = [line for line in lines[:-1] if line]
    assert lines[-1] == CHECK_FAILED.format(errors=len(problems), warnings=0)
    assert len(problems) >= len(expected(broken))


def test_the_long_answer_message_gives_both_lengths(broken, capsys):
    main(["faq", "check", str(broken)])
    out = capsys.readouterr().out
    assert long_answer_problem(LONG_ANSWER) in out  # the rendered length, over 4200, and the limit


def test_a_valid_faq_exits_0_with_a_one_line_summary(mini_faq, capsys):
    assert main(["faq", "check", str(mini_faq)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == [CHECK_PASSED.format(files=2, entries=5, phrasings=16, passed=2, cases=2, warnings=0)]


def test_a_missing_directory_is_one_clear_error(tmp_path, capsys):
    assert main(["faq", "check", str(tmp_path / "nowhere")]) == 1
    assert f"{tmp_path / 'nowhere'}:0: {messages.NO_DIRECTORY}" in capsys.readouterr().out


def test_a_directory_without_faq_files_is_an_error(tmp_path, capsys):
    (tmp_path / "faq").mkdir()
    assert main(["faq", "check", str(tmp_path / "faq")]) == 1
    assert messages.NO_FILES in capsys.readouterr().out


def test_a_file_with_another_yaml_extension_is_named_not_silently_skipped(mini_faq, capsys):
    (mini_faq / "extra.yml").write_bytes((mini_faq / "books.yaml").read_bytes())
    (mini_faq / "more.YAML").write_text("topic: 其他\n", encoding="utf-8")
    assert main(["faq", "check", str(mini_faq)]) == 0
    out = capsys.readouterr().out
    for name, stem in (("extra.yml", "extra"), ("more.YAML", "more")):
        assert str(Problem(name, 1, messages.IGNORED_EXTENSION.format(stem=stem), Severity.WARNING)) in out


DRAFT = """\
  - id: {id}
    question: 社区诊所几点开门
    alternates: []
    answer: {answer}
    source: 居民提问
    reviewed: 2026-11-01
"""


@pytest.mark.parametrize(
    ("entry_id", "answer", "code", "message"),
    [
        (
            "clinic-hours",
            f"{PLACEHOLDER}：回答内容",
            1,
            messages.PLACEHOLDER_LEFT.format(id="clinic-hours", placeholder=PLACEHOLDER),
        ),
        (
            "todo-clinic",
            f"请到社区咨询。  # {PLACEHOLDER}：换成真正的回答",
            0,
            messages.DRAFT_ENTRY.format(id="todo-clinic", placeholder=PLACEHOLDER),  # exit 0: only a warning
        ),
    ],
    ids=["placeholder-residents-would-see-is-an-error", "draft-with-honest-answer-is-a-warning"],
)
def test_drafted_entries(mini_faq, capsys, entry_id, answer, code, message):
    books = mini_faq / "books.yaml"
    books.write_text(books.read_text(encoding="utf-8") + DRAFT.format(id=entry_id, answer=answer), encoding="utf-8")
    assert main(["faq", "check", str(mini_faq)]) == code
    assert message in capsys.readouterr().out


def test_fixing_the_mistakes_makes_the_check_pass(broken, capsys):
    for name in ("a_syntax.yaml", "b_main.yaml", "c_more.yaml", "d_gbk.yaml", "e_no_topic.yaml", "tests.yaml"):
        (broken / name).unlink()
    (broken / "settings.yaml").write_text('contact: ""\nsynonyms:\n  - [低保, 最低生活保障]\n', encoding="utf-8")
    (broken / "ok.yaml").write_text(MORE.replace("LONG", "回答").replace("dibao-apply", "renamed"), encoding="utf-8")
    assert main(["faq", "check", str(broken)]) == 0
    summary = CHECK_PASSED.format(files=1, entries=2, phrasings=4, passed=0, cases=0, warnings=0)
    assert capsys.readouterr().out.splitlines() == [summary]


def test_an_impossible_calendar_date_is_a_located_problem(mini_faq, capsys):
    path = mini_faq / "books.yaml"
    path.write_text(
        path.read_text(encoding="utf-8").replace("reviewed: 2026-11-01", "reviewed: 2026-13-45", 1), encoding="utf-8"
    )
    assert main(["faq", "check", str(mini_faq)]) == 1
    line = line_of(path, "2026-13-45")
    assert (
        f"books.yaml:{line}: {messages.NO_SUCH_DATE.format(name='reviewed', text='2026-13-45')}"
        in capsys.readouterr().out
    )


def test_a_review_date_in_the_future_is_a_warning(mini_faq, capsys):
    path = mini_faq / "books.yaml"
    path.write_text(
        path.read_text(encoding="utf-8").replace("reviewed: 2026-11-01", "reviewed: 2099-01-01", 1), encoding="utf-8"
    )
    assert main(["faq", "check", str(mini_faq)]) == 0
    line = line_of(path, "- id: bookhouse-wutong")
    future = messages.REVIEWED_IN_FUTURE.format(id="bookhouse-wutong", reviewed="2099-01-01")
    assert str(Problem("books.yaml", line, future, Severity.WARNING)) in capsys.readouterr().out


def test_settings_without_synonyms_are_valid(mini_faq, capsys):
    (mini_faq / "settings.yaml").write_text('contact: "0550-1234567"\n', encoding="utf-8")
    assert main(["faq", "check", str(mini_faq)]) == 0


# --- drafts pasted from `servicebot review --suggest-yaml` -------------------------------------

MARKED_DRAFT = """\
  - id: {id}
    draft: {draft}
    question: 社区诊所几点开门
    alternates: [诊所开门时间]
    answer: {answer}
    source: {source}
    reviewed: 2026-11-01
"""


def add_draft(faq_dir: Path, *, id="todo-clinic", draft="true", answer=f"{PLACEHOLDER}：回答", source=PLACEHOLDER):
    books = faq_dir / "books.yaml"
    text = MARKED_DRAFT.format(id=id, draft=draft, answer=answer, source=source)
    books.write_text(books.read_text(encoding="utf-8") + text, encoding="utf-8")


def test_a_draft_passes_the_check_answers_no_one_and_the_check_says_what_is_left(mini_faq, capsys):
    add_draft(mini_faq)
    assert main(["faq", "check", str(mini_faq)]) == 0
    out = capsys.readouterr().out
    steps = [
        messages.DRAFT_TODO_ID.format(id="todo-clinic"),
        messages.DRAFT_TODO_WRITE.format(fields="answer（回答）、source（资料来源）", placeholder=PLACEHOLDER),
        messages.DRAFT_TODO_PUBLISH,
    ]
    left = messages.DRAFT_LEFT.format(id="todo-clinic", steps="；".join(f"{n}. {s}" for n, s in enumerate(steps, 1)))
    assert left in out
    faq, _ = check_faq(mini_faq)
    assert faq is not None and [d.id for d in faq.drafts] == ["todo-clinic"]
    assert "todo-clinic" not in faq.by_id and all("todo-clinic" not in t.entry_ids for t in faq.topics)


def test_a_written_draft_only_waits_for_its_draft_line(mini_faq, capsys):
    add_draft(mini_faq, id="clinic-hours", answer="请向社区卫生服务中心咨询。", source="办事处通知")
    assert main(["faq", "check", str(mini_faq)]) == 0
    assert messages.DRAFT_READY.format(id="clinic-hours") in capsys.readouterr().out


@pytest.mark.parametrize("draft", ["false", "草稿", "1", '"true"'])
def test_draft_must_be_true_or_the_line_gone(mini_faq, capsys, draft):
    add_draft(mini_faq, id="clinic-hours", draft=draft, answer="请向社区卫生服务中心咨询。", source="办事处通知")
    if draft == "false":  # a live entry, written: fine
        assert main(["faq", "check", str(mini_faq)]) == 0
        faq, _ = check_faq(mini_faq)
        assert faq is not None and "clinic-hours" in faq.by_id and faq.drafts == ()
    else:
        assert main(["faq", "check", str(mini_faq)]) == 1
        assert messages.BAD_DRAFT in capsys.readouterr().out


def test_nothing_live_may_point_at_a_draft(mini_faq, capsys):
    add_draft(mini_faq)
    welfare = mini_faq / "welfare.yaml"
    welfare.write_text(
        welfare.read_text(encoding="utf-8").replace("    source:", "    related: [todo-clinic]\n    source:", 1),
        encoding="utf-8",
    )
    tests = mini_faq / "tests.yaml"
    tests.write_text(tests.read_text(encoding="utf-8") + "- question: 诊所几点开门\n  expect: todo-clinic\n", "utf-8")
    assert main(["faq", "check", str(mini_faq)]) == 1
    out = capsys.readouterr().out
    assert messages.DRAFT_REFERENCED.split("{what}")[1].format(draft="todo-clinic") in out
    assert out.count("todo-clinic：草稿不会回答居民") == 2


def test_a_file_of_drafts_only_is_no_topic_yet(mini_faq):
    (mini_faq / "drafts.yaml").write_text(
        "topic: 待整理\nentries:\n" + MARKED_DRAFT.format(id="todo-a", draft="true", answer="x", source="y"),
        encoding="utf-8",
    )
    faq, problems = check_faq(mini_faq)
    assert faq is not None and not any(p.is_error for p in problems)
    assert "待整理" not in [t.name for t in faq.topics] and [d.topic for d in faq.drafts] == ["待整理"]


def test_today_is_the_office_day_in_china_time(mini_faq, monkeypatch):
    # 23:30 UTC on 7 December is 07:30 on 8 December in China: staff date their work the 8th.
    assert office_today(dt.datetime(2026, 12, 7, 23, 30, tzinfo=dt.UTC)) == dt.date(2026, 12, 8)
    assert office_today(dt.datetime(2026, 12, 7, 15, 59, tzinfo=dt.UTC)) == dt.date(2026, 12, 7)
    # The check counts from that day: an entry reviewed that day is not "in the future".
    monkeypatch.setattr(validation, "office_today", lambda: dt.date(2026, 10, 31))
    _, problems = check_faq(mini_faq)  # the fixture's entries were reviewed on 2026-11-01
    future = messages.REVIEWED_IN_FUTURE.split("{reviewed}")[1]
    assert any(future in p.message for p in problems)
    monkeypatch.setattr(validation, "office_today", lambda: dt.date(2026, 11, 1))
    _, problems = check_faq(mini_faq)
    assert not any(future in p.message for p in problems)
