"""The matcher's vocabulary: what it says about a question (`Match`, `Candidate`, `Term`,
`Reason`) and how it reads one (`Reading`), shared by the index that scores and the clerk
that decides, so neither imports the other's internals."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from servicebot.answering import smalltalk
from servicebot.config import ANSWER_THRESHOLD, SUGGEST_THRESHOLD
from servicebot.faq import Entry
from servicebot.matching import calibration
from servicebot.records import Status

ANSWERED, SUGGEST, UNANSWERED, REFERRAL = Status.ANSWERED, Status.SUGGEST, Status.UNANSWERED, Status.REFERRAL

MAX_QUERY_CHARS = 120  # after normalization; longer rambling adds no signal
MAX_SUGGESTIONS = 3
RESCORE = 16  # candidates scored in full after the cheap postings pass
NAMING_WEIGHT = 3.0  # a word of the question names a subject only when this telling (or an FAQ term)
STORY_FACTOR = 0.35  # in a story, the weight of a known word outside the asking clause
GROUP_DF = 6  # a question's main word shared by at most this many entries puts them all on the subject


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
    UNSURE = "unsure"  # the question names an entry's subject, but the answer is not likely enough right
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
    sure: float = field(default_factory=lambda: calibration.cutoffs()[0])  # the clerk answers its pick when
    # it is at least this likely right (calibration.py) ...
    unsure: float = field(default_factory=lambda: calibration.cutoffs()[1])  # ... and offers it from this


DEFAULT_THRESHOLDS = Thresholds()


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
    qualifier: bool = False  # a noun right before another telling noun, which it qualifies (低保 of 低保大病救助)


@dataclass(frozen=True)
class Candidate:
    entry_id: str
    score: float
    coverage: float  # share of the question's weighted words the entry covers
    closeness: float  # the character layer's score, 0-1
    phrasing: str  # the entry's phrasing nearest to the question
    on_subject: bool = True
    similarity: float = 0.0  # rapidfuzz ratio to that phrasing, 0-1
    bm25: float = 0.0  # Okapi BM25 of the question's characters and pairs against the entry's phrasings


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
    focus: str = ""  # the asking part of a story (the whole question when it is short)
    follow_ups: tuple[str, ...] = ()  # OVERVIEW: the subject's other entries, offered under the answer
    untold: tuple[str, ...] = ()  # aspects asked (time, phone, money) that the answer does not hold
    complaint: bool = False  # a grievance rather than a question: staff may be offered (转人工)
    probability: float | None = None  # the clerk's calibrated confidence in its pick, when it picked
    drivers: tuple[tuple[str, float], ...] = ()  # ... and what drove it (feature, log-odds), strongest first

    @property
    def suggestions(self) -> tuple[Candidate, ...]:
        return self.candidates[:MAX_SUGGESTIONS] if self.status == SUGGEST else ()


@dataclass(frozen=True)
class Decision:
    """The clerk's decision: a status, the entry (or, for REFERRAL, the matter's id), why, and
    for an answer picked by subject, its follow-ups and calibrated confidence."""

    status: Status
    entry_id: str | None
    reason: Reason
    follow_ups: tuple[str, ...] = ()  # ANSWERED: the subject's other entries; SUGGEST: the choices
    probability: float | None = None
    features: tuple[tuple[str, float], ...] = ()


@dataclass
class Reading:
    """A question as the matcher read it: normalized, its asking part, its weighed words."""

    normalized: str
    focus: str  # the asking part: the question itself, or a story's last clauses
    terms: list[Term] = field(default_factory=list)
    long: bool = False
    aspects: frozenset[str] = frozenset()
    complaint: bool = False

    @property
    def asked(self) -> list[Term]:
        return [t for t in self.terms if t.asked]

    @property
    def mass(self) -> float:
        return sum(t.weight for t in self.terms if t.asked)


class FaqIndex(Protocol):
    """What the clerk reads of the index (`index.Index` is the one implementation)."""

    entries: list[Entry]
    position: dict[str, int]  # entry id → its index
    phrasings: list[list[str]]  # each entry's normalized phrasings
    keywords: list[frozenset[str]]  # each entry's normalized keywords
    telling: list[frozenset[str]]  # each entry's telling words
    faq_terms: frozenset[str]  # the FAQ's own terms: keywords, synonyms, bare subjects (梧桐书屋)
    verbatim: dict[str, list[int]]  # a normalized phrasing → the entries that have it
    thresholds: Thresholds

    def df(self, word: str) -> int: ...
    def specificity(self, word: str) -> float: ...
    def covers_at(self, term: Term, i: int) -> float: ...
    def tells(self, reading: Reading, entry_id: str) -> bool: ...
    def conflict(self, reading: Reading, entry_id: str) -> bool: ...
