"""faq/sources.py and the `sources:` of FAQ entries: a fact beyond the report needs its source."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import servicebot.faq.sources as faq_sources
from servicebot.faq import check_faq, load_faq, messages
from servicebot.faq.cache import _decode, _encode
from servicebot.faq.freshness import office_today
from servicebot.faq.model import Source
from servicebot.faq.sources import REPORT_FACTS, facts_in, facts_missing_from, unsourced_facts

from conftest import FIXTURES, PINNED_FAQ

SOURCE = Source("https://www.chuzhou.gov.cn/x.html", "某通知", dt.date(2022, 8, 31), ("2022年7月1日", "727元"))


def test_facts_are_phone_numbers_amounts_and_dates_not_counts_or_years():
    text = "拨打12345或0550-1234567，标准为每人每月727元，2022年7月1日起执行；办事处有300多名党员、48个岗，2020年成立。"
    assert sorted(facts_in(text).values()) == sorted(["12345", "0550-1234567", "727元", "2022年7月1日"])


def test_dates_match_whatever_way_they_are_written():
    assert set(facts_in("2022-07-01")) == set(facts_in("2022年7月1日"))
    assert unsourced_facts("自2022年07月01日起", [SOURCE]) == []


def test_a_fact_needs_a_source_that_lists_it():
    assert unsourced_facts("每人每月727元，热线12345", [SOURCE]) == ["12345"]
    assert unsourced_facts("热线12345", [], cited="中央某网站（12345）") == []  # named in the entry's source line


def test_the_reports_own_figures_need_no_source():
    assert unsourced_facts("挽回经济损失280751.6元", []) == []
    assert "280751.6元" in REPORT_FACTS


def test_listed_facts_the_text_no_longer_states_are_named():
    assert facts_missing_from("每人每月727元", [SOURCE]) == ["2022年7月1日"]


def _write_entry(directory: Path, answer: str, sources: str = "") -> Path:
    path = directory / "topic.yaml"
    path.write_text(
        "topic: 测试\nentries:\n  - id: one\n    question: 低保标准是多少？\n    alternates: [低保标准]\n"
        f"    answer: {answer}\n{sources}    source: 测试资料\n    reviewed: 2026-11-01\n",
        encoding="utf-8",
    )
    return path


def test_an_unsourced_fact_in_an_answer_is_an_error_on_the_answer_line(tmp_path):
    _write_entry(tmp_path, "城市低保每人每月727元")
    faq, problems = check_faq(tmp_path)
    assert faq is None
    [problem] = [p for p in problems if p.is_error]
    what = messages.ENTRY_ANSWER.format(id="one")
    assert (problem.file, problem.line, problem.message) == (
        "topic.yaml",
        6,
        messages.UNSOURCED_FACT.format(what=what, fact="727元"),
    )


def test_a_sourced_fact_loads_with_its_source(tmp_path):
    sources = (
        "    sources:\n      - url: https://www.chuzhou.gov.cn/x.html\n        title: 某通知\n"
        "        date: 2022-08-31\n        facts: [727元]\n"
    )
    _write_entry(tmp_path, "城市低保每人每月727元", sources)
    entry = load_faq(tmp_path).entries[0]
    assert entry.sources == (Source("https://www.chuzhou.gov.cn/x.html", "某通知", dt.date(2022, 8, 31), ("727元",)),)
    assert entry.sources[0].official


def test_a_broken_source_is_reported_with_its_lines(tmp_path):
    sources = (
        "    sources:\n      - url: www.example.com\n        title: 某通知\n"
        "        note: 多写的\n        date: 2022/8/31\n"
    )
    _write_entry(tmp_path, "没有数字", sources)
    _, problems = check_faq(tmp_path)
    located = {(p.line, p.message) for p in problems if p.is_error}
    assert (8, messages.SOURCE_BAD_URL.format(url="www.example.com")) in located
    assert (10, messages.SOURCE_UNKNOWN_KEY.format(key="note", allowed="url、title、date、facts")) in located
    assert (11, messages.BAD_DATE.format(name="date", value="2022/8/31")) in located


def test_a_source_dated_today_in_china_is_not_in_the_future(tmp_path, monkeypatch):
    """Between 00:00 and 08:00 China time a container's (UTC) date is yesterday's: a page staff
    found this morning must not be refused as "in the future"."""
    morning = dt.datetime(2026, 12, 8, 7, 30, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    monkeypatch.setattr(faq_sources, "office_today", lambda: office_today(morning))
    for date, refused in (("2026-12-08", False), ("2026-12-09", True)):
        block = "    sources:\n      - url: https://www.chuzhou.gov.cn/x.html\n        title: 某通知\n"
        block += f"        date: {date}\n"
        _write_entry(tmp_path, "没有数字", block)
        future = messages.SOURCE_IN_FUTURE.format(date=date)
        assert any(p.message == future for p in check_faq(tmp_path)[1]) is refused, date


def test_sources_survive_the_parse_cache(tmp_path):
    shutil.copytree(PINNED_FAQ, tmp_path / "faq")
    faq = load_faq(tmp_path / "faq")
    from servicebot.faq.cache import FileResult

    result = FileResult(None, faq.entries, ())
    assert _decode(_encode(result)).entries == faq.entries


def test_every_fact_beyond_the_report_in_the_shipped_faq_has_a_source_url_and_date():
    faq = load_faq(PINNED_FAQ)
    sourced = [s for e in faq.entries for s in e.sources]
    assert faq.referrals is not None
    sourced += [s for m in faq.referrals.matters for s in m.sources] + list(faq.referrals.general_sources)
    assert sourced and all(s.url.startswith("http") and s.date <= dt.date.today() for s in sourced)
    for entry in faq.entries:
        assert unsourced_facts(entry.answer, entry.sources, entry.source) == [], entry.id
    for matter in faq.referrals.matters:
        assert unsourced_facts(f"{matter.body}{matter.how}", matter.sources) == [], matter.id
    assert (FIXTURES / "mini").is_dir()
