"""The matcher's words are jieba's: rjieba (jieba-rs) cuts the shipped FAQ and the tuning
questions exactly as jieba 0.42.1 does, with and without the FAQ's own terms, and
data/words.sqlite3 holds jieba's IDF table and part-of-speech tags, and pypinyin's readings,
unchanged.

jieba is a test dependency only: the reference the faster segmenter and the shipped table are
held to (bench/tools/build_words.py rebuilds the table from it).
"""

from __future__ import annotations

import logging
import sqlite3
from importlib import resources
from pathlib import Path

import jieba
import pytest

from servicebot.answering import words
from servicebot.answering.text import sounds
from servicebot.config import load_settings
from servicebot.faq import load_faq
from servicebot.faq.checks import build_index
from servicebot.faq.labelled import load_items, load_set
from servicebot.matching.reading import _CLAUSE_RE

from conftest import PINNED_FAQ, REPO

# The tuning sets (never a held-out one: fresh-eval.yaml, real/*-test.yaml).
TUNING = ("fresh-tune.yaml", "real/in-tune.yaml", "real/out-tune.yaml", "labelled.yaml", "holdout.yaml")
# What residents also type: Latin, digits, emoji, odd spacing, symbols jieba keeps inside a word.
ODD = (
    "hello 低保 123",
    "C++ 和 c#怎么学",
    "12388热线😀",
    "a.b_c-d%e 低保户",
    "  空格\t制表\r\n换行 ",
    "１２３全角ＡＢＣ",
    "低保。。。？？！！",
    "emoji🙏🏻👍低保",
    "養老保險怎麼辦理",
    "",
    "a",
    "垃圾分内地保低饱户",
)


@pytest.fixture(scope="module")
def shipped():
    settings = load_settings(env={}, overrides={"faq_dir": PINNED_FAQ})
    return build_index(load_faq(PINNED_FAQ), settings)


@pytest.fixture(scope="module")
def texts(shipped) -> list[str]:
    """Every string the matcher cuts on the shipped FAQ and the tuning questions: phrasings,
    keywords and questions, as written, normalized whole, and clause by clause as read."""
    data = REPO / "tests" / "data"
    raw = [t for e in shipped.faq.entries for t in (*e.phrasings, *e.keywords)]
    for name in TUNING:
        raw += [item.question for item in load_set(data / name, shipped.faq)]
    raw += [item.question for item in load_items(data / "real" / "items-tune.yaml")]
    raw += ODD
    clauses = [c for t in raw for c in _CLAUSE_RE.split(t) if c]
    normalized = shipped.normalize.many(raw) + shipped.normalize.many(clauses)
    return list(dict.fromkeys([*raw, *clauses, *normalized]))


@pytest.fixture(scope="module")
def reference():
    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    return jieba.dt


def _with_terms(general: jieba.Tokenizer, terms) -> jieba.Tokenizer:
    """jieba with the FAQ's terms added, as words.Segmenter made it before rjieba."""
    tk = jieba.Tokenizer()
    tk.FREQ, tk.total, tk.initialized = dict(general.FREQ), general.total, True
    for term in terms:
        tk.add_word(term, words.USER_FREQ)
    return tk


@pytest.mark.slow  # jieba itself, loaded as the reference
def test_the_general_dictionary_cuts_as_jieba_does(texts, reference):
    assert len(texts) > 3000
    differ = [
        (t, words.cut(t), reference.lcut(t, HMM=False)) for t in texts if words.cut(t) != reference.lcut(t, HMM=False)
    ]
    assert differ == []


@pytest.mark.slow  # jieba itself, loaded as the reference
def test_the_faqs_terms_cut_as_they_did_with_jieba(shipped, texts, reference):
    segmenter = shipped.segmenter
    assert len(segmenter.terms) > 500  # keywords, synonyms, bare subjects, referral subjects
    tk = _with_terms(reference, sorted(segmenter.terms))
    differ = [(t, segmenter.cut(t), tk.lcut(t, HMM=False)) for t in texts if segmenter.cut(t) != tk.lcut(t, HMM=False)]
    assert differ == []


@pytest.mark.slow  # jieba itself, loaded as the reference
def test_known_words_are_jiebas_words_and_the_faqs_terms(shipped, texts, reference):
    segmenter = shipped.segmenter
    tk = _with_terms(reference, sorted(segmenter.terms))
    # Every word cut, every FAQ term, and the prefixes jieba keeps with frequency 0 (not words).
    candidates = {w for t in texts for w in segmenter.cut(t)} | segmenter.terms
    candidates |= {t[:k] for t in segmenter.terms for k in range(1, len(t))}
    assert any(not tk.FREQ.get(w) and w in tk.FREQ for w in candidates)  # some prefixes are among them
    differ = [w for w in candidates if segmenter.known(w) != bool(tk.FREQ.get(w))]
    assert differ == []
    general = words.Segmenter()
    assert [w for w in candidates if general.known(w) != bool(reference.FREQ.get(w))] == []


@pytest.mark.slow  # jieba's tables, read in full
def test_the_shipped_table_is_jiebas_idf_and_tags():
    import jieba.posseg

    idf_text = (Path(jieba.__file__).parent / "analyse" / "idf.txt").read_text(encoding="utf-8")
    idf = {w: float(v) for w, _, v in (line.partition(" ") for line in idf_text.splitlines()) if v}
    tags = jieba.posseg.dt.word_tag_tab
    path = resources.files("servicebot.data").joinpath("words.sqlite3")
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        rows = {w: (v, t) for w, v, t in db.execute("SELECT word, idf, tag FROM words")}
    assert rows == {w: (idf.get(w), tags.get(w)) for w in idf.keys() | tags.keys()}


@pytest.mark.slow  # pypinyin's table, read in full
def test_the_shipped_readings_are_pypinyins():
    from pypinyin.pinyin_dict import pinyin_dict

    path = resources.files("servicebot.data").joinpath("words.sqlite3")
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        rows = dict(db.execute("SELECT char, pinyin FROM readings"))
    assert rows == {chr(code): value.split(",")[0] for code, value in pinyin_dict.items()}


def test_sound_keys_fold_what_anhui_speakers_blur():
    assert sounds(list("低保地保")) == ["~di", "~bao", "~di", "~bao"]
    assert sounds(list("流牛")) == sounds(list("刘纽")) and sounds(["星"]) == sounds(["新"])  # l/n, -ing/-in
    assert sounds(["abc", "12", "😀", "中"]) == ["abc", "12", "😀", "~zong"]  # zh → z


def test_lookups_answer_as_the_tables_do():
    assert words.idf("低保") > words.idf("办理") > 0
    assert words.tag("滁州") == "ns" and words.is_place("滁州")
    assert words.tag("凤凰办事处梧桐书屋") is None and words.is_noun("凤凰办事处梧桐书屋")  # unknown: a noun
    assert not words.names_subject("好看") and words.names_subject("戒毒")
    assert words.idf("梧桐书屋") == words.idf("书屋")  # a compound the table lacks: its most telling part
    assert words.weight("看看") == 0.0 and words.weight("妈妈") > 0  # a doubled verb asks; a doubled noun names


def test_segmenters_of_the_same_terms_share_one_dictionary_and_the_general_one_stays_general():
    first, same, other = (
        words.Segmenter(["梧桐书屋", "低保"]),
        words.Segmenter(["低保", "梧桐书屋"]),
        words.Segmenter(["书屋"]),
    )
    assert first._tk is same._tk and first._tk is not other._tk  # one dictionary made, not two
    assert first.cut("梧桐书屋在哪") == ["梧桐书屋", "在", "哪"] and first.known("梧桐书屋")
    assert words.cut("梧桐书屋在哪") == ["梧桐", "书屋", "在", "哪"]  # no FAQ's term reaches the general dictionary
    assert not words.Segmenter().known("梧桐书屋") and not other.known("梧桐书屋")


@pytest.mark.parametrize(
    ("text", "asking"),
    [
        ("想问问低保够不够条件", True),  # A-not-A, and a request cue
        ("能申请临时救助吗", True),
        ("我们业主该找谁", True),
        ("希望社区管一管", True),
        ("物业费也不透明，业主意见都很大。", False),  # a complaint posted as a statement
        ("去年申请了低保，一直没批下来", False),  # 申请 holds 请 but asks nothing
        ("打了几次电话，天然气一直没开通", False),  # 几次 counts, it does not ask
        ("这个门怎么也推不动", False),
        ("小区门口的路什么时候修", True),
    ],
)
def test_a_message_asks_or_only_tells(text, asking):
    assert words.asks(text) is asking
