"""The lexicon: word knowledge beyond the FAQ, read from the shipped SQLite table."""

from __future__ import annotations

from servicebot.answering import lexicon


def test_a_rarer_word_residents_use_is_near_the_faqs_word():
    assert dict(lexicon.neighbours("截肢"))["残疾"] >= 0.7  # by vector
    assert dict(lexicon.neighbours("偏瘫")).get("瘫痪", 0) >= 0.8  # one 词林 synonym set
    assert dict(lexicon.neighbours("噪声"))["噪音"] >= 0.85


def test_a_lone_character_of_a_synonym_set_is_left_out():
    # 词林 files 上学 with 上 and 习: a lone character means too many things to relate by.
    assert all(len(word) > 1 for word, _ in lexicon.neighbours("上学"))


def test_only_the_nearest_words_are_asked_for():
    near = lexicon.neighbours("公积金", 3)
    assert "养老金" not in dict(near)  # the fifth-nearest is no longer near
    assert len([w for w, s in near if s < lexicon.SYNONYM_SIMILARITY]) <= 3


def test_people_places_and_institutions_are_circumstance_subjects_are_not():
    for circumstance in ("妈妈", "老公", "民政局", "晚上", "窗口", "宾馆"):
        assert lexicon.is_circumstance(circumstance), circumstance
    for subject in ("护照", "公积金", "残疾", "装修", "低保"):
        assert not lexicon.is_circumstance(subject), subject


def test_unknown_words_have_no_knowledge_and_no_error():
    assert not lexicon.knows("凤凰办事处梧桐书屋") and lexicon.neighbours("凤凰办事处梧桐书屋") == ()
    assert lexicon.codes("") == () and not lexicon.is_circumstance("")
