"""The review report: what residents needed, by subject, ranked for action.

Each group gathers the questions on one subject that the bot did not answer outright (it said
it could not, offered "did you mean", sent the resident elsewhere) or that residents handed to
staff: how many residents asked, when, what the bot did, how that compares with the period
before, and the nearest FAQ entry. A group is then marked with what to do about it: nothing
(the FAQ answers it now), add its wordings to a near entry, write where to go (another body's
matter), or write a new entry. Groups that need doing come first, the most residents first.
The report also counts the top subjects week by week (for the chart) and lists the answers
residents rated 👎.

With `--suggest-yaml`, each group gets a snippet (`drafting`), tried on the FAQ first
(`trial`). A staff reply marked 加入问答 in a hand-off ticket joins the group of the question
it answered, or the group of its subject, or becomes a group of its own.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path

from servicebot.faq import Faq, RegressionCase
from servicebot.faq.freshness import office_today
from servicebot.matching import Candidate, Index, Match
from servicebot.records import ASKED, Status, Via
from servicebot.review import trial
from servicebot.review.clustering import (
    MAX_EXAMPLES,
    MAX_WORDINGS,
    Subjects,
    Tally,
    count_by_subject,
    display_text,
    group_by_subject,
    read_subjects,
)
from servicebot.review.drafting import SnippetWriter, Suggestion
from servicebot.review.items import UnlistedItem, unlisted_items
from servicebot.review.period import Period
from servicebot.review.subjects import Fold, Knowledge, lexicon_folds, referral_folds
from servicebot.storage import CHINA_TZ, DayCounts, LogReader, QuestionRow, RatedRow
from servicebot.storage.tickets import StaffAnswer

VIA_LABELS: dict[Via, str] = {Via.TOPIC: "（从主题菜单点选）", Via.RELATED: "（从相关条目点选）"}
CHART_WEEKS = 8  # the chart shows this many weeks, the last ending with the report
CHART_SUBJECTS = 8  # ... for this many subjects, the report's biggest
NEAR_WORDINGS = 5  # wordings of a group the matcher is asked about (the most asked ones)


class Action(StrEnum):
    """What a group asks of the staff who edit the FAQ, in the order they should look."""

    ADD_PHRASINGS = "faq-near"  # an entry is near: add the group's wordings to it
    REFERRAL = "referral"  # another body's matter: tell residents where to go
    NEW_ENTRY = "new-entry"  # nothing near: a new entry
    ANSWERED_NOW = "answered-now"  # the FAQ answers these questions now: nothing to do
    REFERRED = "referred"  # a matter of referrals.yaml, and the bot said where to go each time: nothing to do
    UNCLEAR = "unclear"  # the questions name no subject (怎么办理): nothing to add

    @property
    def needs_work(self) -> bool:
        return self not in (Action.ANSWERED_NOW, Action.REFERRED, Action.UNCLEAR)


@dataclass(frozen=True)
class Cluster:
    """One subject's questions in the period, and what to do about them."""

    rank: int
    subject: str  # "" for the questions that name no subject
    action: Action
    residents: int
    count: int
    unanswered: int  # the bot said it could not answer (its fallback)
    suggest: int  # the bot offered "did you mean"
    referred: int  # the bot said where to go instead
    handed_off: int  # the resident handed the question to staff (转人工)
    first: dt.datetime
    last: dt.datetime
    before_residents: int  # in the period before, of equal length
    before_count: int
    examples: tuple[str, ...]
    wordings: tuple[str, ...]  # every distinct wording, most asked first (drafts use them)
    nearest_id: str | None
    nearest_question: str | None
    nearest_score: float
    near: bool  # the nearest entry is about this subject (its phrasings or keywords have the word)
    now: str  # what the current FAQ does with the most asked wordings (answered: with all of them)
    chosen: tuple[tuple[str, int], ...]  # suggestions residents tapped afterwards, most first
    rejected: int  # times residents pressed 都不是
    owner: str | None = None  # the entry these questions belong to (residents tapped it, or it nearly answered)
    owner_question: str = ""
    referral: str | None = None  # the matter of faq/referrals.yaml the subject belongs to
    kept_unanswered: tuple[RegressionCase, ...] = ()  # tests.yaml questions on this subject that stay unanswered
    suggestion: Suggestion | None = None
    staff_answer: StaffAnswer | None = None  # a staff reply marked 加入问答 for one of these questions
    staff_notes: tuple[StaffAnswer, ...] = ()  # other staff replies to these questions

    @property
    def trend(self) -> int:
        """Residents now, less residents in the period before."""
        return self.residents - self.before_residents


@dataclass(frozen=True)
class Weeks:
    """The top subjects, residents per week: the chart of what residents need."""

    ends: tuple[dt.datetime, ...]  # the end of each 7-day span, oldest first; the last is the report's end
    rows: tuple[tuple[str, tuple[int, ...]], ...]  # (subject, residents in each span), biggest first


@dataclass(frozen=True)
class Unhelpful:
    entry_id: str
    entry_question: str
    down: int
    up: int
    questions: tuple[tuple[str, int], ...]  # what residents asked before the 👎, most first
    last: dt.datetime


@dataclass(frozen=True)
class ReviewReport:
    period: Period
    before: Period  # the period of equal length just before, for the trend
    generated: dt.datetime
    totals: dict[str, int]
    daily: tuple[DayCounts, ...]
    clusters: tuple[Cluster, ...]
    unhelpful: tuple[Unhelpful, ...]
    suggest_yaml: bool
    weeks: Weeks = Weeks((), ())
    unlisted_items: tuple[UnlistedItem, ...] = ()


def faq_knowledge(index: Index, folds: Iterable[Fold] = ()) -> Knowledge:
    """What the review knows about words from the FAQ (its Normalizer with the synonyms, its
    terms and keywords), plus `folds` from other sources (`subjects.referral_folds`, …)."""
    keywords = [k for e in index.faq.entries for k in e.keywords]
    return Knowledge.build(
        index.normalize, terms=index.segmenter.terms, subjects=keywords, folds=folds, segmenter=index.segmenter
    )


def related_words(index: Index, questions: Iterable[str]) -> dict[str, list[tuple[str, float]]]:
    """Each word of these questions that the lexicon relates to one of the FAQ's words, as the
    matcher reads it (`Known.RELATED`), with that word and how near it is."""
    related: dict[str, list[tuple[str, float]]] = {}
    for question in dict.fromkeys(questions):
        for term in index.read(question).terms:
            if term.related:
                related.setdefault(term.word, []).append((term.related, term.similarity))
    return related


def _followups(reader: LogReader, period: Period) -> dict[str, Counter]:
    """origin ref → what the resident did next (tapped entry id, or Via.NONE)."""
    after: dict[str, Counter] = defaultdict(Counter)
    for row in reader.followups(period.since, period.until):
        after[row.origin_ref][row.entry_id if row.via == Via.SUGGESTION else Via.NONE] += 1
    return after


def _nearest(wordings: Sequence[str], subject: str, index: Index, match_text: Callable[[str], Match]):
    """The entry the matcher finds nearest to the group's most asked wordings (on the subject
    first), and whether that entry is about the group's subject: one of its phrasings or
    keywords has the subject word (a 养老保险 entry is near 医保 questions in words only)."""
    found = [c for m in map(match_text, wordings[:NEAR_WORDINGS]) for c in m.candidates[:1]]
    about = [c for c in found if subject and subject in index.texts[index.position[c.entry_id]]]
    best = max(about or found, key=lambda c: (c.on_subject, c.score), default=None)
    return best, bool(about)


def _owner(
    chosen: tuple[tuple[str, int], ...], rejected: int, near: Candidate | None, about: bool, answer_at: float
) -> str | None:
    """The entry the group's questions belong to, when the log or the matcher gives evidence.

    Residents tapping one of the suggestions is the best evidence. Without a tap, only a
    nearest entry about the group's subject that the matcher would answer with (it lost on
    margin) qualifies: a "did you mean" near miss shares words, not meaning, as often as not
    (驾照怎么考 → 物业考核, 医保怎么交 → 养老保险怎么交).
    """
    if chosen:
        return chosen[0][0]
    if about and near is not None and rejected == 0 and near.score >= answer_at:
        return near.entry_id
    return None


def _action(tally: Tally, now: str, owner: str | None, kept: bool) -> Action:
    if not tally.subject:
        return Action.UNCLEAR
    if now == Status.ANSWERED and not tally.statuses[Status.ANSWERED]:
        return Action.ANSWERED_NOW  # (an answer that made the resident ask for a person is no answer)
    if tally.referral and tally.statuses[Status.REFERRAL] == tally.count and not tally.handed_off:
        return Action.REFERRED
    if tally.referral or tally.statuses[Status.REFERRAL]:
        return Action.REFERRAL
    if owner:
        return Action.ADD_PHRASINGS
    return Action.REFERRAL if kept else Action.NEW_ENTRY


@dataclass(frozen=True)
class _Context:
    index: Index
    match_text: Callable[[str], Match]
    after: dict[str, Counter]
    before: dict[str, tuple[int, int]]  # subject → (residents, questions) in the period before
    kept: dict[str, tuple[RegressionCase, ...]]  # subject → tests.yaml questions that stay unanswered
    answer_at: float  # the answer threshold: a near entry scoring this would have answered


def _cluster(tally: Tally, ctx: _Context) -> Cluster:
    wordings = tally.examples(MAX_WORDINGS)
    statuses = [ctx.match_text(w).status for w in wordings[:MAX_EXAMPLES]]
    missed = [status for status in statuses if status != Status.ANSWERED]
    now = missed[0] if missed else Status.ANSWERED
    # Where the FAQ does not answer yet (an answer that sent the resident to staff did not help).
    unanswered = [w for w in wordings if ctx.match_text(w).status != Status.ANSWERED] or wordings
    near, about = _nearest(unanswered, tally.subject, ctx.index, ctx.match_text)
    next_steps: Counter = Counter()
    for ref in tally.refs:
        next_steps.update(ctx.after.get(ref, ()))
    rejected = next_steps.pop(Via.NONE, 0)
    chosen = tuple(sorted(next_steps.items(), key=lambda kv: (-kv[1], kv[0])))
    kept = ctx.kept.get(tally.subject, ())
    owner = _owner(chosen, rejected, near, about, ctx.answer_at)
    before_residents, before_count = ctx.before.get(tally.subject, (0, 0))
    assert tally.first is not None and tally.last is not None
    return Cluster(
        rank=0,
        subject=tally.subject,
        action=_action(tally, now, owner, bool(kept)),
        residents=len(tally.residents),
        count=tally.count,
        unanswered=tally.statuses[Status.UNANSWERED],
        suggest=tally.statuses[Status.SUGGEST],
        referred=tally.statuses[Status.REFERRAL],
        handed_off=tally.handed_off,
        first=tally.first,
        last=tally.last,
        before_residents=before_residents,
        before_count=before_count,
        examples=wordings[:MAX_EXAMPLES],
        wordings=wordings,
        nearest_id=near.entry_id if near else None,
        nearest_question=ctx.index.faq.by_id[near.entry_id].question if near else None,
        nearest_score=near.score if near else 0.0,
        near=about,
        now=now,
        chosen=chosen,
        rejected=rejected,
        owner=owner,
        owner_question=ctx.index.faq.by_id[owner].question if owner in ctx.index.faq.by_id else "",
        referral=tally.referral,
        kept_unanswered=kept,
    )


def _with_staff(
    tallies: list[Tally], staff: Sequence[StaffAnswer], subjects: Subjects
) -> tuple[dict[int, StaffAnswer], dict[int, list[StaffAnswer]]]:
    """Each group's staff replies (marked 加入问答, and others); a marked reply whose question is in
    no group joins the group of its subject, or starts one."""
    by_ref = {ref: n for n, tally in enumerate(tallies) for ref in tally.refs}
    by_subject = {tally.subject: n for n, tally in enumerate(tallies)}
    marked: dict[int, StaffAnswer] = {}
    notes: dict[int, list[StaffAnswer]] = defaultdict(list)
    for answer in staff:
        n = by_ref.get(answer.ref or "")
        if n is None and answer.marked and answer.question:
            name = subjects.name(answer.question)
            n = by_subject.get(name)
            if n is None:
                tally = Tally(subject=name)
                row = QuestionRow(answer.ref or f"ticket:{answer.ticket}", answer.at, None, answer.question, None)
                tally.add_row(row, subjects.normalize(answer.question))
                tallies.append(tally)
                n = by_subject[name] = len(tallies) - 1
        if n is None:
            continue
        if answer.marked and (n not in marked or answer.at > marked[n].at):
            marked[n] = answer
        elif not answer.marked:
            notes[n].append(answer)
    return marked, notes


def _ranked(clusters: list[Cluster]) -> list[Cluster]:
    """Groups that need doing first, then the most residents, most questions, latest."""
    ordered = sorted(
        clusters,
        key=lambda c: (not c.action.needs_work, -c.residents, -c.count, -c.last.timestamp(), c.subject),
    )
    return [replace(c, rank=n) for n, c in enumerate(ordered, 1)]


def _weeks(rows: Sequence[QuestionRow], subjects: Subjects, top: Sequence[str], until: dt.datetime, n: int) -> Weeks:
    ends = tuple(until - dt.timedelta(weeks=n - 1 - k) for k in range(n))
    seen: dict[tuple[str, int], set[str]] = defaultdict(set)
    start = ends[0] - dt.timedelta(weeks=1)
    for row in rows:
        if start <= row.at < until:
            week = min(int((row.at - start) / dt.timedelta(weeks=1)), n - 1)
            if row.resident:
                seen[(subjects.name(row.question), week)].add(row.resident)
    return Weeks(ends, tuple((s, tuple(len(seen[(s, k)]) for k in range(n))) for s in top))


def build_review(
    reader: LogReader,
    index: Index,
    period: Period,
    *,
    answer_threshold: float,
    suggest_yaml: bool = False,
    faq_dir: Path | None = None,
    today: dt.date | None = None,
    staff_answers: Iterable[StaffAnswer] = (),
    knowledge: Knowledge | None = None,
    weeks: int = CHART_WEEKS,
) -> ReviewReport:
    faq = index.faq
    match_text = functools.lru_cache(maxsize=None)(index.match)  # the snippets ask again about the same texts
    span = period.until - period.since
    before = Period(period.since - span, period.since)
    start = min(before.since, period.until - dt.timedelta(weeks=weeks))
    rows = reader.question_rows(start, period.until)
    # The word knowledge: the FAQ's, the matters of faq/referrals.yaml, and the matcher's lexicon
    # for the words these questions use that the FAQ does not (医疗保险 → 医保, 截肢 → 残疾).
    knowledge = knowledge or faq_knowledge(
        index, [*referral_folds(faq.referrals), *lexicon_folds(related_words(index, (r.question for r in rows)))]
    )
    current = [r for r in rows if r.at >= period.since]
    subjects = read_subjects((r.question for r in current), knowledge)
    tallies = group_by_subject(current, subjects)
    marked, notes = _with_staff(tallies, list(staff_answers), subjects)
    kept: dict[str, list[RegressionCase]] = defaultdict(list)
    for case in faq.tests:
        if case.expect == Status.UNANSWERED:
            kept[subjects.name(case.question)].append(case)
    ctx = _Context(
        index,
        match_text,
        _followups(reader, period),
        count_by_subject((r for r in rows if before.since <= r.at < before.until), subjects),
        {name: tuple(cases) for name, cases in kept.items()},
        answer_threshold,
    )
    clusters = [
        replace(_cluster(tally, ctx), staff_answer=marked.get(n), staff_notes=tuple(notes.get(n, ())))
        for n, tally in enumerate(tallies)
    ]
    clusters = _ranked(clusters)
    if suggest_yaml:
        today = today or office_today()
        writer = SnippetWriter(index, faq_dir, today, match_text)
        # a group that needs nothing gets no draft, unless staff marked a reply to it 加入问答
        wanted = [c.action.needs_work or c.staff_answer is not None for c in clusters]
        plans = trial.verify(index, [writer.plan(c) if w else None for c, w in zip(clusters, wanted)], today)
        clusters = [replace(c, suggestion=writer.render(p) if p else None) for c, p in zip(clusters, plans)]
    top = [c.subject for c in clusters if c.subject][:CHART_SUBJECTS]
    return ReviewReport(
        period=period,
        before=before,
        generated=dt.datetime.now(CHINA_TZ),
        totals=reader.totals(period.since, period.until),
        daily=tuple(reader.daily(period.since, period.until)),
        clusters=tuple(clusters),
        unhelpful=tuple(unhelpful_answers(reader.rated(period.since, period.until), faq)),
        suggest_yaml=suggest_yaml,
        weeks=_weeks(rows, subjects, top, period.until, weeks),
        unlisted_items=unlisted_items(reader, period, faq),
    )


def unhelpful_answers(rated: Iterable[RatedRow], faq: Faq) -> list[Unhelpful]:
    """Entries that got 👎, most 👎 first, with the questions that led to them."""
    down: dict[str, Counter] = defaultdict(Counter)
    up: Counter = Counter()
    last: dict[str, dt.datetime] = {}
    for row in rated:
        entry_id = row.entry_id or "?"
        if row.positive:
            up[entry_id] += 1
            continue
        asked = (
            display_text(row.question) if row.via in (*ASKED, Via.SUGGESTION) else VIA_LABELS.get(row.via, row.question)
        )
        down[entry_id][asked] += 1
        last[entry_id] = max(last.get(entry_id, row.at), row.at)
    rows = [
        Unhelpful(
            entry_id,
            faq.by_id[entry_id].question if entry_id in faq.by_id else "（条目已删除）",
            sum(asked.values()),
            up[entry_id],
            tuple(sorted(asked.items(), key=lambda kv: (-kv[1], kv[0]))[:MAX_EXAMPLES]),
            last[entry_id],
        )
        for entry_id, asked in down.items()
    ]
    return sorted(rows, key=lambda r: (-r.down, r.up, r.entry_id))
