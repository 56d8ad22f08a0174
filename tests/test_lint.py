"""The conflict lint of `servicebot faq check`: for each rule, a FAQ that triggers it and one
that doesn't, run through the real CLI.

Rules (checks.py): a phrasing that does not reach its own entry is an error; two entries so
alike that residents could get either are a warning; a synonym group that moves an existing
question to another entry is a warning. Each message names both entries and says what to do.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from servicebot.cli import main

FILLER = [
    ("garbage-hall", "垃圾分类体验馆在哪里？", ["体验馆在哪", "体验馆地址", "怎么去体验馆"], []),
    ("bookhouse", "梧桐书屋是什么？", ["梧桐书屋", "书屋在哪", "书屋几点开门"], []),
    ("pension", "城乡居民养老保险怎么参保？", ["养老保险怎么交", "养老保险", "养老保险交多少钱"], []),
]


def entry_yaml(entry_id: str, question: str, alternates: list[str], keywords: list[str]) -> str:
    lines = [f"  - id: {entry_id}", f"    question: {question}", "    alternates:"]
    lines += [f"      - {a}" for a in alternates]
    if keywords:
        lines.append(f"    keywords: [{', '.join(keywords)}]")
    lines += ["    answer: 测试回答。", "    source: 测试资料", "    reviewed: 2026-11-01"]
    return "\n".join(lines) + "\n"


def make_faq(root: Path, entries, synonyms=(), tests=()) -> Path:
    """A one-topic FAQ directory; entries are (id, question, alternates, keywords)."""
    root.mkdir(parents=True)
    body = "".join(entry_yaml(*e) for e in entries)
    (root / "topic.yaml").write_text(f"topic: 测试\nentries:\n{body}", encoding="utf-8")
    groups = "".join(f"  - [{', '.join(g)}]\n" for g in synonyms) or "  - [低保, 最低生活保障]\n"
    (root / "settings.yaml").write_text(f'contact: ""\nsynonyms:\n{groups}', encoding="utf-8")
    if tests:
        (root / "tests.yaml").write_text(
            "".join(f"- question: {q}\n  expect: {e}\n" for q, e in tests), encoding="utf-8"
        )
    return root


def check(directory: Path, capsys) -> tuple[int, str]:
    code = main(["faq", "check", str(directory)])
    return code, capsys.readouterr().out


# --- a phrasing that does not reach its own entry (error) ------------------------------

HOURS = [
    ("room-hours", "图书室几点开门？", ["图书室开放时间", "图书室周末开吗"], []),
    ("reading-hours", "阅览室几点开门？", ["阅览室开放时间", "阅览室周末开吗"], []),
]


def test_alternates_made_identical_by_a_synonym_are_an_error(tmp_path, capsys):
    code, out = check(make_faq(tmp_path / "faq", FILLER + HOURS, synonyms=[["图书室", "阅览室"]]), capsys)
    assert code == 1
    topic = tmp_path / "faq" / "topic.yaml"
    at = {text: n for n, text in enumerate(topic.read_text(encoding="utf-8").splitlines(), 1)}
    assert (
        f"topic.yaml:{at['      - 图书室开放时间']}: "
        "条目 room-hours 的问法“图书室开放时间”和条目 reading-hours（topic.yaml）难分高下" in out
    )
    assert (
        f"topic.yaml:{at['      - 阅览室开放时间']}: "
        "条目 reading-hours 的问法“阅览室开放时间”和条目 room-hours（topic.yaml）难分高下" in out
    )
    assert "请把两个条目的问法写得更有区别，或合并这两个条目" in out


def test_the_same_alternates_without_the_synonym_are_fine(tmp_path, capsys):
    code, out = check(make_faq(tmp_path / "faq", FILLER + HOURS), capsys)
    assert code == 0, out
    assert "难分高下" not in out and "匹配到了" not in out


def test_a_keyword_equal_to_another_entrys_alternate_is_an_error(tmp_path, capsys):
    entries = [
        *FILLER,
        ("dibao-apply", "低保怎么申请？", ["办低保", "想办低保找谁"], []),
        ("dibao-removal", "为什么我家的低保被取消了？", ["低保被停了", "低保为啥没了"], ["办低保"]),
    ]
    code, out = check(make_faq(tmp_path / "faq", entries), capsys)
    assert code == 1
    assert "条目 dibao-apply 的问法“办低保”和条目 dibao-removal（topic.yaml）难分高下" in out


def test_a_phrasing_of_only_polite_words_is_an_error(tmp_path, capsys):
    entries = [*FILLER, ("dibao-apply", "低保怎么申请？", ["低保申请", "你好"], [])]
    code, out = check(make_faq(tmp_path / "faq", entries), capsys)
    assert code == 1
    assert "条目 dibao-apply 的问法“你好”匹配不到任何条目（可能全是标点或常用词）。请写得更具体一些" in out


def test_a_refused_phrasing_also_blocks_a_live_reload(tmp_path, make_settings):
    from servicebot.errors import FaqError
    from servicebot.service import Service

    faq = make_faq(tmp_path / "faq", FILLER + HOURS, synonyms=[["图书室", "阅览室"]])
    with pytest.raises(FaqError) as caught:
        Service.from_settings(make_settings(faq))
    assert any("难分高下" in p.message for p in caught.value.problems)


# --- two entries residents could confuse (warning) -------------------------------------

LOOKALIKE = [
    ("dibao-apply", "低保怎么申请？", ["低保申请", "想办低保找谁"], []),
    ("dibao-apply-online", "低保怎么网上申请？", ["低保网上申请", "低保能在手机上申请吗"], []),
]
DISTINCT = [
    ("dibao-material", "低保申请要什么材料？", ["低保申请材料", "办低保带什么", "低保要准备哪些证件"], []),
    ("dibao-where", "低保申请要去哪里？", ["低保在哪申请", "办低保去哪", "低保到哪里办"], []),
]


def test_lookalike_entries_are_a_warning_naming_both(tmp_path, capsys):
    code, out = check(make_faq(tmp_path / "faq", FILLER + LOOKALIKE), capsys)
    assert code == 0, out
    warning = next(line for line in out.splitlines() if "非常相似" in line)
    assert warning.startswith("topic.yaml:") and "警告：" in warning
    assert "dibao-apply" in warning and "dibao-apply-online" in warning
    assert "请确认两者确实不同，并让问法更有区别" in warning


def test_entries_on_the_same_subject_but_different_questions_are_not_flagged(tmp_path, capsys):
    code, out = check(make_faq(tmp_path / "faq", FILLER + DISTINCT), capsys)
    assert code == 0 and "非常相似" not in out and "警告：" not in out, out


def test_an_entry_is_never_reported_as_similar_to_itself(tmp_path, capsys):
    _, out = check(make_faq(tmp_path / "faq", FILLER + HOURS, synonyms=[["图书室", "阅览室"]]), capsys)
    assert "条目 room-hours 和 room-hours" not in out and "条目 reading-hours 和 reading-hours" not in out


def test_the_same_question_in_two_entries_is_flagged_even_when_worded_differently(tmp_path, capsys):
    twins = [
        ("dibao-apply", "低保怎么申请？", ["低保申请", "想办低保找谁"], []),
        ("dibao-apply2", "低保如何申请？", ["怎样申请低保", "低保申请流程"], []),
    ]
    _, out = check(make_faq(tmp_path / "faq", FILLER + twins), capsys)
    assert any("非常相似" in line and "dibao-apply2" in line for line in out.splitlines()), out


# --- a synonym group that moves a question (warning) -------------------------------------

LIBRARY = [
    ("bookhouse", "梧桐书屋是什么？", ["梧桐书屋", "书屋开放时间", "书屋几点开门", "书屋要办卡吗", "梧桐书屋在哪"], []),
    ("reading-room", "社区图书室在哪里？", ["图书室在哪", "图书室能借书吗", "社区有没有图书室", "社区图书室"], []),
    ("pension", "城乡居民养老保险怎么参保？", ["养老保险怎么交", "养老保险", "养老保险交多少钱"], []),
    ("dibao", "低保怎么申请？", ["低保申请", "想办低保找谁"], []),
]


def test_a_synonym_that_moves_a_question_to_another_entry_is_a_warning(tmp_path, capsys):
    faq = make_faq(
        tmp_path / "faq", LIBRARY, synonyms=[["书屋", "图书室"]], tests=[("社区图书室要办卡吗", "bookhouse")]
    )
    code, out = check(faq, capsys)
    assert code == 0, out
    assert (
        "settings.yaml:0: 警告：同义词组 [书屋, 图书室] 让问题“社区图书室要办卡吗”"
        "从条目 reading-room 改为匹配 bookhouse；如果这不是想要的，请调整这组同义词"
    ) in out


def test_without_that_synonym_the_question_stays_put_and_nothing_is_reported(tmp_path, capsys):
    faq = make_faq(tmp_path / "faq", LIBRARY, tests=[("社区图书室要办卡吗", "reading-room")])
    code, out = check(faq, capsys)
    assert code == 0 and "同义词组" not in out, out


def test_a_synonym_that_moves_nothing_is_not_reported(tmp_path, capsys):
    faq = make_faq(
        tmp_path / "faq",
        LIBRARY,
        synonyms=[["低保", "最低生活保障"]],
        tests=[("社区图书室要办卡吗", "reading-room"), ("最低生活保障怎么申请", "dibao")],
    )
    code, out = check(faq, capsys)
    assert code == 0 and "同义词组" not in out, out
    assert "回归测试 2/2 通过" in out


def test_the_synonym_lint_runs_in_faq_check_only(tmp_path, capsys, make_settings):
    from servicebot.service import Service

    faq = make_faq(
        tmp_path / "faq", LIBRARY, synonyms=[["书屋", "图书室"]], tests=[("社区图书室要办卡吗", "bookhouse")]
    )
    swapped, problems = Service.from_settings(make_settings(faq)).reload()
    assert swapped and not any("同义词组" in p.message for p in problems)
