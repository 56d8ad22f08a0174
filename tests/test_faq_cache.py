"""The on-disk FAQ parse cache: a restart takes unchanged files from it, an edited file is
parsed again, and a cache that is corrupt or cannot be written never changes a verdict."""

from __future__ import annotations

import dataclasses
import datetime as dt
import marshal
import os
import time
from pathlib import Path

import pytest

from servicebot.config import Settings
from servicebot.errors import Problem, Reach, Severity
from servicebot.faq import RESERVED_FILES, cache, check_faq, checks, fields, messages
from servicebot.faq.model import Entry, Link, Source, Topic

from support.wording import wording

TODAY = dt.date(2026, 11, 28)
BROKEN = """\
topic: 出错的文件
entries:
  - id: broken-one
    question: 这个条目链接写错了
    alternates: [链接写错]
    answer: 回答
    links:
      - title: 网站
        url: www.example.org
    source: 测试资料
    reviewed: 2026-11-01
"""


@pytest.fixture
def parses(monkeypatch) -> list[str]:
    """Topic files the loader really parses (settings.yaml and tests.yaml, small, always are)."""
    seen: list[str] = []
    real = fields.parse_yaml

    def spy(raw, label):
        if label not in RESERVED_FILES:
            seen.append(label)
        return real(raw, label)

    monkeypatch.setattr(fields, "parse_yaml", spy)
    return seen


def restart_and_load(directory: Path, cache_dir: Path | None):
    cache.MEMORY.clear()
    return check_faq(directory, today=TODAY, cache_dir=cache_dir)


def test_a_restart_takes_unchanged_files_from_the_cache(mini_faq, tmp_path, parses):
    cache = tmp_path / "cache"
    first, first_problems = restart_and_load(mini_faq, cache)
    assert sorted(parses) == ["books.yaml", "welfare.yaml"]
    parses.clear()
    again, again_problems = restart_and_load(mini_faq, cache)
    assert parses == []
    assert again == first and again.entries == first.entries and again_problems == first_problems


def test_a_draft_comes_back_from_the_cache_as_a_draft(mini_faq, tmp_path, parses):
    books = mini_faq / "books.yaml"
    draft = BROKEN.split("entries:\n")[1].replace("broken-one", "todo-draft").replace("www.", "https://www.")
    marked = draft.replace("    question:", "    draft: true\n    question:")
    books.write_text(books.read_text(encoding="utf-8") + marked, encoding="utf-8")
    first, _ = restart_and_load(mini_faq, tmp_path / "cache")
    parses.clear()
    again, _ = restart_and_load(mini_faq, tmp_path / "cache")
    assert parses == [] and first is not None and again is not None
    assert [d.id for d in again.drafts] == ["todo-draft"] and again.drafts == first.drafts and again.drafts[0].draft


def test_an_edited_file_is_parsed_again_and_its_new_content_served(mini_faq, tmp_path, parses):
    cache = tmp_path / "cache"
    restart_and_load(mini_faq, cache)
    path = mini_faq / "books.yaml"
    faq, problems = check_faq(mini_faq, today=TODAY)
    assert faq is not None, problems
    old = faq.entries[0].answer
    path.write_text(path.read_text(encoding="utf-8").replace(old, "改过的回答"), encoding="utf-8")
    parses.clear()
    faq, _ = restart_and_load(mini_faq, cache)
    assert parses == ["books.yaml"]
    assert "改过的回答" in [e.answer for e in faq.entries]


def test_problems_from_the_cache_keep_their_file_and_line(mini_faq, tmp_path, parses):
    (mini_faq / "broken.yaml").write_text(BROKEN, encoding="utf-8")
    cache = tmp_path / "cache"
    fresh = restart_and_load(mini_faq, None)
    restart_and_load(mini_faq, cache)
    parses.clear()
    cached = restart_and_load(mini_faq, cache)
    assert parses == []
    assert cached[0] is None and cached[1] == fresh[1]
    assert any(p.file == "broken.yaml" and p.line == 9 and "www.example.org" in p.message for p in cached[1])


def test_a_corrupt_cache_file_is_ignored_and_rewritten(mini_faq, tmp_path, parses):
    cache = tmp_path / "cache"
    expected, _ = restart_and_load(mini_faq, cache)
    for cache_file in cache.iterdir():
        cache_file.write_bytes(cache_file.read_bytes()[:40])
    parses.clear()
    faq, _ = restart_and_load(mini_faq, cache)
    assert faq == expected and sorted(parses) == ["books.yaml", "welfare.yaml"]
    parses.clear()
    restart_and_load(mini_faq, cache)
    assert parses == []


def test_a_cache_directory_that_cannot_be_written_changes_nothing(mini_faq, tmp_path):
    blocked = tmp_path / "not-a-directory"
    blocked.write_text("a file where the cache directory should be", encoding="utf-8")
    expected, _ = restart_and_load(mini_faq, None)
    faq, problems = restart_and_load(mini_faq, blocked / "cache")
    assert faq == expected and not [p for p in problems if p.is_error]


def test_cache_files_unused_for_a_month_are_removed_when_one_is_written(mini_faq, tmp_path):
    cache = tmp_path / "cache"
    restart_and_load(mini_faq, cache)
    before = set(cache.glob("*.faqcache"))
    month_ago = time.time() - 31 * 86400
    for path in before:
        os.utime(path, (month_ago, month_ago))
    books = mini_faq / "books.yaml"
    books.write_text(books.read_text(encoding="utf-8") + "# 改过\n", encoding="utf-8")
    restart_and_load(mini_faq, cache)  # welfare.yaml's cache file is used, books.yaml's replaced
    after = set(cache.glob("*.faqcache"))
    assert len(after) == 2 and len(after & before) == 1
    (kept,) = after & before
    assert kept.stat().st_mtime > month_ago + 86400


def test_a_copy_of_the_faq_elsewhere_reuses_the_cache(mini_faq, tmp_path, parses):
    cache = tmp_path / "cache"
    other = tmp_path / "other"
    other.mkdir()
    for path in mini_faq.iterdir():
        (other / path.name).write_bytes(path.read_bytes())
    expected, _ = restart_and_load(mini_faq, cache)
    parses.clear()
    faq, _ = restart_and_load(other, cache)
    assert parses == [] and faq == expected and len(list(cache.glob("*.faqcache"))) == 2


def test_warnings_that_depend_on_the_day_are_never_taken_from_the_cache(mini_faq, tmp_path, parses):
    cache_dir = tmp_path / "cache"
    _, fresh = restart_and_load(mini_faq, cache_dir)
    stale = wording(messages.STALE)
    assert not [p for p in fresh if stale.fullmatch(p.message)]
    parses.clear()
    cache.MEMORY.clear()
    _, later = check_faq(mini_faq, today=TODAY + dt.timedelta(days=400), cache_dir=cache_dir)
    assert parses == []  # the files came from the cache, the stale rule ran on the new day
    assert [p for p in later if stale.fullmatch(p.message)]
    _, strict = check_faq(mini_faq, today=TODAY, stale_days=1, cache_dir=cache_dir)
    assert [p for p in strict if stale.fullmatch(p.message)]


def test_checks_of_the_rendered_answer_run_on_cached_files_too(mini_faq, tmp_path, monkeypatch, parses):
    """How an answer renders is not the YAML's: a cached file still gets today's length check."""
    settings = Settings(faq_dir=mini_faq, data_dir=tmp_path / "data")
    assert checks.validate(mini_faq, settings, today=TODAY)[0] is not None
    parses.clear()
    monkeypatch.setattr(checks, "MAX_ANSWER_CHARS", 20)
    faq, problems = checks.validate(mini_faq, settings, today=TODAY)
    assert parses == [] and faq is None
    assert any(wording(checks.ANSWER_TOO_LONG, limit=20).fullmatch(p.message) for p in problems)


def test_the_cache_key_covers_the_code_that_produces_a_verdict(tmp_path):
    assert {"model.py", "yaml_lines.py", "validation.py", "cache.py", "errors.py"} <= {p.name for p in cache.SOURCES}
    copies = []
    for source in cache.SOURCES:
        copies.append(tmp_path / source.name)
        copies[-1].write_bytes(source.read_bytes())
    assert cache.format_key(copies) == cache.FORMAT
    validator = tmp_path / "validation.py"
    validator.write_bytes(validator.read_bytes() + b"# a changed rule\n")
    assert cache.format_key(copies) != cache.FORMAT


def test_a_cache_written_by_other_code_is_not_used(mini_faq, tmp_path, monkeypatch, parses):
    cache_dir = tmp_path / "cache"
    restart_and_load(mini_faq, cache_dir)
    monkeypatch.setattr(cache, "FORMAT", "another version of the validation")
    parses.clear()
    restart_and_load(mini_faq, cache_dir)
    assert sorted(parses) == ["books.yaml", "welfare.yaml"]


def test_every_field_of_an_entry_and_a_problem_survives_the_disk_format():
    """A field added to Entry (keyword_lines, verify, sources, draft …) must be written to the cache
    too, or a restart would serve entries that lost it: every field here differs from its default."""
    entry = Entry(
        id="dibao-apply",
        question="低保怎么申请？",
        alternates=("低保咋办",),
        answer="回答",
        source="资料",
        reviewed=dt.date(2026, 11, 1),
        topic="民生保障",
        keywords=("低保",),
        links=(Link("网站", "https://www.example.gov.cn"),),
        related=("dibao-removal",),
        file="welfare.yaml",
        line=3,
        phrasing_lines=(4, 6),
        keyword_lines=(8,),
        verify="电话号码待核实",
        sources=(Source("https://www.example.gov.cn/a", "标题", dt.date(2022, 8, 31), ("727元",)),),
        draft=True,
    )
    defaults = Entry(entry.id, "", (), "", "", entry.reviewed, "")
    unset = [f.name for f in dataclasses.fields(Entry) if getattr(entry, f.name) == getattr(defaults, f.name)]
    assert unset == ["id", "reviewed"]  # the two given to both
    problem = Problem("welfare.yaml", 13, "YAML 格式错误", Severity.ERROR, Reach.FILE)
    result = cache.FileResult(Topic("民生保障", "welfare.yaml", (entry.id,)), (entry,), (problem,), (("k",),))
    assert cache._decode(marshal.loads(marshal.dumps(cache._encode(result)))) == result
