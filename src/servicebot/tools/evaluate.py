"""Labelled question sets → accuracy figures, for our matcher and two baselines.

The sets and their shapes are read by `faq/labelled.py`.

Two baselines run on the same set in the same run: rapidfuzz `extractOne` with WRatio over
every phrasing (what the first version of this bot did), and BM25 over the characters and
character pairs of each entry's phrasings. Each is shown twice: at its best cutoff on the set
(as kind to it as possible), and held to our own off-topic answer rate (the cutoff that
answers no more off-topic questions than we do), so the comparison is at equal risk.
"""

from __future__ import annotations

import itertools
import math
import unicodedata
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple, Protocol

from rapidfuzz import fuzz, process

from servicebot.answering.service import Snapshot, route
from servicebot.answering.text import to_simplified
from servicebot.faq import Faq
from servicebot.faq.labelled import BINS, Item, ItemCase
from servicebot.matching import Index
from servicebot.privacy import mask_personal
from servicebot.records import Status

ALL = "all"


class Verdict(Protocol):
    """What the evaluation reads of one decision (a `Match`, or the service's outcome)."""

    @property
    def status(self) -> Status: ...
    @property
    def entry_id(self) -> str | None: ...
    @property
    def score(self) -> float: ...


@dataclass(frozen=True)
class Figures:
    in_scope: int
    out_of_scope: int
    correct: int  # in-scope answered with a right entry
    wrong: int  # in-scope answered with a wrong entry
    suggested: int  # in-scope that fell to "suggest"
    rejected: int  # out-of-scope not answered
    off_suggested: int = 0  # out-of-scope offered "did you mean" choices
    referred: int = 0  # out-of-scope told where to go (a referral)
    to_refer: int = 0  # out-of-scope questions another body handles (goes_to set)

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

    @property
    def referral_rate(self) -> float:
        return self.rate(self.referred, self.to_refer)


@dataclass(frozen=True)
class Miss:
    question: str
    expected: frozenset[str]
    status: Status
    got: str | None
    score: float
    kinds: tuple[str, ...] = (ALL,)


def _figures(items: Sequence[Item], verdicts: Sequence[Verdict]) -> tuple[Figures, list[Miss]]:
    counts = dict.fromkeys(("correct", "wrong", "suggested", "rejected", "off_suggested", "referred", "to_refer"), 0)
    misses = []
    for item, v in zip(items, verdicts, strict=True):
        answered = v.status == Status.ANSWERED
        if not item.in_scope:
            counts["to_refer"] += bool(item.goes_to)
            counts["referred"] += bool(item.goes_to) and v.status == Status.REFERRAL
            if not answered:
                counts["rejected"] += 1
                counts["off_suggested"] += v.status == Status.SUGGEST
                if v.status != Status.SUGGEST:
                    continue
        elif answered and (v.entry_id in item.expected or item.expected & getattr(v, "also", frozenset())):
            counts["correct"] += 1
            continue
        elif answered:
            counts["wrong"] += 1
        elif v.status == Status.SUGGEST:
            counts["suggested"] += 1
        misses.append(Miss(item.question, item.expected, v.status, v.entry_id, v.score, item.kinds))
    in_scope = sum(1 for i in items if i.in_scope)
    return Figures(in_scope, len(items) - in_scope, **counts), misses


class _Best(NamedTuple):
    status: Status
    entry_id: str | None
    score: float


class Baseline:
    """A scorer that names its best entry and a score; answers when the score clears a cutoff."""

    name = "baseline"

    def best(self, question: str) -> tuple[str, float]:
        raise NotImplementedError

    @staticmethod
    def at(bests: Sequence[tuple[str, float]], cutoff: float) -> list[_Best]:
        return [_Best(Status.ANSWERED if s >= cutoff else Status.UNANSWERED, e, s) for e, s in bests]

    def cutoffs(self, bests: Sequence[tuple[str, float]]) -> list[float]:
        """Every cutoff that changes an outcome: each score seen, and one above them all."""
        return sorted({s for _, s in bests} | {math.inf})

    def best_cutoff(self, items: Sequence[Item], bests: Sequence[tuple[str, float]]) -> float:
        """The cutoff that maximises the mean of in-scope accuracy and out-of-scope rejection."""

        def merit(cutoff: float) -> tuple[float, float]:
            f, _ = _figures(items, self.at(bests, cutoff))
            return f.accuracy + f.rejection, cutoff

        return max(self.cutoffs(bests), key=merit)

    def held_cutoff(self, items: Sequence[Item], bests: Sequence[tuple[str, float]], off_answered: float) -> float:
        """The lowest cutoff that answers no larger share of off-topic questions than `off_answered`."""
        for cutoff in self.cutoffs(bests):
            f, _ = _figures(items, self.at(bests, cutoff))
            if f.off_answered <= off_answered + 1e-9:
                return cutoff
        return math.inf


class NaiveBaseline(Baseline):
    """extractOne(question, all phrasings, scorer=WRatio) with a score cutoff."""

    name = "naive"

    def __init__(self, faq: Faq):
        self.owners = [e.id for e in faq.entries for _ in e.phrasings]
        self.choices = [p for e in faq.entries for p in e.phrasings]

    def best(self, question: str) -> tuple[str, float]:
        _, score, i = process.extractOne(question, self.choices, scorer=fuzz.WRatio)
        return self.owners[i], score


def _bm25_tokens(text: str) -> list[str]:
    chars = [c for c in to_simplified(unicodedata.normalize("NFKC", text)).casefold() if c.isalnum()]
    return chars + [a + b for a, b in itertools.pairwise(chars)]


class BM25Baseline(Baseline):
    """Okapi BM25 (k1 1.2, b 0.75) over characters and character pairs; one document per
    entry made of its question, alternates and keywords."""

    name = "bm25"
    K1, B = 1.2, 0.75

    def __init__(self, faq: Faq):
        self.ids = [e.id for e in faq.entries]
        self.docs = [Counter(_bm25_tokens(" ".join((*e.phrasings, *e.keywords)))) for e in faq.entries]
        self.lengths = [sum(d.values()) for d in self.docs]
        self.avg = sum(self.lengths) / max(len(self.docs), 1)
        df = Counter(t for d in self.docs for t in d)
        n = len(self.docs)
        self.idf = {t: math.log((n - k + 0.5) / (k + 0.5) + 1.0) for t, k in df.items()}

    def best(self, question: str) -> tuple[str, float]:
        query = set(_bm25_tokens(question))
        best, at = 0.0, 0
        for i, (doc, length) in enumerate(zip(self.docs, self.lengths, strict=True)):
            score = 0.0
            for t in query:
                tf = doc.get(t)
                if tf:
                    score += (
                        self.idf[t] * tf * (self.K1 + 1) / (tf + self.K1 * (1 - self.B + self.B * length / self.avg))
                    )
            if score > best:
                best, at = score, i
        return self.ids[at], round(best, 3)


@dataclass(frozen=True)
class BaselineFigures:
    """One baseline at its best cutoff and held to our off-topic answer rate."""

    best: Figures
    held: Figures


@dataclass(frozen=True)
class KindFigures:
    kind: str
    ours: Figures
    baselines: dict[str, BaselineFigures]

    @property
    def naive(self) -> Figures:
        return self.baselines["naive"].best


@dataclass(frozen=True)
class Evaluation:
    """One run over one set: totals and per-kind figures for ours and each baseline."""

    total: KindFigures
    kinds: tuple[KindFigures, ...]
    cutoffs: dict[str, tuple[float, float]]  # baseline → (best cutoff, held cutoff) on the whole set
    misses: tuple[Miss, ...] = field(repr=False)  # never printed by a failing assertion (see ItemFigures)

    @property
    def cutoff(self) -> float:
        return self.cutoffs["naive"][0]


def run(
    index: Index,
    items: Sequence[Item],
    decide: Callable[[str], Verdict] | None = None,
    baselines: Sequence[Baseline] | None = None,
) -> Evaluation:
    """Score a set with our matcher (or `decide`) and each baseline, on the same questions."""
    decide = decide or index.match
    verdicts = [decide(i.question) for i in items]
    baselines = baselines if baselines is not None else (NaiveBaseline(index.faq), BM25Baseline(index.faq))
    ours_total, misses = _figures(items, verdicts)
    scored = {}
    for b in baselines:
        bests = [b.best(i.question) for i in items]
        cuts = (b.best_cutoff(items, bests), b.held_cutoff(items, bests, ours_total.off_answered))
        scored[b.name] = (bests, cuts)

    def kind_figures(kind: str, at: list[int]) -> KindFigures:
        subset = [items[k] for k in at]
        ours, _ = _figures(subset, [verdicts[k] for k in at])
        theirs = {}
        for name, (bests, (best, held)) in scored.items():
            part = [bests[k] for k in at]
            theirs[name] = BaselineFigures(
                _figures(subset, Baseline.at(part, best))[0], _figures(subset, Baseline.at(part, held))[0]
            )
        return KindFigures(kind, ours, theirs)

    kinds = [
        kind_figures(kind, [k for k, i in enumerate(items) if kind in i.kinds])
        for kind in dict.fromkeys(k for i in items for k in i.kinds)
    ]
    total = kind_figures(ALL, list(range(len(items))))
    return Evaluation(total, tuple(kinds), {n: c for n, (_, c) in scored.items()}, tuple(misses))


class _BotVerdict(NamedTuple):
    status: Status
    entry_id: str | None
    score: float
    also: frozenset[str] = frozenset()  # entries the verdict answers as well (an item's bin's entry)


def run_bot(snap: Snapshot, items: Sequence[Item], baselines: Sequence[Baseline] | None = None) -> Evaluation:
    """Score a set the way the bot answers it (`service.route`): items, FAQ entries, referrals.

    An item's bin is an answer: it counts as right where the set expects the FAQ entry about
    that bin (旧报纸属于什么垃圾 → the entry on 可回收物); an unlisted item is no answer."""
    by_bin = {c: {e.id for e in snap.faq.entries if c in e.question} for c in BINS}

    def decide(question: str) -> Verdict:
        routed = route(snap, mask_personal(question))
        if routed.status == Status.ITEM and routed.item is not None and routed.item.found is not None:
            found = routed.item.found
            bins = set(found.categories)
            also = frozenset(e for b in bins for e in by_bin.get(b or "", ()))
            return _BotVerdict(Status.ANSWERED, routed.entry_id, routed.score, also)
        return routed

    return run(snap.index, items, decide, baselines)


# --- which bin: the items sets (tests/data/real/items-*.yaml) ------------------------------------


@dataclass(frozen=True)
class ItemFigures:
    """Everyday items asked about: sorted into the right bin, a wrong bin, honestly not listed, or missed."""

    total: int
    right: int
    wrong: int
    unlisted: int
    missed: int
    # question, expected bin, what the bot said; out of the repr, so that a failing assertion on a
    # held-out set's figures never prints its questions
    misses: tuple[tuple[str, str, str], ...] = field(repr=False)

    @property
    def right_rate(self) -> float:
        return Figures.rate(self.right, self.total)

    @property
    def wrong_rate(self) -> float:
        return Figures.rate(self.wrong, self.total)


def run_items(snap: Snapshot, items: Sequence[ItemCase]) -> ItemFigures:
    """Each question the way the bot answers it: an item's bin (or its cases), an FAQ entry about
    one bin, "not in the list", or something else. A depends-on-the-case item is right when the
    bot lists cases or names one of the bins; a bin is wrong only when it is not the expected one."""
    by_entry = {e.id: c for c in BINS for e in snap.faq.entries if c in e.question}
    counts = dict.fromkeys(("right", "wrong", "unlisted", "missed"), 0)
    misses = []
    for item in items:
        routed = route(snap, mask_personal(item.question))
        found = routed.item.found if routed.item is not None else None
        if found is not None:
            bins = set(found.categories)
            said = "/".join(sorted(b for b in bins if b))
        elif routed.status == Status.ITEM_UNLISTED:
            said = "unlisted"
        elif routed.status == Status.ANSWERED and routed.entry_id in by_entry:
            said = by_entry[routed.entry_id]
        else:
            said = str(routed.status)
        if said == "unlisted":
            outcome = "unlisted"
        elif said not in BINS and "/" not in said:
            outcome = "missed"
        elif item.bin == "depends" or item.bin in said.split("/"):
            outcome = "right"
        else:
            outcome = "wrong"
        counts[outcome] += 1
        if outcome != "right":
            misses.append((item.question, item.bin, said))
    return ItemFigures(len(items), **counts, misses=tuple(misses))


def _columns(rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows]


def _pct(part: int, whole: int) -> str:
    return f"{Figures.rate(part, whole):.1f}%" if whole else "–"


def kind_lines(evaluation: Evaluation) -> list[str]:
    """One row per kind: in-scope right / wrong / suggested / unanswered, off-topic answered
    and offered choices, referred; each 'ours (naive, bm25)' at the baselines' best cutoffs;
    then each baseline's in-scope right when held to our off-topic answer rate."""
    names = list(evaluation.total.baselines)
    head = ("kind", "n", "right", "wrong", "suggested", "unanswered", "off-topic answered", "off suggested", "referred")
    held_head = tuple(f"{n}@ours" for n in names)
    rows = [head + held_head]
    shown = evaluation.kinds if len(evaluation.kinds) == 1 else (*evaluation.kinds, evaluation.total)

    def both(ours: tuple[int, int], pick: Callable[[Figures], tuple[int, int]], kf: KindFigures) -> str:
        theirs = ", ".join(_pct(*pick(kf.baselines[n].best)) for n in names)
        return f"{_pct(*ours)} ({theirs})" if names else _pct(*ours)

    for kf in shown:
        o = kf.ours
        cells: list[str] = [kf.kind, str(o.in_scope + o.out_of_scope)]
        if o.in_scope:
            cells += [
                both((o.correct, o.in_scope), lambda f: (f.correct, f.in_scope), kf),
                both((o.wrong, o.in_scope), lambda f: (f.wrong, f.in_scope), kf),
                _pct(o.suggested, o.in_scope),
                _pct(o.unanswered, o.in_scope),
            ]
        else:
            cells += ["", "", "", ""]
        if o.out_of_scope:
            cells += [
                both(
                    (o.out_of_scope - o.rejected, o.out_of_scope),
                    lambda f: (f.out_of_scope - f.rejected, f.out_of_scope),
                    kf,
                ),
                _pct(o.off_suggested, o.out_of_scope),
                _pct(o.referred, o.to_refer) if o.to_refer else "",
            ]
        else:
            cells += ["", "", ""]
        cells += [
            _pct(kf.baselines[n].held.correct, kf.baselines[n].held.in_scope) if o.in_scope else "" for n in names
        ]
        rows.append(tuple(cells))
    return _columns(rows)
