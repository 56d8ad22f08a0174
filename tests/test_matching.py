"""The matcher: right answers, honest refusals, and no exceptions whatever residents type."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from servicebot.answering import words
from servicebot.answering.smalltalk import Intent
from servicebot.faq import load_faq
from servicebot.matching import (
    ANSWERED,
    REFERRAL,
    SUGGEST,
    UNANSWERED,
    Index,
    Known,
    Reason,
    Thresholds,
    features,
    tokens,
)

from conftest import FIXTURES, PINNED_FAQ


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
def test_resident_questions_reach_the_right_entry(mini_index, question, entry_id):
    match = mini_index.match(question)
    assert (match.status, match.entry_id) == (ANSWERED, entry_id)


@pytest.mark.parametrize("question", ["今天天气怎么样", "火车票怎么买", "附近哪里有好吃的", "😀😀😀", "", "   "])
def test_off_topic_questions_are_not_answered(mini_index, question):
    match = mini_index.match(question)
    assert match.status == UNANSWERED
    assert match.entry_id is None


@pytest.mark.parametrize("question", ["书", "保", "馆", "4", "二"])
def test_a_single_character_is_too_little_to_match_on(mini_index, question):
    match = mini_index.match(question)
    assert (match.status, match.suggestions) == (UNANSWERED, ())


def test_a_single_token_equal_to_a_phrasing_still_matches():
    faq = load_faq(FIXTURES / "mini")
    entry = faq.entries[0]
    short = dataclasses.replace(entry, alternates=(*entry.alternates, "馆", "12388"))
    index = Index(dataclasses.replace(faq, entries=(short, *faq.entries[1:])))
    for question in ("馆", "１２３８８"):
        match = index.match(question)
        assert (match.status, match.entry_id) == (ANSWERED, entry.id)
    assert index.match("书").status == UNANSWERED


def test_a_typo_is_read_as_the_faq_term_it_sounds_like(mini_index):
    match = mini_index.match("低饱户怎么申请")  # 低饱 is no word; it sounds like 低保
    assert (match.status, match.entry_id) == (ANSWERED, "dibao-apply")
    assert any(t.word == "低保" and t.heard_as == "低饱" for t in match.terms)


def test_a_common_word_is_not_turned_into_an_faq_term_that_sounds_like_it(mini_index):
    # 调节 (adjust) sounds like 调解 (mediate), 树屋 like 书屋: real words keep their meaning.
    mediation = dataclasses.replace(load_faq(FIXTURES / "mini").entries[0], id="dispute", alternates=("邻里纠纷调解",))
    faq = load_faq(FIXTURES / "mini")
    other = Index(dataclasses.replace(faq, entries=(*faq.entries, mediation)))
    adjust = other.match("空调温度怎么调节")  # a common word is never re-read
    assert adjust.status == UNANSWERED and not any(t.heard_as for t in adjust.terms)
    treehouse = other.match("树屋怎么搭")  # a rare one may be a typo: offered at most, never asserted
    assert treehouse.status != ANSWERED


def test_a_tie_within_one_subject_is_answered_with_its_overview_and_offers_the_rest():
    # "低保的事" is about both 低保 entries equally: a clerk answers with the subject's overview
    # (the entry that has the bare subject 低保 as a phrasing) and offers the other one.
    wide = Index(load_faq(FIXTURES / "mini"), thresholds=Thresholds(margin=50))
    match = wide.match("低保的事")
    assert (match.status, match.entry_id, match.reason) == (ANSWERED, "dibao-apply", Reason.OVERVIEW)
    assert "dibao-removal" in match.follow_ups


def test_different_subjects_named_alike_are_offered_as_choices(shipped):
    match = shipped.match("低保和残疾人补贴")
    assert match.status == SUGGEST
    assert {"dibao-apply", "disability-assistance"} <= {c.entry_id for c in match.suggestions}


def test_thresholds_come_from_the_caller():
    strict = Index(load_faq(FIXTURES / "mini"), thresholds=Thresholds(answer=99.5, suggest=99.0, sure=1.0, unsure=1.0))
    assert strict.match("养老保险怎么交吗").status == ANSWERED  # one of its phrasings, verbatim
    assert strict.match("养老保险要交多久").status == UNANSWERED


def test_everyday_words_weigh_little_and_subjects_a_lot():
    for common in ("在哪", "办理", "怎么", "需要", "材料", "工作", "时间", "咋整", "能不能"):
        assert words.weight(common) < 1.0, common
    for telling in ("低保", "书屋", "戒毒", "护照", "公积金"):
        assert words.weight(telling) > 3.0, telling


def test_a_word_that_weighs_nothing_is_scored_without_failing():
    # 一部分 weighs ~0 (rounded to 0.0); its part 部分 in a staff keyword once divided by zero.
    faq = load_faq(FIXTURES / "mini")
    entry = dataclasses.replace(faq.entries[0], keywords=(*faq.entries[0].keywords, "自付部分"))
    index = Index(dataclasses.replace(faq, entries=(entry, *faq.entries[1:])))
    match = index.match("医保报了一部分，自己还要付很多钱")
    assert all(0 <= c.score <= 100 for c in match.candidates)


def test_scores_stay_within_0_and_100(mini_index):
    for question in ("低保", "低保怎么申请？", "x" * 300, "的的的的的"):
        for candidate in mini_index.match(question).candidates:
            assert 0 <= candidate.score <= 100


def test_tokens_keep_latin_runs_whole():
    assert tokens("12388举报wifi") == ["12388", "举", "报", "wifi"]
    assert "举报" in features("12388举报")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=400))
def test_any_text_gets_a_clean_outcome(mini_index, text):
    match = mini_index.match(text)
    assert match.status in (ANSWERED, SUGGEST, UNANSWERED)
    assert (match.entry_id is not None) == (match.status == ANSWERED)


@pytest.mark.slow  # 50 messages of up to 60,000 characters
@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=20), st.integers(1000, 60000))
def test_huge_and_hostile_messages_are_handled(mini_index, unit, repeat):
    match = mini_index.match((unit * repeat)[:60000] + "\x00\u202e\ufeff")
    assert match.status in (ANSWERED, SUGGEST, UNANSWERED)


# --- questions the FAQ does not cover, and residents as they really write ------------------


@pytest.fixture(scope="module")
def shipped() -> Index:
    from servicebot.config import load_settings
    from servicebot.faq.checks import build_snapshot

    return build_snapshot(load_settings(env={}, overrides={"faq_dir": PINNED_FAQ}))[1]


@pytest.mark.parametrize(
    "question",
    ["护照在哪办理", "小区停水找谁", "养狗要登记吗", "燃气开户需要什么材料", "派出所几点上班", "公积金怎么取"],
)
def test_a_subject_the_faq_lacks_is_not_answered_with_one_it_has(shipped, question):
    match = shipped.match(question)
    assert match.status != ANSWERED, (question, match.entry_id)
    assert any(t.known == Known.UNSEEN for t in match.terms), match.terms


def test_did_you_mean_offers_only_entries_on_the_questions_subject(shipped):
    for question in ("营业执照在哪办", "停车位申请"):  # the first is another body's matter: where to go
        match = shipped.match(question)
        assert match.status in (UNANSWERED, REFERRAL) and not match.suggestions, (question, match.candidates[:3])


def test_a_long_story_is_matched_by_what_it_asks(shipped):
    story = "我老伴去年生病住院花了不少钱，家里就靠我一个人打零工，孩子还在上学，日子很难过，想问问低保够不够条件"
    match = shipped.match(story)
    assert (match.status, match.entry_id) == (ANSWERED, "dibao-apply")
    asked = {t.word for t in match.terms if t.asked}
    assert "低保" in asked and "住院" not in asked


def test_a_post_that_asks_nothing_is_read_as_a_whole(shipped):
    # A complaint posted as a statement names its subject anywhere: no clause is mere story.
    post = shipped.match("楼道里天天有人堆杂物，物业费交了好几年，物业一次也没来清理，业主们意见都很大。")
    assert post.terms and all(t.asked for t in post.terms)
    # The same post with a question keeps its asking clause.
    asked = shipped.match("楼道里天天有人堆杂物，物业费交了好几年，物业一次也没来清理，该找谁？")
    assert not all(t.asked for t in asked.terms)


def test_a_story_ending_on_a_remark_is_read_as_a_whole(shipped):
    # The last clause names nothing the FAQ or a referral knows: the subject may be anywhere.
    story = shipped.match("晚上家里总有老鼠，把柜子都咬坏了，我们怎么睡得着")
    assert {t.word for t in story.terms if t.asked} >= {"老鼠"}


def test_a_short_story_told_in_several_sentences_is_still_a_story(shipped):
    match = shipped.match("我老伴住院花了不少钱，家里就靠我打零工，想问问低保够不够条件")
    assert (match.status, match.entry_id) == (ANSWERED, "dibao-apply")


def test_a_list_separated_by_spaces_is_not_taken_for_a_story(shipped):
    match = shipped.match("油漆桶 杀虫剂瓶子 扔哪个桶??? help")
    assert (match.status, match.entry_id) == (ANSWERED, "garbage-hazardous")
    assert all(t.asked for t in match.terms)


def test_an_entry_is_not_answered_without_its_subject(shipped):
    match = shipped.match("需要什么材料")
    assert match.status != ANSWERED
    assert match.reason == Reason.NOTHING_ASKED


@pytest.mark.parametrize(
    "question, intent",
    [
        ("你好", Intent.GREETING),
        ("你是谁", Intent.IDENTITY),
        ("你是机器人吗？", Intent.IDENTITY),
        ("谢谢！", Intent.THANKS),
        ("再见", Intent.BYE),
        ("转人工", Intent.HUMAN),
        ("找工作人员", Intent.HUMAN),
    ],
)
def test_small_talk_never_reaches_an_entry(shipped, question, intent):
    match = shipped.match(question)
    assert (match.status, match.intent, match.reason) == (UNANSWERED, intent, Reason.SMALL_TALK)


def test_asking_what_the_bot_can_do_gets_the_entry_about_the_bot(shipped):
    match = shipped.match("你能干什么")
    assert (match.status, match.entry_id) == (ANSWERED, "bot-about")


def test_small_talk_around_a_question_does_not_hide_it(shipped):
    match = shipped.match("你好，请问低保怎么申请？谢谢")
    assert (match.status, match.entry_id) == (ANSWERED, "dibao-apply")


def test_the_word_memos_stay_bounded_and_answers_do_not_change(monkeypatch):
    """Residents' words never run out: the memos of df() and specificity() are emptied when
    full, and what they remembered is computed again, alike."""
    from servicebot.matching import tables as tables_module

    index = Index(load_faq(FIXTURES / "mini"))
    question = "低保怎么申请"
    before = index.match(question)
    monkeypatch.setattr(tables_module, "MEMO_SIZE", 3)
    for n in range(20):
        index.match(f"第{n}个没听过的词语{n}")
    assert len(index.tables._df) <= 3 and len(index.tables._specificity) <= 3
    assert index.match(question) == before
