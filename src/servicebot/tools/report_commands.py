"""`servicebot review / stats / tickets`: what the interaction log says, as reports for staff,
and the wording of what these commands print (`staffdesk/tools.py` shows the same reports as
pages). `run_review`, `run_stats` and `run_tickets` take plain values, not parsed arguments.

`cli.py` imports this module only to run one of these commands (see `cli.command`); each
imports the review's modules in its own body.

    servicebot review --since 7d --format html -o review.html
    servicebot review --suggest-yaml -o drafts.yaml   # only the YAML to paste
    servicebot stats --since 30d --json
    servicebot tickets --open --format csv > tickets.csv
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import json
from pathlib import Path
from typing import TYPE_CHECKING

from servicebot.config import Settings
from servicebot.errors import ConfigError
from servicebot.faq import checks
from servicebot.storage import CHINA_TZ, LogReader
from servicebot.tools.output import echo, emit

if TYPE_CHECKING:
    from servicebot.storage.tickets import TicketRow

# What `review -o FILE` says once the file is written (str.format templates).
REVIEW_WRITTEN = "已写入 {path}：{groups} 组问题，{unhelpful} 个被点 👎 的回答。"
REVIEW_WRITTEN_CSV = (
    "已写入 {path}：{groups} 组问题，每组一行（被点 👎 的回答不在 CSV 里，请用 --format table 或 html 查看）。"
)
REVIEW_WRITTEN_YAML = (
    "已写入 {path}：{snippets} 段可以粘贴的 YAML"
    "（{alternates} 处给已有条目加问法，{drafts} 个新条目或转介事项的草稿）。"
)
REVIEW_NEXT = "下一步：{step}"
REVIEW_NEXT_YAML = (
    "下一步：按每段上方的注释粘贴到问答文件，运行 servicebot faq check faq/；"
    "草稿（draft: true）写好标着“待填写”的地方后删掉那一行，才会回答居民。"
)
YAML_ONLY = "-o {path} 以 .yaml 结尾，只会写入建议的 YAML；要 {fmt} 格式的报告，请换一个文件名（例如 review.{fmt}）"
YAML_SUFFIXES = (".yaml", ".yml")


def review(args: argparse.Namespace, settings: Settings) -> int:
    return run_review(settings, since=args.since, fmt=args.format, suggest_yaml=args.suggest_yaml, output=args.output)


def run_review(settings: Settings, *, since: str, fmt: str, suggest_yaml: bool, output: Path | None) -> int:
    """`servicebot review`: the report for the period, in the chosen format; `-o x.yaml` (or
    `--format yaml`) writes only the YAML to paste."""
    from servicebot.faq.freshness import verify_lines
    from servicebot.review.period import parse_period
    from servicebot.review.render import RENDERERS
    from servicebot.review.report import build_review

    if output is not None and output.suffix.lower() in YAML_SUFFIXES:
        if fmt not in ("table", "yaml"):
            raise ConfigError(YAML_ONLY.format(path=output, fmt=fmt))
        fmt = "yaml"
    suggest_yaml = suggest_yaml or fmt == "yaml"
    period = parse_period(since)
    _, index = checks.build_snapshot(settings)
    reader = LogReader(settings.db_path)
    report = build_review(
        reader,
        index,
        period,
        answer_threshold=settings.answer_threshold,
        suggest_yaml=suggest_yaml,
        faq_dir=settings.faq_dir,
        staff_answers=_staff_answers(settings, period.since, period.until) if suggest_yaml else (),
    )
    text = RENDERERS[fmt](report)
    if fmt == "table" and (marked := verify_lines(index.faq)):
        text += "\n" + "\n".join(marked) + "\n"
    emit(text, output, bom=fmt == "csv")
    if output is not None:
        print(_written(report, output, fmt))
    return 0


def _written(report, output: Path, fmt: str) -> str:
    """What was written, and what to do next."""
    from servicebot.review.render import next_steps

    if fmt == "yaml":
        shown = [c.suggestion for c in report.clusters if c.suggestion is not None]
        drafts = sum(s.draft for s in shown)
        said = REVIEW_WRITTEN_YAML.format(
            path=output, snippets=len(shown), alternates=len(shown) - drafts, drafts=drafts
        )
        return said + "\n" + REVIEW_NEXT_YAML
    if fmt == "csv":
        said = REVIEW_WRITTEN_CSV.format(path=output, groups=len(report.clusters))
    else:
        said = REVIEW_WRITTEN.format(path=output, groups=len(report.clusters), unhelpful=len(report.unhelpful))
    first = next_steps(report)[0]
    return said + "\n" + REVIEW_NEXT.format(step=first.split(". ", 1)[-1])


def _staff_answers(settings: Settings, since: dt.datetime, until: dt.datetime | None) -> list:
    """Staff replies in the period's tickets, marked 加入问答 or not (none when there is no log yet)."""
    from servicebot.storage.ticket_store import TicketStore

    if not settings.db_path.is_file():
        return []
    store = TicketStore(settings.db_path, create=False)
    try:
        return store.staff_answers(since, until, unmarked=True)
    finally:
        store.close()


def stats(args: argparse.Namespace, settings: Settings) -> int:
    return run_stats(settings, since=args.since, as_json=args.json)


def run_stats(settings: Settings, *, since: str, as_json: bool) -> int:
    """`servicebot stats`: usage numbers; entry questions are shown when the FAQ loads."""
    from servicebot.review.period import parse_period
    from servicebot.review.stats import build_stats, render_stats, stats_dict

    period = parse_period(since)
    faq, _ = checks.validate(settings.faq_dir, settings)
    report = build_stats(LogReader(settings.db_path), period, faq)
    emit(json.dumps(stats_dict(report), ensure_ascii=False, indent=2) + "\n" if as_json else render_stats(report), None)
    return 0


# --- hand-off tickets --------------------------------------------------------------------------

TICKET_HEADERS = ["编号", "开始时间", "多久前", "渠道", "状态", "工作人员回复", "问题"]
NO_TICKETS = "没有人工咨询。"
NO_OPEN_TICKETS = "没有未结束的人工咨询。"


def tickets(args: argparse.Namespace, settings: Settings) -> int:
    return run_tickets(settings, open_only=args.open, fmt=args.format)


def run_tickets(settings: Settings, *, open_only: bool, fmt: str) -> int:
    """`servicebot tickets`: hand-off tickets, newest first, with age, status and who answered."""
    from servicebot.review.render import csv_cell
    from servicebot.review.tables import table
    from servicebot.storage.ticket_store import TicketStore

    store = TicketStore(settings.db_path, create=False)
    try:
        rows = store.listing(open_only=open_only)
    finally:
        store.close()
    now = dt.datetime.now(dt.UTC)
    room = settings.telegram_staff or settings.desk_port is None  # a desk alone posts nowhere
    if fmt == "json":
        doc = [_ticket_dict(t, now) for t in rows]
        emit(json.dumps(doc, ensure_ascii=False, indent=2) + "\n", None)
    elif fmt == "csv":
        buffer = io.StringIO()
        out = csv.writer(buffer)
        out.writerow([*TICKET_HEADERS, "回复人", "结束人"])
        for t in rows:
            cells = _ticket_cells(t, now, room)
            out.writerow([*map(csv_cell, cells), csv_cell(t.answered_by or ""), csv_cell(t.closed_by or "")])
        emit(buffer.getvalue(), None, bom=True)
    elif not rows:
        echo(NO_OPEN_TICKETS if open_only else NO_TICKETS)
    else:
        shown = [_ticket_cells(t, now, room) for t in rows]
        lines = table(TICKET_HEADERS, shown, [8, 16, 10, 14, 30, 12, 40], [True] + [False] * 6)
        echo("\n".join(lines))
    return 0


def _ticket_cells(t: TicketRow, now: dt.datetime, room: bool) -> list[str]:
    from servicebot.conversation.ticket_view import age_text, channel_text, status_text

    return [
        f"#{t.number}",
        t.opened_at.astimezone(CHINA_TZ).strftime("%Y-%m-%d %H:%M"),
        age_text(t.opened_at, now),
        channel_text(t.channel),
        status_text(t, room=room),
        str(t.replies),
        t.question.replace("\n", " ") or "（没有写问题）",
    ]


def _ticket_dict(t: TicketRow, now: dt.datetime) -> dict:
    def china(moment: dt.datetime | None) -> str | None:
        return moment.astimezone(CHINA_TZ).isoformat(timespec="seconds") if moment else None

    return {
        "number": t.number,
        "opened_at": china(t.opened_at),
        "age_seconds": int((now - t.opened_at).total_seconds()),
        "channel": t.channel,
        "status": str(t.status),
        "posted": t.room_message is not None,
        "answered_by": t.answered_by,
        "answered_at": china(t.answered_at),
        "replies": t.replies,
        "closed_by": t.closed_by,
        "closed_at": china(t.closed_at),
        "earlier_tickets": t.earlier,
        "question": t.question,
    }


COMMANDS = {"review": review, "stats": stats, "tickets": tickets}
