"""Labelled question sets → accuracy figures, for our matcher and the naive baseline.

The baseline is what the matching issue describes: rapidfuzz `extractOne` with WRatio over
every raw phrasing, answering when the best score clears a cutoff. It is shown at its best
cutoff on the same set, so the comparison is as kind to it as possible.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml
from rapidfuzz import fuzz, process

from servicebot.errors import ServicebotError
from servicebot.faq import Faq
from servicebot.matching import ANSWERED, SUGGEST, Index

Labelled = list[tuple[str, str | None]]


def load_labelled(path: Path, faq: Faq | None = None) -> Labelled:
    """question → expected id (None = out of scope); unknown ids are an error."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ServicebotError(f"cannot read labelled set {path}: {exc}") from None
    if not isinstance(data, dict):
        raise ServicebotError(f"{path}: expected a mapping of question → entry id (or null)")
    items = [(str(q), None if v is None else str(v)) for q, v in data.items()]
    if faq is not None:
        unknown = sorted({v for _, v in items if v is not None and v not in faq.by_id})
        if unknown:
            raise ServicebotError(f"{path}: unknown entry ids: {', '.join(unknown)}")
    return items


@dataclass(frozen=True)
class Figures:
    in_scope: int
    out_of_scope: int
    correct: int  # in-scope answered with the right entry
    wrong: int  # in-scope answered with a wrong entry
    suggested: int  # in-scope that fell to "suggest"
    suggest_hit: int  # ... and the right entry was among the suggestions
    rejected: int  # out-of-scope not answered

    def rate(self, part: int, whole: int) -> float:
        return 100.0 * part / whole if whole else 0.0

    @property
    def accuracy(self) -> float:
        return self.rate(self.correct, self.in_scope)

    @property
    def rejection(self) -> float:
        return self.rate(self.rejected, self.out_of_scope)

    @property
    def suggest_rate(self) -> float:
        return self.rate(self.suggested, self.in_scope)

    @property
    def wrong_rate(self) -> float:
        return self.rate(self.wrong, self.in_scope)


@dataclass(frozen=True)
class Miss:
    question: str
    expected: str | None
    status: str
    got: str | None
    score: float


def evaluate(index: Index, labelled: Labelled) -> tuple[Figures, list[Miss]]:
    counts = dict(correct=0, wrong=0, suggested=0, suggest_hit=0, rejected=0)
    misses = []
    for question, expected in labelled:
        m = index.match(question)
        if expected is None:
            if m.status != ANSWERED:
                counts["rejected"] += 1
                continue
        elif m.status == ANSWERED and m.entry_id == expected:
            counts["correct"] += 1
            continue
        elif m.status == ANSWERED:
            counts["wrong"] += 1
        elif m.status == SUGGEST:
            counts["suggested"] += 1
            counts["suggest_hit"] += expected in {c.entry_id for c in m.suggestions}
        misses.append(
            Miss(
                question,
                expected,
                m.status,
                m.entry_id or (m.candidates[0].entry_id if m.candidates else None),
                m.score,
            )
        )
    in_scope = sum(1 for _, e in labelled if e is not None)
    return Figures(in_scope, len(labelled) - in_scope, **counts), misses


class NaiveBaseline:
    """extractOne(question, all phrasings, scorer=WRatio) with a score cutoff."""

    def __init__(self, faq: Faq):
        self.owners = [e.id for e in faq.entries for _ in e.phrasings]
        self.choices = [p for e in faq.entries for p in e.phrasings]

    def best(self, question: str) -> tuple[str, float]:
        _text, score, i = process.extractOne(question, self.choices, scorer=fuzz.WRatio)
        return self.owners[i], score

    def figures(self, labelled: Labelled, cutoff: float, bests=None) -> Figures:
        bests = bests or [self.best(q) for q, _ in labelled]
        correct = wrong = rejected = 0
        for (_, expected), (got, score) in zip(labelled, bests):
            answered = score >= cutoff
            if expected is None:
                rejected += not answered
            elif answered:
                correct += got == expected
                wrong += got != expected
        in_scope = sum(1 for _, e in labelled if e is not None)
        return Figures(in_scope, len(labelled) - in_scope, correct, wrong, 0, 0, rejected)

    def best_cutoff(self, labelled: Labelled) -> tuple[float, Figures]:
        """The cutoff that maximises the mean of in-scope accuracy and out-of-scope rejection."""
        bests = [self.best(q) for q, _ in labelled]
        options = [(c, self.figures(labelled, c, bests)) for c in range(0, 101, 5)]
        return max(options, key=lambda cf: (cf[1].accuracy + cf[1].rejection, -cf[0]))


def report_lines(ours: Figures, naive: Figures, cutoff: float) -> list[str]:
    rows = [
        (
            "questions (in-scope / out-of-scope)",
            f"{ours.in_scope} / {ours.out_of_scope}",
            f"{naive.in_scope} / {naive.out_of_scope}",
        ),
        ("in-scope answered correctly", f"{ours.accuracy:.1f}%", f"{naive.accuracy:.1f}%"),
        ("in-scope answered wrongly", f"{ours.wrong_rate:.1f}%", f"{naive.wrong_rate:.1f}%"),
        ("in-scope sent to suggestions", f"{ours.suggest_rate:.1f}%", f"{naive.suggest_rate:.1f}%"),
        ("out-of-scope not answered", f"{ours.rejection:.1f}%", f"{naive.rejection:.1f}%"),
    ]
    head = ("", "servicebot", f"naive WRatio (cutoff {cutoff:g})")
    widths = [max(len(r[i]) for r in (head, *rows)) for i in range(3)]
    return ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in (head, *rows)]
