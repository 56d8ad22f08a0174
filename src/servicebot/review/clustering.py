"""Questions → groups by subject: everything residents asked about 公积金 in one group, however
they worded it.

Each distinct text gets its subject once (`subjects.subject_of`); a subject that is only a
longer form of another subject of the same questions joins it (`subjects.merge_contained`);
questions naming no subject at all form one group of their own. A `Tally` counts one group:
questions, distinct residents, when, what the bot did, and its wordings.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from servicebot.review.subjects import Knowledge, Subject, merge_contained, subject_of
from servicebot.storage import QuestionRow

MAX_EXAMPLES = 3  # wordings shown per group
MAX_WORDINGS = 12  # wordings a draft takes from a group


def display_text(question: str) -> str:
    return " ".join(question.split())


@dataclass
class Tally:
    """Counts for one group of questions."""

    subject: str = ""
    referral: str | None = None  # the matter of faq/referrals.yaml the subject belongs to
    count: int = 0
    residents: set[str] = field(default_factory=set)
    first: dt.datetime | None = None
    last: dt.datetime | None = None
    statuses: Counter = field(default_factory=Counter)
    handed_off: int = 0  # questions the resident handed to staff (转人工)
    refs: list[str] = field(default_factory=list)
    phrasings: dict[str, Counter] = field(default_factory=dict)  # normalized text → written form → n

    def add_row(self, row: QuestionRow, normalized: str) -> None:
        self.count += 1
        if row.resident:
            self.residents.add(row.resident)
        self.first = row.at if self.first is None or row.at < self.first else self.first
        self.last = row.at if self.last is None or row.at > self.last else self.last
        self.statuses[row.status] += 1
        self.handed_off += row.handed_off
        self.refs.append(row.ref)
        self.phrasings.setdefault(normalized, Counter())[display_text(row.question)] += 1

    @property
    def rank_key(self) -> tuple:
        return (-len(self.residents), -self.count, -(self.last.timestamp() if self.last else 0.0), self.subject)

    def examples(self, n: int = MAX_EXAMPLES) -> tuple[str, ...]:
        """The most asked wordings that differ after normalization, each in its most frequent
        written form (the shortest on a tie: fewer fillers)."""
        shown = [min(forms, key=lambda f: (-forms[f], len(f), f)) for forms in self.phrasings.values()]
        counts = [sum(forms.values()) for forms in self.phrasings.values()]
        ranked = sorted(zip(counts, shown), key=lambda cs: (-cs[0], len(cs[1]), cs[1]))
        return tuple(text for _, text in ranked[:n])


@dataclass
class Subjects:
    """The subject of each question of a report, with the longer forms of a subject asked in
    the period folded into it (医保卡 into 医保 when both were asked about)."""

    knowledge: Knowledge
    joins: dict[str, str]  # subject → the subject it joins
    by_text: dict[str, Subject] = field(default_factory=dict)
    normalized: dict[str, str] = field(default_factory=dict)

    def of(self, text: str) -> Subject:
        found = self.by_text.get(text)
        if found is None:
            found = subject_of(text, self.knowledge)
            if found.name in self.joins:
                found = Subject(self.joins[found.name], found.word, "contains", found.referral, found.words)
            self.by_text[text] = found
        return found

    def name(self, text: str) -> str:
        return self.of(text).name

    def normalize(self, text: str) -> str:
        found = self.normalized.get(text)
        if found is None:
            found = self.normalized[text] = self.knowledge.normalize(text)
        return found


def read_subjects(texts: Iterable[str], knowledge: Knowledge) -> Subjects:
    """The subjects of a period's questions: the joins are decided by these texts; any other
    text (the period before, tests.yaml) is then read with the same joins."""
    distinct = list(dict.fromkeys(texts))
    joins = merge_contained((subject_of(text, knowledge).name for text in distinct), knowledge)
    subjects = Subjects(knowledge, joins)
    many = getattr(knowledge.normalize, "many", None)
    if many is not None and distinct:
        subjects.normalized.update(zip(distinct, many(distinct)))
    return subjects


def group_by_subject(rows: Iterable[QuestionRow], subjects: Subjects) -> list[Tally]:
    """Questions → one group per subject, most residents first (then most questions, latest)."""
    groups: dict[str, Tally] = {}
    for row in rows:
        normalized = subjects.normalize(row.question)
        if not normalized:
            continue  # only emoji or punctuation: nothing to review
        subject = subjects.of(row.question)
        tally = groups.setdefault(subject.name, Tally(subject=subject.name))
        tally.referral = tally.referral or subject.referral
        tally.add_row(row, normalized)
    return sorted(groups.values(), key=lambda g: g.rank_key)


def count_by_subject(rows: Iterable[QuestionRow], subjects: Subjects) -> dict[str, tuple[int, int]]:
    """Subject → (distinct residents, questions)."""
    residents: dict[str, set[str]] = defaultdict(set)
    questions: Counter = Counter()
    for row in rows:
        name = subjects.name(row.question)
        questions[name] += 1
        if row.resident:
            residents[name].add(row.resident)
    return {name: (len(residents[name]), n) for name, n in questions.items()}
