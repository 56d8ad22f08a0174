"""The matcher: right answers, honest refusals, and no exceptions whatever residents type."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from servicebot.faq import load_faq
from servicebot.matching import ANSWERED, SUGGEST, UNANSWERED, Index, Thresholds, features, tokens

from conftest import FIXTURES


@pytest.fixture(scope="module")
def index() -> Index:
    return Index(load_faq(FIXTURES / "mini"))


@pytest.mark.parametrize(
    "question, entry_id",
    [
        ("低保", "dibao-apply"),
        ("地保怎么申请", "dibao-apply"),  # homophone typo
        ("养老保险怎么交", "pension-insurance"),
        ("養老保險怎麼辦理？", "pension-insurance"),  # traditional characters
        ("请问一下图书室在哪啊？🙏", "bookhouse-wutong"),  # filler, synonym, emoji
        ("垃圾分内体验馆", "garbage-hall"),  # n/l typo
        ("ＷＴ梧桐书屋！！", "bookhouse-wutong"),
    ],
)
def test_resident_questions_reach_the_right_entry(index, question, entry_id):
    match = index.match(question)
    assert (match.status, match.entry_id) == (ANSWERED, entry_id)


@pytest.mark.parametrize("question", ["今天天气怎么样", "火车票怎么买", "附近哪里有好吃的", "😀😀😀", "", "   "])
def test_off_topic_questions_are_not_answered(index, question):
    match = index.match(question)
    assert match.status == UNANSWERED
    assert match.entry_id is None


@pytest.mark.parametrize("question", ["书", "保", "馆", "4", "二"])
def test_a_single_character_is_too_little_to_match_on(index, question):
    match = index.match(question)
    assert (match.status, match.candidates) == (UNANSWERED, ())


def test_a_single_token_equal_to_a_phrasing_still_matches():
    faq = load_faq(FIXTURES / "mini")
    entry = faq.entries[0]
    short = dataclasses.replace(entry, alternates=(*entry.alternates, "馆", "12388"))
    index = Index(dataclasses.replace(faq, entries=(short, *faq.entries[1:])))
    for question in ("馆", "１２３８８"):
        match = index.match(question)
        assert (match.status, match.entry_id) == (ANSWERED, entry.id)
    assert index.match("书").status == UNANSWERED


def test_homophones_alone_are_not_enough_to_answer(index):
    # 地保: one character as written, one a homophone typo of 低保. 地宝: both homophones,
    # the same sounds as 低保 but nothing as written: offered, not asserted.
    assert (index.match("地保").status, index.match("地保").entry_id) == (ANSWERED, "dibao-apply")
    guess = index.match("地宝")
    assert guess.status == SUGGEST and guess.candidates[0].entry_id == "dibao-apply"
    assert guess.candidates[0].literal == 0.0


def test_near_tie_between_entries_becomes_a_suggestion():
    # Both 低保 entries cover "低保" fully; with a wide margin neither is confident enough.
    wide = Index(load_faq(FIXTURES / "mini"), thresholds=Thresholds(margin=50))
    match = wide.match("低保")
    assert match.status == SUGGEST
    assert {c.entry_id for c in match.suggestions} >= {"dibao-apply", "dibao-removal"}
    assert len(match.suggestions) <= 3


def test_thresholds_come_from_the_caller():
    strict = Index(load_faq(FIXTURES / "mini"), thresholds=Thresholds(answer=99.5, suggest=99.0))
    assert strict.match("养老保险怎么交吗").status == ANSWERED
    assert strict.match("养老保险要交多久").status == UNANSWERED


def test_rare_terms_outweigh_common_ones(index):
    rare, common = index.query_terms("低保"), index.query_terms("怎么")
    assert sum(w for w, _ in rare) > sum(w for w, _ in common)


def test_scores_stay_within_0_and_100(index):
    for question in ("低保", "低保怎么申请？", "x" * 300, "的的的的的"):
        for candidate in index.match(question).candidates:
            assert 0 <= candidate.score <= 100


def test_tokens_keep_latin_runs_whole():
    assert tokens("12388举报wifi") == ["12388", "举", "报", "wifi"]
    assert "举报" in features("12388举报")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=400))
def test_any_text_gets_a_clean_outcome(index, text):
    match = index.match(text)
    assert match.status in (ANSWERED, SUGGEST, UNANSWERED)
    assert (match.entry_id is not None) == (match.status == ANSWERED)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=20), st.integers(1000, 60000))
def test_huge_and_hostile_messages_are_handled(index, unit, repeat):
    match = index.match((unit * repeat)[:60000] + "\x00\u202e\ufeff")
    assert match.status in (ANSWERED, SUGGEST, UNANSWERED)
