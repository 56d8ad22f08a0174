"""Questions → groups of the same question asked in different words.

Each distinct question is normalized with the FAQ's own Normalizer, reduced to its content
words (question words such as 怎么 / 在哪里 / 什么 carry no topic), and joined to the first
earlier, more-asked group it resembles (rapidfuzz ratio >= CLUSTER_THRESHOLD). Identical
texts are merged first, so 100,000 rows cost what their distinct texts cost.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from rapidfuzz import fuzz, process

from servicebot.storage import QuestionRow

CLUSTER_THRESHOLD = 70.0  # rapidfuzz ratio between content keys to share a group (60 merged 出生证明 with 残疾证)
MAX_EXAMPLES = 3

# Words that ask rather than say what about; removed only to compare questions.
QUESTION_WORDS = (
    "怎么样",
    "怎么办",
    "怎么",
    "怎样",
    "如何",
    "为什么",
    "为啥",
    "什么时候",
    "什么",
    "啥",
    "在哪里",
    "在哪儿",
    "在哪",
    "哪里",
    "哪儿",
    "哪个",
    "哪些",
    "哪",
    "多少",
    "几点",
    "是不是",
    "能不能",
    "可不可以",
    "可以",
    "有没有",
    "需要",
    "请问",
    "我想",
    "我们",
    "我",
)
_QUESTION_WORDS_RE = re.compile("|".join(map(re.escape, sorted(QUESTION_WORDS, key=len, reverse=True))))
# What privacy.mask_personal leaves behind: such a message is one resident's own case.


def content_key(normalized: str) -> str:
    """The words that say what a question is about: 社区医院几点开门 → 社区医院开门."""
    return _QUESTION_WORDS_RE.sub("", normalized) or normalized


def display_text(question: str) -> str:
    return " ".join(question.split())


@dataclass
class Tally:
    """Counts for one set of questions; merged upwards from texts to groups."""

    count: int = 0
    residents: set[str] = field(default_factory=set)
    first: dt.datetime | None = None
    last: dt.datetime | None = None
    statuses: Counter = field(default_factory=Counter)
    refs: list[str] = field(default_factory=list)
    phrasings: dict[str, Counter] = field(default_factory=dict)  # normalized text → written form → n

    def add_row(self, row: QuestionRow) -> None:
        self.count += 1
        if row.resident:
            self.residents.add(row.resident)
        self.first = row.at if self.first is None or row.at < self.first else self.first
        self.last = row.at if self.last is None or row.at > self.last else self.last
        self.statuses[row.status] += 1
        self.refs.append(row.ref)

    def merge(self, other: Tally) -> None:
        self.count += other.count
        self.residents |= other.residents
        self.first = min(t for t in (self.first, other.first) if t is not None)
        self.last = max(t for t in (self.last, other.last) if t is not None)
        self.statuses.update(other.statuses)
        self.refs += other.refs
        for key, forms in other.phrasings.items():
            self.phrasings.setdefault(key, Counter()).update(forms)

    @property
    def rank_key(self) -> tuple:
        return (-len(self.residents), -self.count, -(self.last.timestamp() if self.last else 0.0))

    def examples(self, n: int = MAX_EXAMPLES) -> tuple[str, ...]:
        """The most frequent phrasings that differ after normalization, each in its most
        frequent written form (the shortest on a tie: fewer fillers)."""
        shown = [min(forms, key=lambda f: (-forms[f], len(f), f)) for forms in self.phrasings.values()]
        counts = [sum(forms.values()) for forms in self.phrasings.values()]
        ranked = sorted(zip(counts, shown), key=lambda cs: (-cs[0], len(cs[1]), cs[1]))
        return tuple(text for _, text in ranked[:n])


def _by_text(rows: Iterable[QuestionRow]) -> dict[str, Tally]:
    texts: dict[str, Tally] = defaultdict(Tally)
    for row in rows:
        texts[row.question].add_row(row)
    return texts


def group_questions(
    rows: Iterable[QuestionRow],
    normalize_many: Callable[[list[str]], list[str]],
    threshold: float = CLUSTER_THRESHOLD,
) -> list[Tally]:
    """Questions → groups of similar questions, most residents first."""
    texts = _by_text(rows)
    raw = list(texts)
    by_key: dict[str, Tally] = {}
    for text, normalized in zip(raw, normalize_many(raw)):
        if not normalized:
            continue  # only emoji or punctuation: nothing to review
        tally = texts[text]
        tally.phrasings = {normalized: Counter({display_text(text): tally.count})}
        key = content_key(normalized)
        if key in by_key:
            by_key[key].merge(tally)
        else:
            by_key[key] = tally
    leaders: list[str] = []
    groups: list[Tally] = []
    for key in sorted(by_key, key=lambda k: (*by_key[k].rank_key, k)):
        hit = process.extractOne(key, leaders, scorer=fuzz.ratio, score_cutoff=threshold) if leaders else None
        if hit is None:
            leaders.append(key)
            groups.append(by_key[key])
        else:
            groups[hit[2]].merge(by_key[key])
    groups.sort(key=lambda g: g.rank_key)
    return groups
