"""What a question is about, in one word: 公积金怎么提取, 辞职了公积金怎么办 and 单位不给交公积金
are all about 公积金.

Residents rarely word a question alike, so the review groups questions by their subject
rather than by their wording. A question's subject is its most telling subject word: cut
into words as the matcher cuts them, each word weighed by how rare it is in everyday Chinese
(`words.weight`), nouns before verbs (补办, 提取 and 辞职 say what to do, not what about),
the question's asking clause before the story told around it, and a word the office already
knows as a subject (the FAQ's keywords and terms, the matters of referrals) before a word it
does not. The word is then *folded* through what is known about words: the FAQ's synonyms
(by its Normalizer), and any number of `Fold`s — "this word is that subject" — from other
sources of word knowledge. Two come with this module: the matters other bodies handle
(`referral_folds`, faq/referrals.yaml) and a lexicon of related words (`lexicon_folds`);
another source only has to produce `Fold`s.

Pure: `subject_of(question, knowledge)` reads nothing but its arguments; a `Knowledge` is
built once per report.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from servicebot.answering import words
from servicebot.answering.words import Segmenter
from servicebot.faq.model import Referrals

# How a word's weight becomes its claim to be the subject.
VERB_FACTOR = 0.4  # 补办, 提取, 辞职: the action asked about, not its subject
NOUN_FLOOR = 1.2  # 医院, 学校: common nouns still name a subject (as the matcher weighs unseen nouns)
TERM_FLOOR = 1.5  # a word of the FAQ (its terms, synonyms) weighs at least this (as in the matcher)
SUBJECT_FLOOR = 3.0  # a word staff wrote as a subject (a keyword, a matter's word) weighs at least this ...
SUBJECT_FACTOR = 1.5  # ... and this much more than its weight in everyday Chinese
CONTAINED_MIN = 2.0  # a known word inside a longer one is its subject if this telling (not 老人 in 老人活动中心)
MODIFIER_FACTOR = 0.7  # a noun right before a telling noun qualifies it: 城乡居民医保 is about 医保
STORY_FACTOR = 0.35  # in a story, a word outside the clause that asks
STORY_CLAUSES = 3  # a question told in this many clauses is a story (as the matcher reads it)
FOLD_MIN = 0.6  # a lexicon's related word this similar folds into the FAQ's word
MAX_FOLDS = 4  # folds followed in a chain (a word → a related word → its subject)

_CLAUSE_RE = re.compile(r"[，。！？；,.!?;\s…~～]+")
_VERB_TAGS = frozenset({"v", "vd", "vi"})


@dataclass(frozen=True)
class Fold:
    """One piece of word knowledge: `word` is about `subject`.

    `similarity` (0-1) says how sure the source is; a referral's words carry the matter's id.
    """

    word: str
    subject: str
    similarity: float = 1.0
    source: str = ""
    referral: str | None = None


@dataclass(frozen=True)
class Subject:
    """What one question is about."""

    name: str  # the subject word, normalized (公积金); "" when the question names nothing
    word: str = ""  # the question's own word that showed it (医保卡 for 医保)
    source: str = ""  # how the word became the subject: a Fold's source, "contains", or "" (as written)
    referral: str | None = None  # the matter of faq/referrals.yaml it belongs to, if any
    words: tuple[str, ...] = ()  # the question's telling words, most telling first

    def __bool__(self) -> bool:
        return bool(self.name)


NOTHING = Subject("")


class Normalize(Protocol):
    def __call__(self, text: str) -> str: ...


@dataclass
class Knowledge:
    """Everything `subject_of` knows about words: how to normalize and cut a question, the
    words staff wrote as subjects, and the folds from a word to its subject.

    The segmenter's terms (the FAQ's own words) are kept whole and weigh at least
    `TERM_FLOOR`; `subjects` and every folded word claim more (`SUBJECT_FLOOR`, `SUBJECT_FACTOR`).
    """

    normalize: Callable[[str], str]
    segmenter: Segmenter
    folds: Mapping[str, Fold] = field(default_factory=dict)  # normalized word → its fold
    subjects: frozenset[str] = frozenset()  # normalized words staff wrote as subjects
    _seen: dict[str, Subject] = field(default_factory=dict, repr=False)
    _cuts: dict[str, list[str]] = field(default_factory=dict, repr=False)
    _claims: dict[str, float] = field(default_factory=dict, repr=False)

    @classmethod
    def build(
        cls,
        normalize: Callable[[str], str],
        *,
        terms: Iterable[str] = (),
        subjects: Iterable[str] = (),
        folds: Iterable[Fold] = (),
        segmenter: Segmenter | None = None,
    ) -> Knowledge:
        """Knowledge from the FAQ's words (`terms`), subject words (`subjects`, e.g. keywords)
        and folds, all normalized with `normalize`.

        Where two folds claim one word, the more similar wins (the first on a tie). The
        segmenter is reused when it already keeps every one of these words whole.
        """
        table: dict[str, Fold] = {}
        for fold in folds:
            word, subject = normalize(fold.word), normalize(fold.subject)
            if not word or not subject:
                continue
            held = table.get(word)
            if held is None or fold.similarity > held.similarity:
                table[word] = Fold(word, subject, fold.similarity, fold.source, fold.referral)
        strong = {w for w in map(normalize, subjects) if len(w) > 1}
        strong |= {f.subject for f in table.values() if len(f.subject) > 1}
        strong |= {w for w, f in table.items() if f.similarity >= FOLD_MIN and len(w) > 1}
        whole = {w for w in map(normalize, terms) if len(w) > 1} | strong
        if segmenter is None or not whole <= segmenter.terms:
            segmenter = Segmenter([*(segmenter.terms if segmenter else ()), *sorted(whole)])
        return cls(normalize, segmenter, table, frozenset(strong))

    def cut(self, clause: str) -> list[str]:
        """The words of a normalized clause (remembered: questions repeat, with other fillers)."""
        found = self._cuts.get(clause)
        if found is None:
            found = self._cuts[clause] = self.segmenter.cut(clause)
        return found

    def is_term(self, word: str) -> bool:
        return word in self.segmenter.terms

    def known(self, word: str) -> bool:
        """A word the office knows as a subject or has folded into one."""
        return word in self.subjects or word in self.folds


def referral_folds(referrals: Referrals | None) -> list[Fold]:
    """Each matter another body handles (faq/referrals.yaml): its subject words fold into its
    first one (户口, 落户, 迁户口 → 户口), carrying the matter's id."""
    folds = []
    for matter in referrals.matters if referrals else ():
        subjects = matter.subjects
        if subjects:
            folds += [Fold(word, subjects[0], 1.0, "referral", matter.id) for word in subjects]
    return folds


def lexicon_folds(related: Mapping[str, Iterable[tuple[str, float]]], min_similarity: float = FOLD_MIN) -> list[Fold]:
    """A lexicon of related words (word → the FAQ's words with a similarity): each word folds
    into its most similar FAQ word, when that is similar enough (医疗保险 → 医保)."""
    folds = []
    for word, near in related.items():
        best = max(near, key=lambda pair: pair[1], default=None)
        if best is not None and best[1] >= min_similarity:
            folds.append(Fold(word, best[0], best[1], "lexicon"))
    return folds


def subject_of(question: str, knowledge: Knowledge) -> Subject:
    """The subject of one question (`NOTHING` when it names none: 怎么办理, 你好)."""
    found = knowledge._seen.get(question)
    if found is None:
        found = knowledge._seen[question] = _subject(question, knowledge)
    return found


def _subject(question: str, knowledge: Knowledge) -> Subject:
    clauses = [c for c in (knowledge.normalize(part) for part in _CLAUSE_RE.split(question)) if c]
    cut = [knowledge.cut(clause) for clause in clauses]
    story = len(cut) >= STORY_CLAUSES
    asking = max((k for k, ws in enumerate(cut) if any(words.weight(w) >= 1 for w in ws)), default=0)
    scored: dict[str, float] = {}
    for k, clause_words in enumerate(cut):
        for word, following in zip(clause_words, [*clause_words[1:], ""]):
            claim = _claim(word, knowledge)
            if following and _is_noun(word) and _is_noun(following) and _claim(following, knowledge) >= claim / 2:
                claim *= MODIFIER_FACTOR  # 城乡居民医保 is about 医保, 公积金贷款 still about 公积金
            if story and k < asking:
                claim *= STORY_FACTOR
            if claim > scored.get(word, 0.0):
                scored[word] = claim
    ranked = [w for w in sorted(scored, key=lambda w: -scored[w]) if scored[w] > 0]  # the first written wins a tie
    if not ranked:
        # Nothing names a subject; the most telling word left still says more than nothing
        # (今天天气怎么样: jieba reads 今天天气 as one idiom).
        rest = [w for ws in cut for w in ws if len(w) > 1 and words.weight(w) > 0 and not words.is_aspect(w)]
        if not rest:
            return NOTHING
        return Subject(max(rest, key=words.weight), max(rest, key=words.weight), "", None, ())
    return _folded(ranked[0], tuple(ranked), knowledge)


def _claim(word: str, knowledge: Knowledge) -> float:
    """How strongly one word of a question claims to be its subject (0: not at all)."""
    found = knowledge._claims.get(word)
    if found is None:
        found = knowledge._claims[word] = _weighed(word, knowledge)
    return found


def _weighed(word: str, knowledge: Knowledge) -> float:
    weight = words.weight(word)
    if weight <= 0 or words.is_aspect(word) or word.isascii() or any(ch.isdigit() for ch in word):
        return 0.0  # 怎么, 在哪, 时间, 电话, 2020: they ask, they name nothing
    if knowledge.known(word):
        return max(weight, SUBJECT_FLOOR) * SUBJECT_FACTOR
    if knowledge.is_term(word):
        return max(weight, TERM_FLOOR)
    if words.is_place(word) or not words.names_subject(word):
        return 0.0  # 滁州, 太贵, 好不好
    if len(word) < 2:
        return 0.0  # 改, 办, 钱: one character names no subject the office could add
    if words.tag(word) in _VERB_TAGS:
        return weight * VERB_FACTOR
    return max(weight, NOUN_FLOOR)


def _is_noun(word: str) -> bool:
    return words.tag(word) not in _VERB_TAGS and words.is_noun(word)


def _folded(word: str, ranked: tuple[str, ...], knowledge: Knowledge) -> Subject:
    """Follow the folds from the question's word to its subject; a word that is none, but
    starts or ends with a known subject, is about that subject."""
    name, source, referral = word, "", None
    for _ in range(MAX_FOLDS):
        fold = knowledge.folds.get(name)
        if fold is None or fold.subject == name or fold.similarity < FOLD_MIN:
            break
        name, source, referral = fold.subject, fold.source, referral or fold.referral
    if not source:
        inner = _contained(name, knowledge)
        if inner:
            name, source = inner, "contains"
    held = knowledge.folds.get(name)
    return Subject(name, word, source, referral or (held.referral if held else None), ranked)


def _contained(word: str, knowledge: Knowledge) -> str | None:
    """The longest telling word of the FAQ a longer word starts or ends with (医保卡 → 医保,
    低保户 → 低保, 补缴养老保险 → 养老保险)."""
    for size in range(len(word) - 1, 1, -1):
        for part in (word[:size], word[-size:]):
            if (knowledge.known(part) or knowledge.is_term(part)) and _telling(part, knowledge):
                return part
    return None


def _telling(word: str, knowledge: Knowledge) -> bool:
    return knowledge.known(word) or words.weight(word) >= CONTAINED_MIN


def merge_contained(names: Iterable[str], knowledge: Knowledge) -> dict[str, str]:
    """Subjects of one report that are a longer form of another of its subjects, folded into
    it (医保卡 into 医保 when both were asked about): name → the subject it joins."""
    present = frozenset(n for n in names if n)
    joins: dict[str, str] = {}
    for name in present:
        for size in range(len(name) - 1, 1, -1):
            part = next((p for p in (name[:size], name[-size:]) if p in present and _telling(p, knowledge)), None)
            if part:
                joins[name] = part
                break
    for name in joins:  # 低保户证明 → 低保户 → 低保
        while joins[name] in joins:
            joins[name] = joins[joins[name]]
    return joins
