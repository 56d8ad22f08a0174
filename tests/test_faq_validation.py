"""`servicebot faq check DIR`: every mistake in a FAQ directory is reported in one run, each
with its file and line, in words staff understand; a valid FAQ gets a one-line summary."""

from __future__ import annotations

from pathlib import Path

import pytest

from servicebot.cli import main

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


@pytest.fixture
def broken(tmp_path) -> Path:
    faq = tmp_path / "faq"
    faq.mkdir()
    files = {
        "a_syntax.yaml": SYNTAX,
        "b_main.yaml": MAIN,
        "c_more.yaml": MORE.replace("LONG", "很" * 4200),
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


def expected(faq: Path) -> list[tuple[str, int, str]]:
    """(file, line, message fragment) for every mistake planted in `broken`."""
    main_ = faq / "b_main.yaml"
    return [
        (
            "a_syntax.yaml",
            6,
            "YAML 格式错误：did not find expected ',' or ']'（常见原因：缩进不齐、冒号后缺空格、引号没配对）",
        ),
        (
            "b_main.yaml",
            line_of(main_, "note:"),
            "条目里有不认识的字段“note”（可用的字段：id、question、alternates、keywords、answer、links、related、source、reviewed）",
        ),
        (
            "b_main.yaml",
            line_of(main_, "url: www.gov.cn"),
            "链接地址无效：'www.gov.cn'，必须是以 http:// 或 https:// 开头的完整网址",
        ),
        ("b_main.yaml", line_of(main_, "- id: pension"), "条目 pension 的 related 里写了不存在的 id“no-such-entry”"),
        (
            "b_main.yaml",
            line_of(main_, "- 低保申请", 2),
            "问法“低保申请”（条目 pension）在条目 dibao-apply 里已经有了"
            f"（b_main.yaml 第 {line_of(main_, '- 低保申请')} 行）。同一个问题只能属于一个条目，请删掉其中一个",
        ),
        ("b_main.yaml", line_of(main_, "- id: no-answer"), "条目 no-answer 缺少“answer”（回答）"),
        (
            "b_main.yaml",
            line_of(main_, "- id: Bad_ID"),
            "id“Bad_ID”格式不对：只能用小写英文字母、数字和连字符，例如 dibao-apply",
        ),
        ("b_main.yaml", line_of(main_, "question: [不是文字]"), "“question”（标准问题）不能为空，必须是文字"),
        ("b_main.yaml", line_of(main_, "alternates: 不是列表"), "“alternates”应该是列表（每行以“- ”开头）"),
        (
            "b_main.yaml",
            line_of(main_, "reviewed: 2026/11/01"),
            "“reviewed”日期写错了：'2026/11/01'，应写成 YYYY-MM-DD，例如 2026-11-28",
        ),
        ("b_main.yaml", line_of(main_, "source: 另一个来源"), "字段“source”在同一处写了两次，只保留一个"),
        ("c_more.yaml", 3, "id“dibao-apply”重复了：b_main.yaml 第 3 行已经用过，每个 id 必须唯一"),
        ("c_more.yaml", line_of(faq / "c_more.yaml", "- id: long-answer"), "条目 long-answer 的回答太长：显示出来有"),
        ("d_gbk.yaml", 1, "文件不是 UTF-8 编码，请用 UTF-8 另存（记事本：另存为 → 编码选 UTF-8）"),
        ("e_no_topic.yaml", 1, "缺少“topic”（显示给居民的主题名），或它是空的"),
        ("settings.yaml", 1, '“contact”必须是文字（可以留空：""）'),
        ("settings.yaml", 3, "每组同义词至少要有两个词，例如 [书屋, 图书室]"),
        ("settings.yaml", 5, "同义词“最低生活保障”同时出现在第 4 行和第 5 行的两组里，只能属于一组"),
        ("settings.yaml", 6, "settings.yaml里有不认识的字段“color”（可用的字段：contact、synonyms）"),
        ("tests.yaml", 1, "测试问题的 expect 写了不存在的 id“no-such-id”（或写 unanswered 表示应该答不上来）"),
        ("tests.yaml", 3, "测试问题必须同时写 question（问题）和 expect（应得到的条目 id，或 unanswered）"),
        ("tests.yaml", 6, "测试问题里有不认识的字段“extra”（可用的字段：question、expect）"),
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
    assert lines[-1] == f"发现 {len(problems)} 个错误、0 个警告，请修改后再检查。"
    assert len(problems) >= len(expected(broken))


def test_the_long_answer_message_gives_both_lengths(broken, capsys):
    main(["faq", "check", str(broken)])
    out = capsys.readouterr().out
    assert "Telegram 一条消息最多 4096 个字，请精简或拆成两个条目" in out
    shown = int(out.split("显示出来有 ")[1].split(" 个字")[0])
    assert shown > 4200


def test_a_valid_faq_exits_0_with_a_one_line_summary(mini_faq, capsys):
    assert main(["faq", "check", str(mini_faq)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == ["检查通过：2 个文件，5 个条目，16 个问法，回归测试 2/2 通过，0 个警告。"]


def test_a_missing_directory_is_one_clear_error(tmp_path, capsys):
    assert main(["faq", "check", str(tmp_path / "nowhere")]) == 1
    assert f"{tmp_path / 'nowhere'}:0: 找不到这个目录" in capsys.readouterr().out


def test_a_directory_without_faq_files_is_an_error(tmp_path, capsys):
    (tmp_path / "faq").mkdir()
    assert main(["faq", "check", str(tmp_path / "faq")]) == 1
    assert "目录里没有任何 .yaml 问答文件" in capsys.readouterr().out


def test_a_file_with_another_yaml_extension_is_named_not_silently_skipped(mini_faq, capsys):
    (mini_faq / "extra.yml").write_bytes((mini_faq / "books.yaml").read_bytes())
    (mini_faq / "more.YAML").write_text("topic: 其他\n", encoding="utf-8")
    assert main(["faq", "check", str(mini_faq)]) == 0
    out = capsys.readouterr().out
    assert "extra.yml:1: 警告：这个文件不会被读取" in out and "请改名为 extra.yaml" in out
    assert "more.YAML:1: 警告：" in out


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
        ("clinic-hours", "待填写：回答内容", 1, "条目 clinic-hours 的问题、回答或资料来源里还有“待填写”"),
        (
            "todo-clinic",
            "请到社区咨询。  # 待填写：换成真正的回答",
            0,
            "警告：条目 todo-clinic 是从未答问题汇总粘贴来的草稿",
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
    assert capsys.readouterr().out.startswith("检查通过：1 个文件，2 个条目")


def test_an_impossible_calendar_date_is_a_located_problem(mini_faq, capsys):
    path = mini_faq / "books.yaml"
    path.write_text(
        path.read_text(encoding="utf-8").replace("reviewed: 2026-11-01", "reviewed: 2026-13-45", 1), encoding="utf-8"
    )
    assert main(["faq", "check", str(mini_faq)]) == 1
    line = line_of(path, "2026-13-45")
    assert f"books.yaml:{line}: “reviewed”日期 2026-13-45 不存在" in capsys.readouterr().out


def test_a_review_date_in_the_future_is_a_warning(mini_faq, capsys):
    path = mini_faq / "books.yaml"
    path.write_text(
        path.read_text(encoding="utf-8").replace("reviewed: 2026-11-01", "reviewed: 2099-01-01", 1), encoding="utf-8"
    )
    assert main(["faq", "check", str(mini_faq)]) == 0
    assert "警告：条目 bookhouse-wutong 的核对日期 2099-01-01 在将来" in capsys.readouterr().out


def test_settings_without_synonyms_are_valid(mini_faq, capsys):
    (mini_faq / "settings.yaml").write_text('contact: "0550-1234567"\n', encoding="utf-8")
    assert main(["faq", "check", str(mini_faq)]) == 0
