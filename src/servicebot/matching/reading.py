"""Reading a question against one FAQ's tables: clause by clause, normalized, cut into words
by jieba (the FAQ's terms and the referral matters' subject words kept whole), typos that
sound like an FAQ term repaired (地保 → 低保), and every word weighed by how telling it is in
everyday Chinese (`words.weight`) and by what the FAQ knows of it: in its phrasings, only in
its answers, related to one of its words through the lexicon (截肢 → 残疾), a matter another
body handles (公积金), or circumstance (妈妈, 民政局). A story's asking clause is found, so
that what it asks weighs more than what it tells; a story that asks nothing, or whose asking
part names no one subject, is read as a whole.

The result, a `Reading`, is what `scoring.py` scores and the clerk decides on.
"""

from __future__ import annotations

import re

from servicebot.answering import lexicon, words
from servicebot.answering.text import Normalizer, fold_width, to_simplified
from servicebot.matching.characters import pairs, sound_text
from servicebot.matching.model import GROUP_DF, MAX_QUERY_CHARS, NAMING_WEIGHT, Known, Reading, Term
from servicebot.matching.tables import SUBJECT_MIN, Tables

LONG_CHARS = 26  # a normalized question longer than this, in several clauses, is a story
STORY_CLAUSES = 3  # ... and so is one told in three or more punctuated parts, however short
WEAK_UNKNOWN = 0.35  # an unknown word that is no noun (搞不清, 顾不上, 喝完) keeps this much: circumstance
UNKNOWN_NOUN = 1.2  # an unknown noun weighs at least this, however common (医院, 学校, 银行)
RELATED_MIN = 0.6  # similarity at which the lexicon relates a question's word to one of the FAQ's
RELATED_RANK = 3  # ... and only among its few nearest words (公积金's are 社会保险, 还贷, 贷款, not 养老金)
PLACE_WEIGHT = 1.0  # a place name (滁州, 南京) says where, not what; FAQ terms (长乐小区) excepted
TERM_WEIGHT = 1.5  # a keyword or synonym of the FAQ weighs at least this, however common (老人)
RARE_IDF = 10.5  # a real word this rare may be a typo of an FAQ term (地保 → 低保)

_SENTENCE_RE = re.compile(r"[，。！？；,.!?;]+")
_WORD_RE = re.compile(r"[^\W_]")  # a part with a letter or a character in it (not only emoji)
_CLAUSE_RE = re.compile(r"[，。！？、；：,.!?;:\s…~～·—\-]+")


def asking_clause(tables: Tables, cut: list[list[str]], *, asks: bool) -> int:
    """Where a story's question is: its last clause that names something. A story that asks
    nothing (`asks` false: a complaint posted as a statement), or whose part from there on
    names nothing the FAQ or a referral matter knows (a post that ends on a remark:
    …跟跳舞一样), may name its subject anywhere: the whole story is asked (0)."""
    at = max((k for k, ws in enumerate(cut) if any(words.weight(w) >= 1 for w in ws)), default=0)
    if asks and any(_names_known(tables, w) for ws in cut[at:] for w in ws):
        return at
    return 0


def _names_known(tables: Tables, word: str) -> bool:
    """Whether a word names something the FAQ or a referral matter knows (老鼠, 护照), and
    names one subject: 补助 and 小区 are every other entry's."""
    if word in tables.away:
        return True
    if not 0 < tables.df(word) <= GROUP_DF:
        return False
    return word in tables.segmenter.terms or (words.weight(word) >= NAMING_WEIGHT and words.names_subject(word))


def read(tables: Tables, normalize: Normalizer, question: str) -> Reading:
    """Normalize clause by clause, cut into words, repair typos, weigh every word."""
    clauses = [c for c in _CLAUSE_RE.split(question) if c]
    normed = [c for c in normalize.many(clauses) if c] if clauses else []
    cut: list[list[str]] = []
    heard: dict[str, str] = {}
    for clause in normed:
        toks, fixes = _repair(tables, tables.segmenter.cut(clause))
        cut.append(toks)
        heard.update((target, span) for span, target in fixes)
    guesses = {target for target, span in heard.items() if tables.segmenter.known(span)}
    fixed = ["".join(toks) for toks in cut]
    normalized = "".join(fixed)[:MAX_QUERY_CHARS]
    # A story is told in sentences: count the parts punctuation separates (spaces separate
    # lists too: 油漆桶 杀虫剂瓶子 扔哪个桶).
    told = sum(1 for part in _SENTENCE_RE.split(question) if _WORD_RE.search(part))
    long = told >= STORY_CLAUSES or (len(normalized) > LONG_CHARS and len(fixed) > 1)
    ask_at = asking_clause(tables, cut, asks=words.asks(to_simplified(fold_width(question))))
    terms = []
    for k, clause_words in enumerate(cut):
        for at, word in enumerate(clause_words):
            weight = words.weight(word)
            if weight <= 0:
                continue
            known = _known(tables, word)
            related, similarity, circumstance = "", 0.0, False
            away = tables.away.get(word, "")
            if known == Known.UNSEEN and not away:
                related, similarity = _related(tables, word)
                if related:
                    known = Known.RELATED
                else:
                    circumstance = lexicon.is_circumstance(word)
            if word in tables.segmenter.terms:  # the FAQ's own terms (老人, 临时救助) name its subjects
                weight = max(weight, TERM_WEIGHT)
            elif words.is_place(word):
                weight = min(weight, PLACE_WEIGHT)
            elif known == Known.UNSEEN and not circumstance and words.is_noun(word) and not word.isascii():
                weight = max(weight, UNKNOWN_NOUN)
            elif known == Known.UNSEEN:
                weight *= WEAK_UNKNOWN
            asked = not long or k >= ask_at
            # A noun right before another telling noun qualifies it (低保|大病救助: the 救助 of 低保 families).
            after = clause_words[at + 1] if at + 1 < len(clause_words) else ""
            qualifier = bool(after) and words.is_noun(word) and words.is_noun(after) and words.weight(after) >= 1
            terms.append(
                Term(
                    word,
                    round(weight, 2),
                    asked,
                    known,
                    heard.get(word, ""),
                    word in guesses,
                    related,
                    similarity,
                    circumstance,
                    away,
                    qualifier,
                )
            )
    focus = "".join(fixed[ask_at:]) if long else normalized
    asking = words.aspects("".join(fixed[ask_at:]))  # 我的电话…，低保怎么申请 asks no phone number
    return Reading(normalized, focus[:MAX_QUERY_CHARS], terms, long, asking, words.is_complaint(question))


def _repair(tables: Tables, toks: list[str]) -> tuple[list[str], list[tuple[str, str]]]:
    """Spans the FAQ lacks that sound like an FAQ term are read as that term (低饱 → 低保).

    Only runs of single characters, a word jieba does not know, a rare real word (地保), or
    a span of three or more characters (垃圾分内 → 垃圾分类): a common word keeps its meaning.
    """
    out: list[str] = []
    fixes = []
    heard = [sound_text(tok) for tok in toks]  # a span sounds like its words, one after another
    t = 0
    while t < len(toks):
        for k in (3, 2, 1):
            part = toks[t : t + k]
            span = "".join(part)
            if len(part) < k or not 2 <= len(span) <= 6:
                continue
            # Whether it sounds like another FAQ word first: rarely, and far cheaper than
            # counting the entries that have it (most spans are seams no entry has).
            target = tables.vocabulary.get("".join(heard[t : t + k]))
            if not target or target == span or tables.df(span):
                continue
            if any(p in words.FUNCTION_WORDS for p in part):
                continue
            if k == 1:
                plausible = not tables.segmenter.known(span) or words.idf(span) >= RARE_IDF
            else:
                plausible = len(span) >= 3 or all(len(p) == 1 for p in part)
            if plausible:
                out.append(target)
                fixes.append((span, target))
                t += k
                break
        else:
            out.append(toks[t])
            t += 1
    return out, fixes


def _known(tables: Tables, word: str) -> Known:
    if tables.df(word):
        return Known.PHRASING
    if len(word) > 1:
        if all(p in tables.answer_pairs for p in pairs(list(word))):
            return Known.ANSWER
        if not tables.segmenter.known(word) and sound_text(word) in tables.vocabulary:
            return Known.SOUND
    elif word in tables.answer_chars:
        return Known.ANSWER
    return Known.UNSEEN


def _related(tables: Tables, word: str) -> tuple[str, float]:
    """The FAQ word the lexicon puts nearest to a word the FAQ lacks (截肢 → 残疾), with
    its similarity; ("", 0) when none is near enough. Only words that can name a subject
    relate: 偏瘫 → 瘫痪, not 怀疑 → 相信."""
    if not words.names_subject(word):
        return "", 0.0
    for other, sim in lexicon.neighbours(word, RELATED_RANK):
        if sim < RELATED_MIN:
            break
        if len(other) > 1 and tables.df(other) and words.weight(other) >= SUBJECT_MIN and words.names_subject(other):
            return other, sim
    return "", 0.0
