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
from servicebot.errors import Problem, Severity
from servicebot.faq import checks
from servicebot.tools.faq_commands import CHECK_PASSED

from support.wording import wording

# An entry as `make_faq` writes it: (id, question, alternates, keywords).
EntrySpec = tuple[str, str, list[str], list[str]]

FILLER: list[EntrySpec] = [
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


def make_faq(root: Path, entries: list[EntrySpec], synonyms=(), tests=()) -> Path:
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

HOURS: list[EntrySpec] = [
    ("room-hours", "图书室几点开门？", ["图书室开放时间", "图书室周末开吗"], []),
    ("reading-hours", "阅览室几点开门？", ["阅览室开放时间", "阅览室周末开吗"], []),
]


def tied(entry: str, text: str, other: str) -> str:
    """The error for a phrasing of `entry` that ties with `other` (all entries are in topic.yaml)."""
    what = checks.TIED_WITH.format(other=other, file="topic.yaml")
    return checks.PHRASING_ASTRAY.format(id=entry, text=text, what=what, fix=checks.FIX_TIED)


def problem_lines(out: str) -> list[str]:
    """What `faq check` printed before its one-line summary."""
    return out.splitlines()[:-1]


def test_alternates_made_identical_by_a_synonym_are_an_error(tmp_path, capsys):
    code, out = check(make_faq(tmp_path / "faq", FILLER + HOURS, synonyms=[["图书室", "阅览室"]]), capsys)
    assert code == 1
    topic = tmp_path / "faq" / "topic.yaml"
    at = {text: n for n, text in enumerate(topic.read_text(encoding="utf-8").splitlines(), 1)}
    assert f"topic.yaml:{at['      - 图书室开放时间']}: {tied('room-hours', '图书室开放时间', 'reading-hours')}" in out
    assert f"topic.yaml:{at['      - 阅览室开放时间']}: {tied('reading-hours', '阅览室开放时间', 'room-hours')}" in out


def test_the_same_alternates_without_the_synonym_are_fine(tmp_path, capsys):
    code, out = check(make_faq(tmp_path / "faq", FILLER + HOURS), capsys)
    assert code == 0, out
    astray = wording(checks.PHRASING_ASTRAY)
    assert not [line for line in problem_lines(out) if astray.search(line)], out


def test_a_keyword_equal_to_another_entrys_alternate_is_an_error(tmp_path, capsys):
    entries = [
        *FILLER,
        ("dibao-apply", "低保怎么申请？", ["办低保", "想办低保找谁"], []),
        ("dibao-removal", "为什么我家的低保被取消了？", ["低保被停了", "低保为啥没了"], ["办低保"]),
    ]
    code, out = check(make_faq(tmp_path / "faq", entries), capsys)
    assert code == 1
    assert tied("dibao-apply", "办低保", "dibao-removal") in out


def test_a_phrasing_of_only_polite_words_is_an_error(tmp_path, capsys):
    entries = [*FILLER, ("dibao-apply", "低保怎么申请？", ["低保申请", "你好"], [])]
    code, out = check(make_faq(tmp_path / "faq", entries), capsys)
    assert code == 1
    nothing = checks.PHRASING_ASTRAY.format(
        id="dibao-apply", text="你好", what=checks.REACHES_NOTHING, fix=checks.FIX_REACHES_NOTHING
    )
    assert nothing in out


def test_a_refused_phrasing_also_blocks_a_live_reload(tmp_path, make_settings):
    from servicebot.answering.service import Service
    from servicebot.errors import FaqError

    faq = make_faq(tmp_path / "faq", FILLER + HOURS, synonyms=[["图书室", "阅览室"]])
    with pytest.raises(FaqError) as caught:
        Service.from_settings(make_settings(faq))
    messages = {p.message for p in caught.value.problems}
    assert tied("room-hours", "图书室开放时间", "reading-hours") in messages


# --- two entries residents could confuse (warning) -------------------------------------

LOOKALIKE: list[EntrySpec] = [
    ("dibao-apply", "低保怎么申请？", ["低保申请", "想办低保找谁"], []),
    ("dibao-apply-online", "低保怎么网上申请？", ["低保网上申请", "低保能在手机上申请吗"], []),
]
DISTINCT: list[EntrySpec] = [
    ("dibao-material", "低保申请要什么材料？", ["低保申请材料", "办低保带什么", "低保要准备哪些证件"], []),
    ("dibao-where", "低保申请要去哪里？", ["低保在哪申请", "办低保去哪", "低保到哪里办"], []),
]


def test_lookalike_entries_are_a_warning_naming_both(tmp_path, capsys):
    code, out = check(make_faq(tmp_path / "faq", FILLER + LOOKALIKE), capsys)
    assert code == 0, out
    found = wording(checks.LOOKALIKE).search(out)
    assert found and {found["id"], found["other"]} == {"dibao-apply", "dibao-apply-online"}, out
    line = next(line for line in out.splitlines() if found[0] in line)
    assert line == str(Problem("topic.yaml", int(line.split(":")[1]), found[0], Severity.WARNING))


def test_entries_on_the_same_subject_but_different_questions_are_not_flagged(tmp_path, capsys):
    code, out = check(make_faq(tmp_path / "faq", FILLER + DISTINCT), capsys)
    assert code == 0 and problem_lines(out) == [], out


def test_an_entry_is_never_reported_as_similar_to_itself(tmp_path, capsys):
    _, out = check(make_faq(tmp_path / "faq", FILLER + HOURS, synonyms=[["图书室", "阅览室"]]), capsys)
    for found in wording(checks.LOOKALIKE).finditer(out):
        assert found["id"] != found["other"], found[0]


def test_the_same_question_in_two_entries_is_flagged_even_when_worded_differently(tmp_path, capsys):
    twins: list[EntrySpec] = [
        ("dibao-apply", "低保怎么申请？", ["低保申请", "想办低保找谁"], []),
        ("dibao-apply2", "低保如何申请？", ["怎样申请低保", "低保申请流程"], []),
    ]
    _, out = check(make_faq(tmp_path / "faq", FILLER + twins), capsys)
    pairs = [{m["id"], m["other"]} for m in wording(checks.LOOKALIKE).finditer(out)]
    assert any("dibao-apply2" in pair for pair in pairs), out


# --- a synonym group that moves a question (warning) -------------------------------------

LIBRARY: list[EntrySpec] = [
    ("bookhouse", "梧桐书屋是什么？", ["梧桐书屋", "书屋开放时间", "书屋几点开门", "书屋要办卡吗", "梧桐书屋在哪"], []),
    ("reading-room", "社区图书室在哪里？", ["图书室在哪", "图书室能借书吗", "社区有没有图书室", "社区图书室"], []),
    ("pension", "城乡居民养老保险怎么参保？", ["养老保险怎么交", "养老保险", "养老保险交多少钱"], []),
    ("dibao", "低保怎么申请？", ["低保申请", "想办低保找谁"], []),
]


def test_a_synonym_that_moves_a_question_to_another_entry_is_a_warning(tmp_path, capsys):
    faq = make_faq(tmp_path / "faq", LIBRARY, synonyms=[["书屋", "图书室"]], tests=[("图书室要办卡吗", "bookhouse")])
    code, out = check(faq, capsys)
    assert code == 0, out
    moved = checks.SYNONYM_MOVES.format(
        group="书屋, 图书室",
        question="图书室要办卡吗",
        before="reading-room",
        now=checks.MOVED_TO.format(entry="bookhouse"),
    )
    # Pointed at the line the group is written on (contact, synonyms:, then the group).
    assert str(Problem("settings.yaml", 3, moved, Severity.WARNING)) in out


def test_without_that_synonym_the_question_stays_put_and_nothing_is_reported(tmp_path, capsys):
    faq = make_faq(tmp_path / "faq", LIBRARY, tests=[("图书室要办卡吗", "reading-room")])
    code, out = check(faq, capsys)
    assert code == 0 and not wording(checks.SYNONYM_MOVES).search(out), out


def test_a_synonym_that_moves_nothing_is_not_reported(tmp_path, capsys):
    faq = make_faq(
        tmp_path / "faq",
        LIBRARY,
        synonyms=[["低保", "最低生活保障"]],
        tests=[("图书室要办卡吗", "reading-room"), ("最低生活保障怎么申请", "dibao")],
    )
    code, out = check(faq, capsys)
    assert code == 0 and not wording(checks.SYNONYM_MOVES).search(out), out
    assert wording(CHECK_PASSED, passed=2, cases=2).search(out), out


def test_the_synonym_lint_runs_in_faq_check_only(tmp_path, capsys, make_settings):
    from servicebot.answering.service import Service

    faq = make_faq(tmp_path / "faq", LIBRARY, synonyms=[["书屋", "图书室"]], tests=[("图书室要办卡吗", "bookhouse")])
    swapped, problems = Service.from_settings(make_settings(faq)).reload()
    assert swapped and not any(wording(checks.SYNONYM_MOVES).search(p.message) for p in problems)
