"""The matcher's verdict on a whole FAQ, and the built index, are read back on an unchanged FAQ,
and only then: the same report and answers as fresh, recomputed after any edit, other thresholds
or a damaged cache file."""

from __future__ import annotations

import dataclasses
import os
import shutil

import pytest

from servicebot.faq import checks, load_faq, messages, verdicts
from servicebot.matching.index import Index

from conftest import FIXTURES, PINNED_FAQ
from support.wording import wording


def count_calls(monkeypatch, module, name: str) -> list:
    """`module.name` replaced by the real function, counted: the list of its first arguments."""
    calls = []
    real = getattr(module, name)

    def counting(first):
        calls.append(first)
        return real(first)

    monkeypatch.setattr(module, name, counting)
    return calls


@pytest.fixture
def counted(monkeypatch):
    """How many times the checks really matched every phrasing."""
    return count_calls(monkeypatch, checks, "consistency_problems")


def _same(a: checks.Report, b: checks.Report) -> bool:
    return a.problems == b.problems and [(r.case, r.got) for r in a.regression] == [
        (r.case, r.got) for r in b.regression
    ]


def test_an_unchanged_faq_is_read_back_with_the_same_report(mini_faq, make_settings, counted):
    settings = make_settings(mini_faq)
    first = checks.check_directory(mini_faq, settings, lint_synonyms=True)
    again = checks.check_directory(mini_faq, settings, lint_synonyms=True)
    assert len(counted) == 1  # the second check did not match the phrasings again
    assert _same(first, again) and first.regression and again.index is not None
    assert list(settings.cache_dir.glob("*.verdict"))


def test_an_edit_other_thresholds_or_the_lint_are_checked_afresh(mini_faq, make_settings, counted):
    settings = make_settings(mini_faq)
    checks.check_directory(mini_faq, settings)
    books = mini_faq / "books.yaml"
    books.write_text(books.read_text(encoding="utf-8").replace("。", "！", 1), encoding="utf-8")
    checks.check_directory(mini_faq, settings)
    assert len(counted) == 2
    checks.check_directory(mini_faq, make_settings(mini_faq, answer_threshold=60))
    assert len(counted) == 3
    checks.check_directory(mini_faq, settings, lint_synonyms=True)
    assert len(counted) == 4


def test_a_problem_found_is_reported_again_from_the_verdict(tmp_path, make_settings, counted):
    faq = tmp_path / "faq"
    shutil.copytree(FIXTURES / "mini", faq)
    tests = faq / "tests.yaml"
    tests.write_text(tests.read_text(encoding="utf-8").replace("expect: dibao-apply", "expect: pension-insurance"))
    settings = make_settings(faq)
    first = checks.check_directory(faq, settings)
    again = checks.check_directory(faq, settings)
    assert first.errors and len(counted) == 1
    assert _same(first, again) and not all(r.passed for r in again.regression)


def test_a_damaged_verdict_is_ignored(mini_faq, make_settings, counted):
    settings = make_settings(mini_faq)
    first = checks.check_directory(mini_faq, settings)
    for path in settings.cache_dir.glob("*.verdict"):
        path.write_bytes(b"\x00not marshal")
    again = checks.check_directory(mini_faq, settings)
    assert len(counted) == 2 and _same(first, again)


def test_the_key_follows_every_file_read_and_the_facts(mini_faq):
    faq = load_faq(mini_faq)
    key = verdicts.key(faq, "a")
    assert key == verdicts.key(load_faq(mini_faq), "a") and key != verdicts.key(faq, "b")
    path = mini_faq / "settings.yaml"
    path.write_text(path.read_text(encoding="utf-8") + "\n", encoding="utf-8")  # one byte more
    assert verdicts.key(load_faq(mini_faq), "a") != key
    assert verdicts.key(dataclasses.replace(faq), "a") is None  # not the files' FAQ any more


# -- the built index ------------------------------------------------------------------------


@pytest.fixture
def builds(monkeypatch):
    """How many times an index was really built from a FAQ (the real method, counted)."""
    calls = []
    real = Index._build

    def build(self, *args):
        calls.append(self)
        return real(self, *args)

    monkeypatch.setattr(Index, "_build", build)
    return calls


def _answers(index: Index, questions: list[str]) -> list[tuple]:
    return [(m.status, m.entry_id, m.score, m.reason, m.candidates) for m in map(index.match, questions)]


def _questions(faq) -> list[str]:
    asked = [p for e in faq.entries for p in (*e.phrasings, *e.keywords)]
    return [*asked, "低保怎么申请", "我家老人瘫痪了有补助吗", "护照在哪办", "垃圾分类", "你好", "地保"]


def test_an_unchanged_faq_is_indexed_once_and_read_back_alike(make_settings, builds):
    settings = make_settings(PINNED_FAQ)
    faq = load_faq(PINNED_FAQ)
    fresh = checks.build_index(faq, settings)
    again = checks.build_index(load_faq(PINNED_FAQ), settings)
    assert len(builds) == 1 and len(list(settings.cache_dir.glob("*.index"))) == 1
    questions = _questions(faq)
    assert _answers(again, questions) == _answers(fresh, questions)


def test_an_edited_faq_is_indexed_afresh_and_answers_the_edit(mini_faq, make_settings, builds):
    settings = make_settings(mini_faq)
    checks.build_index(load_faq(mini_faq), settings)
    path = mini_faq / "books.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(
        text.replace("      - 书屋在哪\n", "      - 书屋在哪\n      - 蓝鲸图书借阅卡怎么挂失\n", 1), encoding="utf-8"
    )
    edited = checks.build_index(load_faq(mini_faq), settings)
    assert len(builds) == 2
    assert edited.match("蓝鲸图书借阅卡怎么挂失").status == "answered"


def test_a_damaged_index_is_built_again(mini_faq, make_settings, builds):
    settings = make_settings(mini_faq)
    fresh = checks.build_index(load_faq(mini_faq), settings)
    (stored,) = settings.cache_dir.glob("*.index")
    stored.write_bytes(stored.read_bytes()[:100])  # a write cut short
    again = checks.build_index(load_faq(mini_faq), settings)
    assert len(builds) == 2
    questions = _questions(fresh.faq)
    assert _answers(again, questions) == _answers(fresh, questions)
    assert verdicts.recall_index(settings.cache_dir, stored.stem) is not None  # written whole again


def test_a_changed_faq_the_lints_variants_and_faq_diffs_sides_are_never_kept(mini_faq, make_settings):
    settings = make_settings(mini_faq)
    faq = load_faq(mini_faq)
    changed = dataclasses.replace(faq, entries=faq.entries[1:])
    assert faq.content_key and not changed.content_key  # a changed copy is no longer the files' FAQ
    checks.build_index(changed, settings)
    checks.build_index(faq, settings, synonyms=())
    checks.build_index(faq, settings, keep=False)  # faq diff's sides
    assert not list(settings.cache_dir.glob("*.index"))


def test_only_the_newest_indexes_are_kept(tmp_path):
    for n in range(verdicts.KEPT_INDEXES + 2):
        verdicts.remember_index(tmp_path, f"k{n}", {"n": n})
        os.utime(tmp_path / f"k{n}.index", (n, n))  # written in this order
    verdicts.remember_index(tmp_path, "newest", {"n": -1})
    kept = {p.stem for p in tmp_path.glob("*.index")}
    assert len(kept) == verdicts.KEPT_INDEXES and "newest" in kept and "k0" not in kept


def test_a_killed_writers_leftover_is_removed(tmp_path):
    left = tmp_path / "abc123.tmp"
    left.write_bytes(b"half an index")
    os.utime(left, (0, 0))  # long ago: its writer was killed
    fresh = tmp_path / "def456.tmp"
    fresh.write_bytes(b"another writer, now")
    verdicts.remember_index(tmp_path, "k", {"n": 1})
    assert not left.exists() and fresh.exists()
    assert verdicts.recall_index(tmp_path, "k") == {"n": 1}


@pytest.fixture
def shared_counted(monkeypatch):
    """How many times the shared-keyword lint really ran over every entry."""
    from servicebot.faq import validation

    return count_calls(monkeypatch, validation, "shared_keyword_warnings")


def test_the_shared_keyword_lint_is_read_back_by_content_and_a_damaged_copy_is_ignored(
    mini_faq, make_settings, shared_counted
):
    welfare = mini_faq / "welfare.yaml"
    plain = welfare.read_text(encoding="utf-8")
    related = "    related: [dibao-removal]"
    welfare.write_text(plain.replace(related, "    keywords: [共享书屋]\n" + related, 1), encoding="utf-8")
    settings = make_settings(mini_faq)
    first = checks.validate(mini_faq, settings)[1]
    assert any(wording(messages.SHARED_KEYWORD, word="共享书屋").fullmatch(p.message) for p in first)
    assert checks.validate(mini_faq, settings)[1] == first and len(shared_counted) == 1
    for path in settings.cache_dir.glob("*.lint"):
        path.write_bytes(b"\x00not marshal")
    assert checks.validate(mini_faq, settings)[1] == first and len(shared_counted) == 2
    welfare.write_text(plain, encoding="utf-8")
    assert not any("共享书屋" in p.message for p in checks.validate(mini_faq, settings)[1])
    assert len(shared_counted) == 3
