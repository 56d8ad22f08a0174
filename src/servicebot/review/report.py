"""The review report: each group of questions with the nearest entry, what the current FAQ
does with it and what residents tapped next, plus the answers residents rated 👎.

With `--suggest-yaml`, a staff reply marked 加入问答 in a hand-off ticket joins the group of
the question it answered (by the question's interaction reference), or becomes a group of
its own, and is drafted as the answer of a new entry.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path

from servicebot.faq import Faq
from servicebot.matching import Index, Match
from servicebot.records import ASKED, Status, Via
from servicebot.review.clustering import MAX_EXAMPLES, Tally, display_text, group_questions
from servicebot.review.drafting import SnippetWriter, Suggestion
from servicebot.review.items import UnlistedItem, unlisted_items
from servicebot.review.period import Period
from servicebot.storage import CHINA_TZ, DayCounts, LogReader, RatedRow
from servicebot.storage.tickets import StaffAnswer

VIA_LABELS: dict[str, str] = {Via.TOPIC: "（从主题菜单点选）", Via.RELATED: "（从相关条目点选）"}


@dataclass(frozen=True)
class Cluster:
    rank: int
    residents: int
    count: int
    unanswered: int
    suggest: int
    first: dt.datetime
    last: dt.datetime
    examples: tuple[str, ...]
    nearest_id: str | None
    nearest_question: str | None
    nearest_score: float
    now: str  # what the current FAQ does with the top example
    chosen: tuple[tuple[str, int], ...]  # suggestions residents tapped afterwards, most first
    rejected: int  # times residents pressed 都不是
    suggestion: Suggestion | None = None
    staff_answer: StaffAnswer | None = None  # a staff reply marked 加入问答 for one of these questions


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
    generated: dt.datetime
    totals: dict[str, int]
    daily: tuple[DayCounts, ...]
    clusters: tuple[Cluster, ...]
    unhelpful: tuple[Unhelpful, ...]
    suggest_yaml: bool
    unlisted_items: tuple[UnlistedItem, ...] = ()


def _followups(reader: LogReader, period: Period) -> dict[str, Counter]:
    """origin ref → what the resident did next (tapped entry id, or Via.NONE)."""
    after: dict[str, Counter] = defaultdict(Counter)
    for origin, via, entry_id in reader.followups(period.since, period.until):
        after[origin][entry_id if via == Via.SUGGESTION else Via.NONE] += 1
    return after


def _cluster(
    rank: int, tally: Tally, index: Index, match_text: Callable[[str], Match], after: dict[str, Counter]
) -> Cluster:
    examples = tally.examples()
    match = match_text(examples[0])
    top = match.candidates[0] if match.candidates else None
    next_steps: Counter = Counter()
    for ref in tally.refs:
        next_steps.update(after.get(ref, ()))
    rejected = next_steps.pop(Via.NONE, 0)
    assert tally.first is not None and tally.last is not None
    return Cluster(
        rank=rank,
        residents=len(tally.residents),
        count=tally.count,
        unanswered=tally.statuses[Status.UNANSWERED],
        suggest=tally.statuses[Status.SUGGEST],
        first=tally.first,
        last=tally.last,
        examples=examples,
        nearest_id=top.entry_id if top else None,
        nearest_question=index.faq.by_id[top.entry_id].question if top else None,
        nearest_score=top.score if top else 0.0,
        now=match.status,
        chosen=tuple(sorted(next_steps.items(), key=lambda kv: (-kv[1], kv[0]))),
        rejected=rejected,
    )


def _answered_by_staff(rank: int, answer: StaffAnswer, index: Index, match_text: Callable[[str], Match]) -> Cluster:
    """A group of its own for a ticket's question that is in no group of the period (the
    resident asked for a person after an answer, or the question is older)."""
    match = match_text(answer.question)
    top = match.candidates[0] if match.candidates else None
    return Cluster(
        rank=rank,
        residents=1,
        count=1,
        unanswered=0,
        suggest=0,
        first=answer.at,
        last=answer.at,
        examples=(answer.question,),
        nearest_id=top.entry_id if top else None,
        nearest_question=index.faq.by_id[top.entry_id].question if top else None,
        nearest_score=top.score if top else 0.0,
        now=match.status,
        chosen=(),
        rejected=0,
        staff_answer=answer,
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
) -> ReviewReport:
    faq = index.faq
    match_text = functools.lru_cache(maxsize=None)(index.match)  # the snippets ask again about the same texts
    groups = group_questions(reader.question_rows(period.since, period.until), index.normalize.many)
    after = _followups(reader, period)
    staff_answers = list(staff_answers)
    answers = {a.ref: a for a in staff_answers if a.ref}  # latest per ticket, oldest ticket first
    clusters = []
    for rank, tally in enumerate(groups, 1):
        found = [answers.pop(ref) for ref in tally.refs if ref in answers]
        cluster = _cluster(rank, tally, index, match_text, after)
        clusters.append(replace(cluster, staff_answer=max(found, key=lambda a: a.at)) if found else cluster)
    attached = {c.staff_answer.ticket for c in clusters if c.staff_answer}
    for answer in staff_answers:
        if answer.ticket not in attached and answer.question:
            clusters.append(_answered_by_staff(len(clusters) + 1, answer, index, match_text))
    if suggest_yaml:
        today = today or dt.datetime.now(CHINA_TZ).date()
        writer = SnippetWriter(index, answer_threshold, faq_dir, today, match_text)
        clusters = [replace(c, suggestion=writer.suggest(c)) for c in clusters]
    return ReviewReport(
        period=period,
        generated=dt.datetime.now(CHINA_TZ),
        totals=reader.totals(period.since, period.until),
        daily=tuple(reader.daily(period.since, period.until)),
        clusters=tuple(clusters),
        unhelpful=tuple(unhelpful_answers(reader.rated(period.since, period.until), faq)),
        suggest_yaml=suggest_yaml,
        unlisted_items=unlisted_items(reader, period, faq),
    )
