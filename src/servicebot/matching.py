"""The FAQ index and the scoring: what is a resident's question about, which entry answers
it, and how sure are we?

Pure and synchronous: no Telegram, no I/O. A question is read the way a person at the
service counter reads it, in two layers:

- *Words.* The question is cut into words (jieba, with the FAQ's own terms added) and each
  word weighs what it tells in everyday Chinese (`words.weight`): 低保, 书屋 and 护照 a lot,
  在哪, 办理 and 需要 little, 怎么 nothing. A word the FAQ has never seen (护照, 公积金, 停水)
  weighs *against* answering. In a long story only the clause that asks — the last one that
  names something — counts in full; the story before it can support an entry but cannot
  veto one. A typo that sounds like an FAQ term (低饱户, 垃圾分内) is read as that term.
  An entry is *on the subject* only when the question names one of the entry's own telling
  words (a 低保 entry never answers a question without 低保 or a sound-alike), or the
  question's most telling word belongs to a small group of entries that includes it.
- *Characters.* Among the entries on the subject, the one the question is closest to wins:
  BM25-weighted characters, character pairs and their sounds (so 地保 meets 低保), and
  rapidfuzz similarity to the nearest phrasing, as in the first version of this matcher.

An entry is answered outright only when it is on the subject, covers enough of the
question's words, scores high enough and leads the runner-up clearly; otherwise the
resident is offered the entries on the subject ("您是不是想问"), or, when none is, told
honestly that the bot cannot answer. Small talk (你好, 你是谁, 转人工) never reaches an
entry. Every threshold was chosen with `bench/tune.py` on the tuning sets.
"""

from __future__ import annotations

import gc
import itertools
import math
import operator
import re
from collections import defaultdict
from dataclasses import dataclass, field
from enum import StrEnum

from rapidfuzz import fuzz, process

from servicebot import lexicon, smalltalk, words
from servicebot.config import ANSWER_THRESHOLD, SUGGEST_THRESHOLD
from servicebot.faq import Entry, Faq
from servicebot.records import Status
from servicebot.text import Normalizer, sounds

ANSWERED, SUGGEST, UNANSWERED, REFERRAL = Status.ANSWERED, Status.SUGGEST, Status.UNANSWERED, Status.REFERRAL

MAX_QUERY_CHARS = 120  # after normalization; longer rambling adds no signal
MAX_SUGGESTIONS = 3
RESCORE = 16  # candidates scored in full after the cheap postings pass

# Character layer (BM25 over characters, pairs and their sounds).
SOUND_CREDIT = 0.8  # a homophone counts for most, not all, of the written form
UNIGRAM_FACTOR = 0.4  # single characters carry less meaning than pairs
UNSEEN_FACTOR = 0.75  # weight of a character the FAQ never uses, relative to the rarest one
FINE_COVERAGE = 0.7  # the rest of the character score is closeness to the nearest phrasing

# Word layer.
LONG_CHARS = 26  # a normalized question longer than this, in several clauses, is a story
STORY_CLAUSES = 3  # ... and so is one told in three or more punctuated parts, however short
STORY_FACTOR = 0.35  # in a story, the weight of a known word outside the asking clause
LONG_UNSEEN = 0.5  # ... and an unknown word in its asking clause this much (这种单亲家庭能申请低保吗)
UNSEEN_PENALTY = 1.5  # an unknown word in the asking clause weighs this much more against
WEAK_UNKNOWN = 0.35  # ... unless it is no noun (搞不清, 顾不上, 喝完): circumstance, not subject
UNKNOWN_NOUN = 1.2  # an unknown noun weighs at least this, however common (医院, 学校, 银行)
NAMING_WEIGHT = 3.0  # a word of the question names a subject only when this telling (or a keyword) ...
NAMING_SIMILARITY = 0.7  # ... and a word the FAQ lacks, when the lexicon puts it this near
NAMED_MIN = 1.5  # how strongly a question must name an entry's subject for the clerk to answer
UNKNOWN_RATIO = 1.0  # ... unless words the FAQ lacks outweigh it this many times (a subject of its own)
SAME_NAMING = 0.9  # entries named this nearly as strongly, by the same word, are of one subject
AWAY_SHARE = 0.8  # a matter of another body named this strongly outweighs the FAQ's subject
RIVAL_SHARE = 0.8  # another subject named this strongly competes: the resident picks
RELATED_RANK = 3  # ... and only among its few nearest words (公积金's are 社会保险, 还贷, 贷款, not 养老金)
RELATED_MIN = 0.6  # similarity at which the lexicon relates a question's word to one of the FAQ's
PLACE_WEIGHT = 1.0  # a place name (滁州, 南京) says where, not what; FAQ terms (长乐小区) excepted
TERM_WEIGHT = 1.5  # a keyword or synonym of the FAQ weighs at least this, however common (老人)
CONFLICT_WEIGHT = 3.0  # a word this telling, from another entry, keeps a short question from a sure answer
ANSWER_CREDIT = 0.5  # a word only the entry's answer contains counts half
PART_CREDIT = 0.5  # ... and so does a word found only inside one of its longer keywords
SPECIFICITY = 0.7  # how much a word shared by many entries is discounted when ranking them
SUBJECT_MIN = 0.5  # weight a word needs to define an entry's subject
SUBJECT_DF = 3  # ... and at most this many entries may share it
GROUP_DF = 6  # a question's main word shared by at most this many entries puts them all on the subject
FULL_COVERAGE = 0.9  # an entry covering this much of the question is on its subject anyway
RARE_IDF = 10.5  # a real word this rare may be a typo of an FAQ term (地保 → 低保)
MIN_MASS = 1.0  # a question whose words weigh less than this asks about nothing in particular
WORD_SHARE = 0.2  # share of the word coverage in a short question's score (the rest: characters)
WORD_SHARE_LONG = 0.7  # ... in a long one, where character closeness means little
OFF_SUBJECT = 0.7  # score factor of an entry not on the question's subject
ABOUT_BOT_SIMILARITY = 0.5  # a capability question this close to an entry's phrasing gets that entry

_SENTENCE_RE = re.compile(r"[，。！？；,.!?;]+")
_WORD_RE = re.compile(r"[^\W_]")  # a part with a letter or a character in it (not only emoji)
_CLAUSE_RE = re.compile(r"[，。！？、；：,.!?;:\s…~～·—\-]+")


class Reason(StrEnum):
    """Why a match came out the way it did (for `ask --explain` and the tests)."""

    EXACT = "exact"  # the question is one of the entry's phrasings
    CONFIDENT = "confident"  # on subject, covered, high score, clear lead
    NEAR_TIE = "near-tie"  # two entries too close to pick one
    LOW_SCORE = "low-score"  # the best entry is not close enough to answer
    UNKNOWN_WORDS = "unknown-words"  # telling words of the question are not in the FAQ
    OFF_SUBJECT = "off-subject"  # no entry is on the question's subject
    NOTHING_ASKED = "nothing-asked"  # no telling word at all (需要什么材料, emoji)
    SUBJECT = "subject"  # the question names the entry's subject, and no other subject competes
    OVERVIEW = "overview"  # ... several entries of that subject fit: its overview entry answers
    SUBJECTS = "subjects"  # the question names several subjects of the FAQ: the resident picks
    ELSEWHERE = "elsewhere"  # the question is about a matter another body handles (faq/referrals.yaml)
    SMALL_TALK = "small-talk"  # 你好, 谢谢, 你是谁, 转人工
    ABOUT_BOT = "about-bot"  # 你能干什么: the FAQ's entry about the bot


class Known(StrEnum):
    """Where the FAQ knows a question's word from."""

    PHRASING = "phrasing"
    SOUND = "sound"  # a phrasing has a word that sounds the same
    ANSWER = "answer"  # only an answer mentions it
    RELATED = "related"  # the lexicon relates it to a word of the FAQ (截肢 → 残疾)
    UNSEEN = "unseen"


@dataclass(frozen=True)
class Thresholds:
    answer: float = ANSWER_THRESHOLD  # score an answer needs (less `sure_drop` with `sure_coverage`)
    suggest: float = SUGGEST_THRESHOLD  # score a suggestion needs
    margin: float = 5.0  # lead over the runner-up an answer needs
    coverage: float = 0.3  # word coverage an answer needs
    sure_coverage: float = 0.9  # a question this fully covered ...
    sure_drop: float = 15.0  # ... is answered this many points below `answer`
    verbatim: float = 0.8  # similarity that answers a question without a telling word


@dataclass(frozen=True)
class Term:
    """One word of the question as the matcher weighed it."""

    word: str
    weight: float
    asked: bool  # in the asking clause (always, for a short question)
    known: Known
    heard_as: str = ""  # the written form, when the resident typed a sound-alike
    guess: bool = False  # ... and that form is itself a real word (地保, 树屋): a guess, not a fix
    related: str = ""  # RELATED: the FAQ's word it is near (截肢 → 残疾) ...
    similarity: float = 0.0  # ... and how near (the lexicon's similarity)
    circumstance: bool = False  # UNSEEN, and a person, time, place or institution (妈妈, 民政局)
    away: str = ""  # a subject word of a matter another body handles: the matter's id (公积金 → housing-fund)


@dataclass(frozen=True)
class Candidate:
    entry_id: str
    score: float
    coverage: float  # share of the question's weighted words the entry covers
    closeness: float  # the character layer's score, 0-1
    phrasing: str  # the entry's phrasing nearest to the question
    on_subject: bool = True
    similarity: float = 0.0  # rapidfuzz ratio to that phrasing, 0-1


@dataclass(frozen=True)
class Match:
    status: Status
    entry_id: str | None
    score: float
    candidates: tuple[Candidate, ...]
    normalized: str
    reason: Reason = Reason.LOW_SCORE
    terms: tuple[Term, ...] = ()
    intent: smalltalk.Intent | None = None
    referral: str = ""  # REFERRAL: the id of the matter another body handles

    @property
    def suggestions(self) -> tuple[Candidate, ...]:
        return self.candidates[:MAX_SUGGESTIONS] if self.status == SUGGEST else ()


# --- the character layer ---------------------------------------------------------------

_TOKEN_RE = re.compile(r"[0-9a-z]+|.", re.S)
_LATIN_RE = re.compile(r"[0-9a-z]")


def tokens(text: str) -> list[str]:
    """Chinese characters one by one; runs of Latin letters or digits as one token."""
    return _TOKEN_RE.findall(text) if _LATIN_RE.search(text) else list(text)


def _pairs(toks: list[str]) -> list[str]:
    # Plain concatenation is unambiguous: adjacent ASCII runs are always one token.
    return list(map(operator.add, toks, toks[1:]))


def _features(toks: list[str], keys: list[str]) -> list[str]:
    # Sound keys start with "~", so their pairs can't collide with character pairs.
    return [*toks, *keys, *_pairs(toks), *_pairs(keys)]


def features(text: str) -> frozenset[str]:
    """Every feature of a normalized text: characters, their sounds, pairs and sound pairs."""
    toks = tokens(text)
    return frozenset(_features(toks, sounds(toks)))


def sound_text(text: str) -> str:
    return "".join(sounds(list(text)))


# --- the question, read ------------------------------------------------------------------


@dataclass
class _Reading:
    normalized: str
    focus: str  # the asking part: the question itself, or a story's last clauses
    terms: list[Term] = field(default_factory=list)
    long: bool = False
    aspects: frozenset[str] = frozenset()

    @property
    def asked(self) -> list[Term]:
        return [t for t in self.terms if t.asked]

    @property
    def mass(self) -> float:
        return sum(t.weight for t in self.terms if t.asked)


def _asking_clause(cut: list[list[str]]) -> int:
    """Where a story's question is: its last clause that names something."""
    return max((k for k, ws in enumerate(cut) if any(words.weight(w) >= 1 for w in ws)), default=0)


class Index:
    """Everything needed to score questions against one FAQ, built once per FAQ load."""

    def __init__(
        self,
        faq: Faq,
        normalizer: Normalizer | None = None,
        thresholds: Thresholds = Thresholds(),
        *,
        segmenter: words.Segmenter | None = None,
    ):
        # The build allocates millions of small objects that all live as long as the index;
        # pausing the cyclic GC meanwhile saves a third of the build time at 10,000 entries.
        enabled = gc.isenabled()
        gc.disable()
        try:
            self._build(faq, normalizer, thresholds, segmenter)
        finally:
            if enabled:
                gc.enable()

    # -- building ------------------------------------------------------------------------

    def _build(
        self, faq: Faq, normalizer: Normalizer | None, thresholds: Thresholds, segmenter: words.Segmenter | None
    ) -> None:
        self.faq = faq
        self.thresholds = thresholds
        self.normalize = normalizer or Normalizer(faq.synonyms)
        self.entries: list[Entry] = list(faq.entries)
        self.position = {e.id: i for i, e in enumerate(self.entries)}
        self._build_characters()
        self._build_words(segmenter)

    def _build_characters(self) -> None:
        self.phrasings: list[list[str]] = []  # normalized, per entry
        self.phrasing_sounds: list[list[list[str]]] = []  # sound keys of each phrasing
        self.originals: list[list[str]] = []
        self.entry_features: list[frozenset[str]] = []
        self.verbatim: dict[str, list[int]] = {}  # normalized phrasing → the entries that have it
        postings: dict[str, list[int]] = defaultdict(list)
        texts = [(*e.phrasings, *e.keywords) for e in self.entries]
        flat = self.normalize.many([t for group in texts for t in group])
        at = 0
        for i, group in enumerate(texts):
            normalized, originals, heard, feats = [], [], [], set()
            for text, norm in zip(group, flat[at : at + len(group)], strict=True):
                norm = norm[:MAX_QUERY_CHARS]
                if norm and norm not in normalized:
                    toks = tokens(norm)
                    keys = sounds(toks)
                    normalized.append(norm)
                    originals.append(text)
                    heard.append(keys)
                    feats.update(_features(toks, keys))
            at += len(group)
            self.phrasings.append(normalized)
            for norm in normalized:
                self.verbatim.setdefault(norm, []).append(i)
            self.originals.append(originals)
            self.phrasing_sounds.append(heard)
            frozen = frozenset(feats)
            self.entry_features.append(frozen)
            for feat in frozen:
                postings[feat].append(i)
        n = max(len(self.entries), 1)
        self.postings = dict(postings)
        self.idf = {f: math.log((n - len(p) + 0.5) / (len(p) + 0.5) + 1.0) for f, p in postings.items()}
        self.unseen_idf = UNSEEN_FACTOR * math.log((n + 0.5) / 0.5 + 1.0)
        # Features in more than this many entries are too common to nominate candidates.
        self.common_df = max(30, n // 50)

    def _build_words(self, segmenter: words.Segmenter | None) -> None:
        self.texts = ["|".join(p) for p in self.phrasings]
        # Keywords are single terms: 快递 inside the keyword 快递盒 is not the entry's word.
        kw = self.normalize.many([k for e in self.entries for k in e.keywords])
        at = 0
        self.keywords: list[frozenset[str]] = []
        self.sentences: list[str] = []  # the phrasings that are not keywords, joined
        for i, e in enumerate(self.entries):
            entry_keywords = frozenset(kw[at : at + len(e.keywords)])
            at += len(e.keywords)
            self.keywords.append(entry_keywords)
            self.sentences.append("|".join(p for p in self.phrasings[i] if p not in entry_keywords))
        answers = self.normalize.many([f"{e.answer} {e.topic}".replace("\n", " ") for e in self.entries])
        self.answers = answers
        self.answer_pairs: set[str] = set()
        for text in set(answers):
            self.answer_pairs.update(map(operator.add, text, text[1:]))
        self.answer_chars = set("".join(set(answers)))
        # Each entry's own words: its canonical question and its short phrasings, cut once.
        # Short ones made only of telling words are bare subjects (垃圾分类, 医疗救助): with
        # keywords and synonyms they become terms jieba keeps whole in questions too.
        owns: list[list[list[str]]] = []
        bare: list[str] = []
        for i in range(len(self.entries)):
            short = [p for p in self.phrasings[i][1:] if len(p) <= 6 and p not in self.keywords[i]]
            cuts = [words.cut(p) for p in self.phrasings[i][:1] + short]
            owns.append(cuts)
            bare += ["".join(c) for c in cuts[1:] if len(c) > 1 and all(words.weight(w) > 0 for w in c)]
        synonyms = [self.normalize(group[0]) for group in self.faq.synonyms]
        # Matters other bodies handle (faq/referrals.yaml): subject words of their own, so a
        # question about 公积金提取 or 医保报销 is read as being about that matter.
        matters = self.faq.referrals.matters if self.faq.referrals else ()
        away = self.normalize.many([w for m in matters for w in m.subjects])
        owners = [m.id for m in matters for _ in m.subjects]
        self.away: dict[str, str] = {}  # normalized subject word → the referral matter's id
        for word, owner in zip(away, owners, strict=True):
            if len(word) > 1:
                self.away.setdefault(word, owner)
        self.segmenter = segmenter or words.Segmenter([*kw, *synonyms, *bare, *self.away])
        self._df: dict[str, int] = {}
        self.vocabulary: dict[str, str] = {}  # sound key → FAQ word, for reading typos
        entry_words: list[set[str]] = []
        terms = self.segmenter.terms
        for i, cuts in enumerate(owns):
            own = [w for c in cuts for w in c]
            telling = {
                w
                for w in own
                if words.weight(w) >= SUBJECT_MIN and not words.is_aspect(w) and (w in terms or words.names_subject(w))
            }
            telling |= {k for k in self.keywords[i] if not words.is_aspect(k)}
            entry_words.append(telling)
            for w in sorted(telling):  # sorted: the same sound key always reads as the same word
                if len(w) > 1:
                    self.vocabulary.setdefault(sound_text(w), w)
            for a, b in itertools.pairwise(own):
                if 3 <= len(a + b) <= 6 and words.weight(a) > 0 and words.weight(b) > 0:
                    self.vocabulary.setdefault(sound_text(a + b), a + b)
        for term in sorted(self.segmenter.terms):
            self.vocabulary.setdefault(sound_text(term), term)
        self.telling = [frozenset(t) for t in entry_words]  # each entry's telling words
        self.subjects: list[frozenset[str]] = []
        for telling in entry_words:
            specific = {w for w in telling if self.df(w) <= SUBJECT_DF}
            if not specific and telling:
                top = max(map(words.weight, telling))
                specific = {w for w in telling if words.weight(w) >= top}
            self.subjects.append(frozenset(specific))

    # -- what the FAQ knows ----------------------------------------------------------------

    def df(self, word: str) -> int:
        """How many entries' phrasings contain `word` (at most; from the pair postings)."""
        found = self._df.get(word)
        if found is None:
            toks = tokens(word)
            keys = _pairs(toks) or toks
            found = min((len(self.postings.get(k, ())) for k in keys), default=0)
            if found and len(toks) > 2:
                found = sum(
                    1 for i in self.postings[min(keys, key=lambda k: len(self.postings[k]))] if word in self.texts[i]
                )
            self._df[word] = found
        return found

    def _known(self, word: str) -> Known:
        if self.df(word):
            return Known.PHRASING
        if len(word) > 1:
            if all(p in self.answer_pairs for p in _pairs(list(word))):
                return Known.ANSWER
            if not self.segmenter.known(word) and sound_text(word) in self.vocabulary:
                return Known.SOUND
        elif word in self.answer_chars:
            return Known.ANSWER
        return Known.UNSEEN

    def _related(self, word: str) -> tuple[str, float]:
        """The FAQ word the lexicon puts nearest to a word the FAQ lacks (截肢 → 残疾), with
        its similarity; ("", 0) when none is near enough. Only words that can name a subject
        relate: 偏瘫 → 瘫痪, not 怀疑 → 相信."""
        if not words.names_subject(word):
            return "", 0.0
        for other, sim in lexicon.neighbours(word, RELATED_RANK):
            if sim < RELATED_MIN:
                break
            if len(other) > 1 and self.df(other) and words.weight(other) >= SUBJECT_MIN and words.names_subject(other):
                return other, sim
        return "", 0.0

    def _specificity(self, word: str) -> float:
        n = len(self.entries)
        share = math.log((n + 1) / (self.df(word) + 0.5)) / math.log((n + 1) / 0.5)
        return (1.0 - SPECIFICITY) + SPECIFICITY * share

    # -- reading the question -----------------------------------------------------------------

    def _repair(self, toks: list[str]) -> tuple[list[str], list[tuple[str, str]]]:
        """Spans the FAQ lacks that sound like an FAQ term are read as that term (低饱 → 低保).

        Only runs of single characters, a word jieba does not know, a rare real word (地保), or
        a span of three or more characters (垃圾分内 → 垃圾分类): a common word keeps its meaning.
        """
        out: list[str] = []
        fixes = []
        t = 0
        while t < len(toks):
            for k in (3, 2, 1):
                part = toks[t : t + k]
                span = "".join(part)
                if len(part) < k or not 2 <= len(span) <= 6 or self.df(span):
                    continue
                if any(p in words.FUNCTION_WORDS for p in part):
                    continue
                target = self.vocabulary.get(sound_text(span))
                if not target or target == span:
                    continue
                if k == 1:
                    plausible = not self.segmenter.known(span) or words.idf(span) >= RARE_IDF
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

    def read(self, question: str) -> _Reading:
        """Normalize clause by clause, cut into words, repair typos, weigh every word."""
        clauses = [c for c in _CLAUSE_RE.split(question) if c]
        normed = [c for c in self.normalize.many(clauses) if c] if clauses else []
        cut: list[list[str]] = []
        heard: dict[str, str] = {}
        for clause in normed:
            toks, fixes = self._repair(self.segmenter.cut(clause))
            cut.append(toks)
            heard.update((target, span) for span, target in fixes)
        guesses = {target for target, span in heard.items() if self.segmenter.known(span)}
        fixed = ["".join(toks) for toks in cut]
        normalized = "".join(fixed)[:MAX_QUERY_CHARS]
        # A story is told in sentences: count the parts punctuation separates (spaces separate
        # lists too: 油漆桶 杀虫剂瓶子 扔哪个桶).
        told = sum(1 for part in _SENTENCE_RE.split(question) if _WORD_RE.search(part))
        long = told >= STORY_CLAUSES or (len(normalized) > LONG_CHARS and len(fixed) > 1)
        ask_at = _asking_clause(cut)
        terms = []
        for k, clause_words in enumerate(cut):
            for word in clause_words:
                weight = words.weight(word)
                if weight <= 0:
                    continue
                known = self._known(word)
                related, similarity, circumstance = "", 0.0, False
                away = self.away.get(word, "")
                if known == Known.UNSEEN and not away:
                    related, similarity = self._related(word)
                    if related:
                        known = Known.RELATED
                    else:
                        circumstance = lexicon.is_circumstance(word)
                if word in self.segmenter.terms:  # the FAQ's own terms (老人, 临时救助) name its subjects
                    weight = max(weight, TERM_WEIGHT)
                elif words.is_place(word):
                    weight = min(weight, PLACE_WEIGHT)
                elif known == Known.UNSEEN and not circumstance and words.is_noun(word) and not word.isascii():
                    weight = max(weight, UNKNOWN_NOUN)
                elif known == Known.UNSEEN:
                    weight *= WEAK_UNKNOWN
                asked = not long or k >= ask_at
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
                    )
                )
        focus = "".join(fixed[ask_at:]) if long else normalized
        asking = words.aspects("".join(fixed[ask_at:]))  # 我的电话…，低保怎么申请 asks no phone number
        return _Reading(normalized, focus[:MAX_QUERY_CHARS], terms, long, asking)

    # -- scoring ------------------------------------------------------------------------------

    def covered(self, term: Term, entry_id: str) -> float:
        """How much of one question word an entry has (for `ask --explain`)."""
        return self._covers(term, self.position[entry_id])

    def _covers(self, term: Term, i: int) -> float:
        """How much of one question word entry i has: as written, as a sound-alike, in its
        answer only, or a telling part of a compound (残疾证 → 残疾)."""
        word = term.word
        if term.related:  # 截肢 is covered as far as its FAQ word 残疾 is, times their nearness
            return term.similarity * self._covers(Term(term.related, term.weight, term.asked, Known.PHRASING), i)
        if word in self.sentences[i] or word in self.keywords[i]:
            return 1.0
        if word in self.texts[i]:
            return PART_CREDIT  # only inside a longer keyword (快递 in 快递盒)
        best = ANSWER_CREDIT if (len(word) > 1 or term.weight >= 1) and word in self.answers[i] else 0.0
        for size in range(len(word) - 1, 1, -1):
            for start in range(len(word) - size + 1):
                part = word[start : start + size]
                if part in self.texts[i]:  # a telling part of a longer word: 残疾 of 残疾证
                    best = max(best, min(1.0, words.weight(part) / term.weight) * size / len(word))
        return best

    def _coverage(self, reading: _Reading, i: int) -> float:
        got = total = 0.0
        for term in reading.terms:
            if not term.asked and term.known == Known.UNSEEN:
                continue  # a story's unknown words are circumstance, not another subject
            weight = term.weight * (1.0 if term.asked else STORY_FACTOR) * self._specificity(term.word)
            got += weight * self._covers(term, i)
            unseen = LONG_UNSEEN if reading.long else UNSEEN_PENALTY
            total += weight * (unseen if term.known == Known.UNSEEN and not term.circumstance else 1.0)
        return got / total if total else 0.0

    def _query_terms(self, text: str) -> list[tuple[float, tuple[tuple[str, float], ...]]]:
        """(weight, ((feature, credit), ...)) per position of the character layer.

        A pair the FAQ has never seen weighs what its characters weigh: the seam between two
        known words (家里|也) is cheap, a truly new word (天气) is not. A misspelled pair
        takes the weight of the pair it sounds like.
        """
        toks = tokens(text)
        keys = sounds(toks)
        terms: list[tuple[float, tuple[tuple[str, float], ...]]] = []
        for tok, sound in zip(toks, keys, strict=True):
            weight = self.idf.get(tok) or self.idf.get(sound) or self.unseen_idf
            terms.append((weight * UNIGRAM_FACTOR, ((tok, 1.0), (sound, SOUND_CREDIT))))
        for k, (pair, sound) in enumerate(zip(_pairs(toks), _pairs(keys), strict=True)):
            if pair in self.idf:
                weight = self.idf[pair]
            elif sound in self.idf:
                weight = self.idf[sound]
            else:
                weight = (self.idf.get(toks[k], self.unseen_idf) + self.idf.get(toks[k + 1], self.unseen_idf)) / 2
            terms.append((weight, ((pair, 1.0), (sound, SOUND_CREDIT))))
        return terms

    def _nominate(self, terms) -> list[int]:
        """Cheap first pass: entries sharing a not-too-common feature with the question."""
        rough: dict[int, float] = {}
        for weight, alternatives in terms:
            for feat, credit in alternatives:
                posting = self.postings.get(feat)
                if posting and len(posting) <= self.common_df:
                    gain = weight * credit
                    for i in posting:
                        rough[i] = rough.get(i, 0.0) + gain
                    break
        return sorted(rough, key=rough.__getitem__, reverse=True)[:RESCORE]

    def _closeness(self, text: str, terms, ids: list[int]) -> dict[int, tuple[float, float, int]]:
        """The character layer: (score 0-1, similarity to the nearest phrasing, its index)."""
        total = sum(w for w, _ in terms) or 1.0
        heard = sounds(tokens(text))
        out = {}
        for i in ids:
            feats = self.entry_features[i]
            got = 0.0
            for weight, ((feat, _), (sound, credit)) in terms:
                if feat in feats:
                    got += weight
                elif sound in feats:
                    got += weight * credit
            best = process.extractOne(text, self.phrasings[i], scorer=fuzz.ratio)
            near, at = best[1] / 100.0, best[2]
            sound_best = process.extractOne(heard, self.phrasing_sounds[i], scorer=fuzz.ratio)
            if sound_best[1] / 100.0 * SOUND_CREDIT > near:
                near, at = sound_best[1] / 100.0 * SOUND_CREDIT, sound_best[2]
            out[i] = (FINE_COVERAGE * got / total + (1 - FINE_COVERAGE) * near, near, at)
        return out

    def _conflict(self, reading: _Reading, entry_id: str) -> bool:
        """A short question naming something the FAQ knows from *other* entries, which this
        one lacks (城乡居民医保 against 城乡居民养老保险, 过期食品…投诉 against 厨余垃圾): the
        resident picks. A story may mention other subjects; its asking clause decides."""
        if reading.long:
            return False
        i = self.position[entry_id]
        return any(
            t.known in (Known.PHRASING, Known.ANSWER)
            and t.weight >= CONFLICT_WEIGHT
            and not words.is_aspect(t.word)
            and words.names_subject(t.word)
            and self._covers(t, i) < 0.5
            for t in reading.asked
        )

    def _tells(self, reading: _Reading, entry_id: str) -> bool:
        """Whether the entry mentions every aspect the question asks about (几点, 电话, 在哪)."""
        i = self.position[entry_id]
        return all(
            any(cue in self.texts[i] or cue in self.answers[i] for cue in words.ASPECT_GROUPS[aspect][1])
            for aspect in reading.aspects
        )

    def _on_subject(self, reading: _Reading, i: int, coverage: float) -> bool:
        """Whether entry i is about what the question is about: the question names one of the
        entry's own subject words, or the entry has the question's most telling word that is
        shared by few entries (老鼠 rather than 小区), or it covers nearly all of it."""
        if any(s in reading.normalized for s in self.subjects[i]):  # typos were repaired while reading
            return True
        named = [
            t
            for t in reading.asked
            if not words.is_aspect(t.word) and (t.word in self.segmenter.terms or words.names_subject(t.word))
        ]
        if not named:
            return False
        main = max(named, key=lambda t: t.weight)
        # Only its answer, or one of its longer keywords, is not enough (快递 of 快递盒).
        if coverage >= FULL_COVERAGE and self._covers(main, i) > PART_CREDIT:
            return True
        specific = [t for t in named if self.df(t.word) <= GROUP_DF]
        if specific:
            return self._covers(max(specific, key=lambda t: t.weight), i) > PART_CREDIT
        # Only words many entries share (办事处, 小区, 垃圾): every entry that has the main one is
        # on the subject, and closeness picks among them.
        return self._covers(main, i) > PART_CREDIT

    def score(self, reading: _Reading) -> list[Candidate]:
        """Every nominated entry, scored, best first."""
        if not reading.normalized:
            return []
        terms = self._query_terms(reading.normalized)
        ids = self._nominate(terms)
        # A short question is its own focus: weigh its characters once.
        focus_terms = terms if reading.focus == reading.normalized else self._query_terms(reading.focus)
        close = self._closeness(reading.focus, focus_terms, ids)
        share = WORD_SHARE_LONG if reading.long else WORD_SHARE
        scored = []
        for i in ids:
            coverage = self._coverage(reading, i)
            fine, near, at = close[i]
            on_subject = self._on_subject(reading, i, coverage)
            score = 100.0 * (share * coverage + (1 - share) * fine) * (1.0 if on_subject else OFF_SUBJECT)
            scored.append(
                Candidate(self.entries[i].id, round(score, 1), coverage, fine, self.originals[i][at], on_subject, near)
            )
        scored.sort(key=lambda c: (-c.score, c.entry_id))
        return scored

    def named(self, reading: _Reading, i: int) -> tuple[float, str]:
        """How strongly the question names entry i's subject, and by which of the question's
        words (the strongest): each specific telling word of the entry the question has — as
        written, inside a longer word (残疾证 names 残疾) or near it in the lexicon (截肢 →
        残疾) — weighed by how few entries share it (小区, 社区 name no one subject)."""
        total, best, by = 0.0, 0.0, ""
        for term in reading.terms:
            if term.related and term.similarity < NAMING_SIMILARITY:
                continue
            word = term.related or term.word
            if word in self.telling[i]:
                strength = term.weight * (term.similarity if term.related else 1.0)
            else:
                inside = [s for s in self.telling[i] if len(s) > 1 and s in word]
                if not inside:
                    continue
                word = max(inside, key=lambda s: (len(s), -self.df(s), s))
                strength = term.weight * len(word) / len(term.word)
            if self.df(word) > GROUP_DF or (term.weight < NAMING_WEIGHT and word not in self.keywords[i]):
                continue  # 小区, 社区, 小孩: everyday words that name no one subject
            strength *= (1.0 if term.asked else STORY_FACTOR) * self._specificity(word)
            total += strength
            if strength > best:
                best, by = strength, term.word
        return total, by

    def clerk(self, reading: _Reading, scored: list[Candidate]) -> tuple[Status, str | None, Reason] | None:
        """Decide the way a counter clerk does: find the subject the question names; when one
        subject of the FAQ is named and no other competes, answer with that subject's best
        entry (its overview when several fit equally); when several subjects compete, offer
        them. None: no FAQ subject is named; the caller decides by closeness alone."""
        named = [(self.named(reading, self.position[c.entry_id]), c) for c in scored[:RESCORE]]
        named.sort(key=lambda nc: (-nc[0][0], -nc[1].score))
        (strength, by), top = named[0] if named else ((0.0, ""), None)
        if top is None or strength < NAMED_MIN:
            return None
        away, matter = self._away(reading, top)
        if away >= strength * AWAY_SHARE:
            return REFERRAL, matter, Reason.ELSEWHERE  # 医保报销 outweighs 住院费: the 医保 office's matter
        if not reading.long and self._elsewhere(reading, top) > strength * UNKNOWN_RATIO:
            return None  # the question is as much about something the entry does not cover (电动车电池)
        rivals = [c for (s, w), c in named if w != by and s >= strength * RIVAL_SHARE]
        if rivals and rivals[0].score >= top.score - self.thresholds.margin:
            return SUGGEST, None, Reason.SUBJECTS
        close = [
            c
            for (s, w), c in named
            if w == by and s >= strength * SAME_NAMING and c.score >= top.score - self.thresholds.margin
        ]
        if len(close) == 1 or reading.aspects:
            return ANSWERED, top.entry_id, Reason.SUBJECT
        overview = [c for c in close if by in self.phrasings[self.position[c.entry_id]]]
        return ANSWERED, (overview or close)[0].entry_id, Reason.OVERVIEW

    def _away(self, reading: _Reading, top: Candidate) -> tuple[float, str]:
        """How strongly the question names a matter another body handles, and which: its
        strongest subject word that is not also the entry's own, or part of one (失火). A
        longer word that contains the entry's is the matter's (低保房 is not 低保)."""
        i = self.position[top.entry_id]
        best, matter = 0.0, ""
        for t in reading.terms:
            if t.away and not any(t.word in w for w in self.telling[i]):
                strength = t.weight * (1.0 if t.asked else STORY_FACTOR)
                if strength > best:
                    best, matter = strength, t.away
        return best, matter

    def _elsewhere(self, reading: _Reading, top: Candidate) -> float:
        """How much the question asks about what the entry does not cover: its asked words that
        could name a subject — unknown to the FAQ (护照) or known from other entries (电动车) —
        and that the entry lacks; people, places and times excepted (妈妈, 民政局)."""
        i = self.position[top.entry_id]
        return sum(
            t.weight
            for t in reading.asked
            if t.weight >= 1.0
            and not t.circumstance
            and not words.is_aspect(t.word)
            and words.names_subject(t.word)
            and self._covers(t, i) < 0.5
        )

    def decide(
        self, reading: _Reading, scored: list[Candidate], t: Thresholds | None = None
    ) -> tuple[Status, str | None, Reason]:
        t = t or self.thresholds
        owners = self.verbatim.get(reading.normalized, ())
        if len(owners) == 1:
            return ANSWERED, self.entries[owners[0]].id, Reason.EXACT
        if owners:  # two entries share the phrasing (a synonym made them equal): the resident picks
            return SUGGEST, None, Reason.NEAR_TIE
        if not scored:
            return UNANSWERED, None, Reason.NOTHING_ASKED if reading.mass < MIN_MASS else Reason.OFF_SUBJECT
        if reading.mass < MIN_MASS or len(tokens(reading.normalized)) < 2:
            # No telling word (你能回答什么, 需要什么材料): only a near-verbatim phrasing answers.
            top, runner_up = scored[0], (scored[1].similarity if len(scored) > 1 else 0.0)
            if top.similarity >= t.verbatim and top.similarity - runner_up >= t.margin / 100:
                return ANSWERED, top.entry_id, Reason.EXACT
            return UNANSWERED, None, Reason.NOTHING_ASKED
        clerk = self.clerk(reading, scored)
        if clerk is not None:
            return clerk
        top = scored[0]
        second = scored[1] if len(scored) > 1 else None
        lead = top.score - (second.score if second else 0.0)
        # A question the top entry covers fully may score lower (a long or chatty wording),
        # unless the runner-up covers it as fully: then only the characters tell them apart.
        contested = second is not None and second.coverage >= t.sure_coverage and lead < 2 * t.margin
        enough = (top.score >= t.answer and top.coverage >= t.coverage) or (
            top.coverage >= t.sure_coverage and top.score >= t.answer - t.sure_drop and not contested
        )
        # Reading a real word as the FAQ term it sounds like (树屋 → 书屋) is a guess: it is
        # offered, not asserted, when anything else in the question is unknown.
        guessing = any(x.guess for x in reading.terms) and any(x.known == Known.UNSEEN for x in reading.asked)
        if (
            top.on_subject
            and enough
            and lead >= t.margin
            and not guessing
            and self._tells(reading, top.entry_id)
            and not self._conflict(reading, top.entry_id)
        ):
            return ANSWERED, top.entry_id, Reason.CONFIDENT
        if any(c.on_subject and c.score >= t.suggest for c in scored):
            return SUGGEST, None, Reason.NEAR_TIE if top.on_subject and enough else Reason.LOW_SCORE
        unseen = sum(x.weight for x in reading.asked if x.known == Known.UNSEEN and not x.circumstance)
        if unseen >= reading.mass / 2:
            return UNANSWERED, None, Reason.UNKNOWN_WORDS
        return UNANSWERED, None, Reason.OFF_SUBJECT if not top.on_subject else Reason.LOW_SCORE

    def match(self, question: str) -> Match:
        intent = smalltalk.detect(question)
        if intent is not None and intent != smalltalk.Intent.CAPABILITY:
            return Match(
                UNANSWERED, None, 0.0, (), self.normalize(question)[:MAX_QUERY_CHARS], Reason.SMALL_TALK, intent=intent
            )
        reading = self.read(question)
        scored = self.score(reading)
        if intent == smalltalk.Intent.CAPABILITY:
            # The entry a capability question resembles most is the FAQ's entry about the bot.
            if scored and scored[0].similarity >= ABOUT_BOT_SIMILARITY:
                return Match(
                    ANSWERED,
                    scored[0].entry_id,
                    scored[0].score,
                    tuple(scored[:5]),
                    reading.normalized,
                    Reason.ABOUT_BOT,
                    tuple(reading.terms),
                    intent,
                )
            return Match(UNANSWERED, None, 0.0, (), reading.normalized, Reason.SMALL_TALK, tuple(reading.terms), intent)
        status, entry_id, reason = self.decide(reading, scored)
        if status == REFERRAL:
            top = scored[0].score if scored else 0.0
            return Match(status, None, top, (), reading.normalized, reason, tuple(reading.terms), referral=entry_id or "")
        if status == SUGGEST:
            shared = {self.entries[i].id for i in self.verbatim.get(reading.normalized, ())}
            shown = tuple(
                c for c in scored if c.entry_id in shared or (c.on_subject and c.score >= self.thresholds.suggest)
            )
        else:
            shown = tuple(scored)
        top = 100.0 if reason == Reason.EXACT else (scored[0].score if scored else 0.0)
        return Match(
            status, entry_id, top, shown[: max(MAX_SUGGESTIONS, 5)], reading.normalized, reason, tuple(reading.terms)
        )
