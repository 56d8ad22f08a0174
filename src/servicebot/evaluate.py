"""Labelled question sets → accuracy figures, for our matcher and the naive baseline.

A set is YAML in one of two shapes. The old flat one maps question → expected entry id (null
for out of scope). The kinded one groups questions by how residents write them, so the
figures can be read per kind (long stories, dialect, typos, near-topic off-topic questions):

    in_scope:
      long: {"question": entry-id, ...}
      colloquial: {...}
    out_of_scope:
      near: ["question", ...]
      chitchat: [...]

The baseline is what the matching issue describes: rapidfuzz `extractOne` with WRatio over
every raw phrasing, answering when the best score clears a cutoff. It is shown at its best
cutoff on the same set, so the comparison is as kind to it as possible.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import yaml
from rapidfuzz import fuzz, process

from servicebot.errors import ServicebotError
from servicebot.faq import Faq
from servicebot.matching import Index, Match
from servicebot.records import Status

IN_SCOPE, OUT_OF_SCOPE = "in_scope", "out_of_scope"
ALL = "all"


class Item(NamedTuple):
    question: str
    expected: str | None  # None: out of scope
    kind: str  # "long", "near", ...; "all" in a flat set


def _fail(path: Path, message: str) -> ServicebotError:
    return ServicebotError(f"{path}: {message}")


def _kinded(path: Path, data: dict) -> list[Item]:
    items: list[Item] = []
    for scope in (IN_SCOPE, OUT_OF_SCOPE):
        groups = data.get(scope) or {}
        if not isinstance(groups, dict):
            raise _fail(path, f"{scope} must map kind → questions")
        for kind, questions in groups.items():
            if scope == IN_SCOPE:
                if not isinstance(questions, dict):
                    raise _fail(path, f"{scope}.{kind} must map question → entry id")
                items += [Item(str(q), str(v), str(kind)) for q, v in questions.items()]
            else:
                if not isinstance(questions, list):
                    raise _fail(path, f"{scope}.{kind} must be a list of questions")
                items += [Item(str(q), None, str(kind)) for q in questions]
    unknown = set(data) - {IN_SCOPE, OUT_OF_SCOPE}
    if unknown:
        raise _fail(path, f"unknown top-level keys: {', '.join(sorted(map(str, unknown)))}")
    return items


def load_set(path: Path, faq: Faq | None = None) -> list[Item]:
    """A labelled set, flat or kinded; unknown entry ids are an error when `faq` is given."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ServicebotError(f"cannot read labelled set {path}: {exc}") from None
    if not isinstance(data, dict):
        raise _fail(path, "expected a mapping of question → entry id (or null), or in_scope/out_of_scope groups")
    if IN_SCOPE in data or OUT_OF_SCOPE in data:
        items = _kinded(path, data)
    else:
        items = [Item(str(q), None if v is None else str(v), "in" if v is not None else "out") for q, v in data.items()]
    if faq is not None:
        unknown = sorted({i.expected for i in items if i.expected is not None and i.expected not in faq.by_id})
        if unknown:
            raise _fail(path, f"unknown entry ids: {', '.join(unknown)}")
    return items


def load_labelled(path: Path, faq: Faq | None = None) -> list[tuple[str, str | None]]:
    """question → expected id pairs (None = out of scope), whatever the set's shape."""
    return [(i.question, i.expected) for i in load_set(path, faq)]


@dataclass(frozen=True)
class Figures:
    in_scope: int
    out_of_scope: int
    correct: int  # in-scope answered with the right entry
    wrong: int  # in-scope answered with a wrong entry
    suggested: int  # in-scope that fell to "suggest"
    rejected: int  # out-of-scope not answered
    off_suggested: int = 0  # out-of-scope offered "did you mean" choices

    @staticmethod
    def rate(part: int, whole: int) -> float:
        return 100.0 * part / whole if whole else 0.0

    @property
    def unanswered(self) -> int:
        """In-scope questions the matcher neither answered nor offered choices for."""
        return self.in_scope - self.correct - self.wrong - self.suggested

    @property
    def accuracy(self) -> float:
        return self.rate(self.correct, self.in_scope)

    @property
    def rejection(self) -> float:
        return self.rate(self.rejected, self.out_of_scope)

    @property
    def off_answered(self) -> float:
        return 100.0 - self.rejection if self.out_of_scope else 0.0

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
    kind: str = ALL


def _figures(items: Sequence[Item], matches: Sequence[Match]) -> tuple[Figures, list[Miss]]:
    counts = dict(correct=0, wrong=0, suggested=0, rejected=0, off_suggested=0)
    misses = []
    for item, m in zip(items, matches, strict=True):
        if item.expected is None:
            if m.status != Status.ANSWERED:
                counts["rejected"] += 1
                counts["off_suggested"] += m.status == Status.SUGGEST
                if m.status != Status.SUGGEST:
                    continue
        elif m.status == Status.ANSWERED and m.entry_id == item.expected:
            counts["correct"] += 1
            continue
        elif m.status == Status.ANSWERED:
            counts["wrong"] += 1
        elif m.status == Status.SUGGEST:
            counts["suggested"] += 1
        got = m.entry_id or (m.candidates[0].entry_id if m.candidates else None)
        misses.append(Miss(item.question, item.expected, m.status, got, m.score, item.kind))
    in_scope = sum(1 for i in items if i.expected is not None)
    return Figures(in_scope, len(items) - in_scope, **counts), misses


class NaiveBaseline:
    """extractOne(question, all phrasings, scorer=WRatio) with a score cutoff."""

    def __init__(self, faq: Faq):
        self.owners = [e.id for e in faq.entries for _ in e.phrasings]
        self.choices = [p for e in faq.entries for p in e.phrasings]

    def best(self, question: str) -> tuple[str, float]:
        _, score, i = process.extractOne(question, self.choices, scorer=fuzz.WRatio)
        return self.owners[i], score

    def figures(self, labelled: Sequence[tuple[str, str | None]], cutoff: float, bests=None) -> Figures:
        bests = bests or [self.best(q) for q, _ in labelled]
        correct = wrong = rejected = 0
        for (_, expected), (got, score) in zip(labelled, bests, strict=True):
            answered = score >= cutoff
            if expected is None:
                rejected += not answered
            elif answered:
                correct += got == expected
                wrong += got != expected
        in_scope = sum(1 for _, e in labelled if e is not None)
        return Figures(in_scope, len(labelled) - in_scope, correct, wrong, suggested=0, rejected=rejected)

    def best_cutoff(
        self, labelled: Sequence[tuple[str, str | None]], bests: Sequence[tuple[str, float]]
    ) -> tuple[float, Figures]:
        """The cutoff that maximises the mean of in-scope accuracy and out-of-scope rejection."""
        options = [(c, self.figures(labelled, c, bests)) for c in range(0, 101, 5)]
        return max(options, key=lambda cf: (cf[1].accuracy + cf[1].rejection, -cf[0]))


@dataclass(frozen=True)
class KindFigures:
    kind: str
    ours: Figures
    naive: Figures


@dataclass(frozen=True)
class Evaluation:
    """One run over one set: totals and per-kind figures for ours and the naive baseline."""

    total: KindFigures
    kinds: tuple[KindFigures, ...]
    cutoff: float  # the naive baseline's best cutoff on the whole set
    misses: tuple[Miss, ...]


def run(index: Index, items: Sequence[Item], match: Callable[[str], Match] | None = None) -> Evaluation:
    """Score a set with our matcher and the naive baseline (at its best cutoff on this set)."""
    match = match or index.match
    matches = [match(i.question) for i in items]
    naive = NaiveBaseline(index.faq)
    pairs = [(i.question, i.expected) for i in items]
    bests = [naive.best(q) for q, _ in pairs]
    cutoff, naive_total = naive.best_cutoff(pairs, bests)
    ours_total, misses = _figures(items, matches)
    kinds = []
    for kind in dict.fromkeys(i.kind for i in items):
        at = [k for k, i in enumerate(items) if i.kind == kind]
        ours, _ = _figures([items[k] for k in at], [matches[k] for k in at])
        theirs = naive.figures([pairs[k] for k in at], cutoff, [bests[k] for k in at])
        kinds.append(KindFigures(kind, ours, theirs))
    return Evaluation(KindFigures(ALL, ours_total, naive_total), tuple(kinds), cutoff, tuple(misses))


def _columns(rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows]


def _pct(part: int, whole: int) -> str:
    return f"{Figures.rate(part, whole):.1f}%" if whole else "–"


def kind_lines(evaluation: Evaluation) -> list[str]:
    """One row per kind: in-scope right / wrong / suggested / unanswered, off-topic answered
    and offered choices; each 'ours (naive)'."""
    head = ("kind", "n", "right", "wrong", "suggested", "unanswered", "off-topic answered", "off-topic suggested")
    rows = [head]
    shown = evaluation.kinds if len(evaluation.kinds) == 1 else (*evaluation.kinds, evaluation.total)
    for kf in shown:
        o, n = kf.ours, kf.naive
        if o.in_scope:
            scope_cells = (
                f"{_pct(o.correct, o.in_scope)} ({_pct(n.correct, n.in_scope)})",
                f"{_pct(o.wrong, o.in_scope)} ({_pct(n.wrong, n.in_scope)})",
                _pct(o.suggested, o.in_scope),
                f"{_pct(o.unanswered, o.in_scope)} ({_pct(n.in_scope - n.correct - n.wrong, n.in_scope)})",
            )
        else:
            scope_cells = ("", "", "", "")
        if o.out_of_scope:
            off_cells = (
                f"{_pct(o.out_of_scope - o.rejected, o.out_of_scope)} "
                f"({_pct(n.out_of_scope - n.rejected, n.out_of_scope)})",
                _pct(o.off_suggested, o.out_of_scope),
            )
        else:
            off_cells = ("", "")
        rows.append((kf.kind, str(o.in_scope + o.out_of_scope), *scope_cells, *off_cells))
    return _columns(rows)
