"""`servicebot stats`: questions per day, answer rates, feedback and the most used entries."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from servicebot.faq import Faq
from servicebot.faq.freshness import to_verify, verify_lines
from servicebot.records import Status
from servicebot.review.period import Period, iso
from servicebot.review.render import percent, summary_line
from servicebot.review.tables import table
from servicebot.storage import DayCounts, LogReader

TOP_ENTRIES = 10
# The outcomes `stats --json` gives a rate for (referrals and items apart from the FAQ's answers).
RATED = (Status.ANSWERED, Status.SUGGEST, Status.UNANSWERED, Status.REFERRAL, Status.ITEM)
# What to do next (str.format templates).
NEXT_MISSED = "下一步：有 {missed} 个问题没有直接答上，运行 servicebot review 看看居民问的是什么事、该补充哪些问答"
NEXT_UNHELPFUL = "居民点了 {down} 次 👎：servicebot review 列出了是哪些回答、居民当时问的是什么"
NEXT_ITEMS = (
    "居民问了 {unlisted} 次垃圾分类清单里没有的物品：servicebot review 列出了是哪些，补充到 faq/garbage-items.yaml"
)
NEXT_NOTHING = "下一步：这段时间的问题都直接答上了，没有要补充的。"


@dataclass(frozen=True)
class StatsReport:
    period: Period
    totals: dict[str, int]
    daily: tuple[DayCounts, ...]
    top: tuple[tuple[str, str, int, int], ...]  # entry id, its question, answered, tapped
    helpful: int
    unhelpful: int
    faq: Faq | None = None  # for the entries staff marked 待核实


def build_stats(reader: LogReader, period: Period, faq: Faq | None) -> StatsReport:
    daily = tuple(reader.daily(period.since, period.until))
    names = faq.by_id if faq else {}
    top = tuple(
        (row.entry_id, names[row.entry_id].question if row.entry_id in names else "", row.answered, row.tapped)
        for row in reader.entry_counts(period.since, period.until, TOP_ENTRIES)
    )
    return StatsReport(
        period,
        reader.totals(period.since, period.until),
        daily,
        top,
        sum(d.helpful for d in daily),
        sum(d.unhelpful for d in daily),
        faq,
    )


def stats_dict(report: StatsReport) -> dict:
    n = report.totals["questions"]
    rated = report.helpful + report.unhelpful
    return {
        "period": {"since": iso(report.period.since), "until": iso(report.period.until), "timezone": "UTC+8"},
        "totals": report.totals,
        "rates": {k: round(report.totals[k] / n, 4) if n else None for k in RATED},
        "feedback": {
            "helpful": report.helpful,
            "unhelpful": report.unhelpful,
            "helpful_ratio": round(report.helpful / rated, 4) if rated else None,
        },
        "daily": [{**asdict(d), "day": d.day.isoformat()} for d in report.daily],
        "top_entries": [{"entry_id": e, "question": q, "answered": a, "tapped": t} for e, q, a, t in report.top],
        "to_verify": [
            {"entry_id": e.id, "question": e.question, "verify": e.verify, "file": e.file, "line": e.line}
            for e in (to_verify(report.faq) if report.faq else [])
        ],
    }


def render_stats(report: StatsReport) -> str:
    t = report.totals
    rated = report.helpful + report.unhelpful
    lines = [
        "凤凰办事处问答机器人 · 使用统计",
        f"时间范围：{report.period.label}",
        summary_line(t),
        f"按钮点选 {t['taps']} 次；居民对建议选“都不是” {t['none_of_these']} 次",
        f"评价：👍 {report.helpful} 次，👎 {report.unhelpful} 次（好评率 {percent(report.helpful, rated)}）",
        "",
        "每日：",
    ]
    rows = [
        [
            f"{d.day:%Y-%m-%d}",
            str(d.total),
            percent(d.answered, d.total),
            percent(d.suggest, d.total),
            percent(d.unanswered, d.total),
            percent(d.referral, d.total),
            str(d.taps),
            str(d.helpful),
            str(d.unhelpful),
        ]
        for d in report.daily
    ]
    lines += (
        table(
            ["日期", "提问", "直接回答", "给出建议", "未能回答", "转介部门", "点选", "👍", "👎"],
            rows,
            [10, 7, 8, 8, 8, 8, 6, 5, 5],
            [False] + [True] * 8,
        )
        if rows
        else ["（没有记录）"]
    )
    lines += ["", f"最常用的条目（前 {TOP_ENTRIES} 个）："]
    rows = [[str(n), e, q, str(a), str(tp)] for n, (e, q, a, tp) in enumerate(report.top, 1)]
    lines += (
        table(
            ["排名", "条目", "标准问题", "直接回答", "点选"], rows, [4, 34, 40, 8, 6], [True, False, False, True, True]
        )
        if rows
        else ["（没有记录）"]
    )
    marked = verify_lines(report.faq)
    if marked:
        lines += ["", *marked]
    return "\n".join([*lines, "", *next_lines(report)]) + "\n"


def next_lines(report: StatsReport) -> list[str]:
    missed = report.totals["unanswered"] + report.totals["suggest"]
    lines = [NEXT_MISSED.format(missed=missed)] if missed else []
    if report.unhelpful:
        lines.append(NEXT_UNHELPFUL.format(down=report.unhelpful))
    if report.totals.get("item_unlisted"):
        lines.append(NEXT_ITEMS.format(unlisted=report.totals["item_unlisted"]))
    return lines or [NEXT_NOTHING]
