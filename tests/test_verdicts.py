"""The matcher's verdict on a whole FAQ is read back on an unchanged FAQ, and only then: the same
report as a fresh check, recomputed after any edit, other thresholds or a damaged cache file."""

from __future__ import annotations

import shutil

import pytest

from servicebot import checks, verdicts

from conftest import FIXTURES


@pytest.fixture
def counted(monkeypatch):
    """How many times the checks really matched every phrasing (the real function, counted)."""
    calls = []
    real = checks.consistency_problems

    def consistency(index):
        calls.append(index)
        return real(index)

    monkeypatch.setattr(checks, "consistency_problems", consistency)
    return calls


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


def test_the_key_follows_every_yaml_file_and_the_facts(mini_faq):
    key = verdicts.key(mini_faq, "a")
    assert key == verdicts.key(mini_faq, "a") and key != verdicts.key(mini_faq, "b")
    (mini_faq / "referrals.yaml").write_text("matters: []\n", encoding="utf-8")
    assert verdicts.key(mini_faq, "a") != key
    assert verdicts.key(mini_faq / "missing", "a") is not None  # an empty directory: nothing to read
