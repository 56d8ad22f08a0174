"""The body of each CLI command: thin glue from parsed arguments to the domain modules.

`cli.py` owns the argument parser and exit-code mapping, and imports this module only once
it knows which command to run (so `--help` and setting errors never load the matcher or
Telegram); this module owns what each command does, registered by name in `COMMANDS`.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from servicebot.answering.service import Service, Snapshot
from servicebot.channels import terminal
from servicebot.config import Settings
from servicebot.errors import ConfigError
from servicebot.faq import checks
from servicebot.faq.watcher import FaqWatcher
from servicebot.matching import Known, Reason
from servicebot.poster import poster_command
from servicebot.privacy import load_or_create_secret
from servicebot.records import Channel
from servicebot.staffdesk import admin as staff_admin
from servicebot.storage import CHINA_TZ, InteractionLog, LogReader

if TYPE_CHECKING:
    from servicebot.storage.tickets import TicketRow

# A command imports what only it uses in its own body: `servicebot ask` never loads the review's
# pinyin tables, the evaluation's baselines, Telegram, the web server or the password hasher.

Command = Callable[[argparse.Namespace, Settings], int]
COMMANDS: dict[str, Command] = {"poster": poster_command}  # its own package: servicebot.poster


def command(name: str) -> Callable[[Command], Command]:
    """Register the decorated function as `servicebot NAME` ("faq check" for a subcommand)."""

    def register(fn: Command) -> Command:
        COMMANDS[name] = fn
        return fn

    return register


def _out(text: str = "") -> None:
    sys.stdout.write(text + "\n")


def _open_sink(settings: Settings):
    """The interaction log and the pseudonym secret for a command that records."""
    secret = load_or_create_secret(settings.pseudonym_secret, settings.data_dir)
    return InteractionLog(settings.db_path, retention_days=settings.retention_days), secret


# --- faq ---------------------------------------------------------------------------------

# What staff read (str.format templates; tests name them rather than repeat their words).
CHECK_FAILED = "发现 {errors} 个错误、{warnings} 个警告，请修改后再检查。"
CHECK_REFERRALS = "转介清单 referrals.yaml：{matters} 个事项，{subjects} 个主题词。"
CHECK_ITEMS = "垃圾分类物品清单 garbage-items.yaml：{items} 个物品（{names} 个名称和别名）。"
EXPLAIN_REFERRAL = "实际回答：转介到事项 {id}（{matter} → {body}），因为问题里有主题词“{word}”，而问答条目没有回答它"
EXPLAIN_ITEM = "实际回答：物品分类，清单里的物品“{name}”"
EXPLAIN_UNLISTED = "实际回答：物品分类，“{name}”不在物品清单里（不猜类别，列出四类的判断办法）"
CHECK_PASSED = (
    "检查通过：{files} 个文件，{entries} 个条目，{phrasings} 个问法，"
    "回归测试 {passed}/{cases} 通过，{warnings} 个警告。"
)
CASE_PASSED = "[通过] {question} → {got}"
CASE_FAILED = "[失败] {question} → {got}（应得到 {expect}，实际 {got}）"
CASES_SUMMARY = "共 {cases} 个测试问题：{passed} 个通过，{failed} 个失败。"
NOTHING_STALE = "所有条目都在 {days} 天内核对过。"
STALE_TOPIC = "【{topic}】"
STALE_ENTRY = "  {id}  {question}  上次核对 {reviewed}（{age} 天前）  {file}:{line}"
STALE_SUMMARY = "共 {count} 个条目需要重新核对。"
DIFF_HEADER = "比较 {questions} 个标注问题和两边的回归测试问题（旧 {old} 条目，新 {new} 条目）："
SOURCED_HEADER = "\n工作纪实以外、来自网页的事实（共 {count} 处，请到来源网页核对是否仍然有效，过时的请更新或删掉）："
SOURCED_FACT = "  {where}  {what}：{facts}\n    来源：{title}（{date}）{url}"
DIFF_CHANGE = "  {question}: {before} → {after}"
DIFF_SUMMARY = "{count} 个问题的结果会改变。"
DIFF_NO_CHANGE = "没有问题的结果改变。"


@command("faq check")
def faq_check(args: argparse.Namespace, settings: Settings) -> int:
    report = checks.check_directory(settings.faq_dir, settings, lint_synonyms=True)
    for problem in report.problems:
        _out(str(problem))
    if report.errors or report.faq is None:
        _out(CHECK_FAILED.format(errors=len(report.errors), warnings=len(report.warnings)))
        return 1
    faq = report.faq
    passed = sum(r.passed for r in report.regression)
    _out(
        CHECK_PASSED.format(
            files=len(faq.files),
            entries=len(faq.entries),
            phrasings=faq.question_count,
            passed=passed,
            cases=len(report.regression),
            warnings=len(report.warnings),
        )
    )
    if faq.referrals:
        subjects = sum(len(m.subjects) for m in faq.referrals.matters)
        _out(CHECK_REFERRALS.format(matters=len(faq.referrals.matters), subjects=subjects))
    if faq.garbage:
        names = sum(len(i.names) for i in faq.garbage.items)
        _out(CHECK_ITEMS.format(items=len(faq.garbage.items), names=names))
    return 0


@command("faq test")
def faq_test(args: argparse.Namespace, settings: Settings) -> int:
    report = checks.check_directory(settings.faq_dir, settings)
    if report.index is None:
        for problem in report.errors:
            _out(str(problem))
        return 1
    results = report.regression
    for r in results:
        line = CASE_PASSED if r.passed else CASE_FAILED
        _out(line.format(question=r.case.question, got=r.got, expect=r.case.expect))
    failed = sum(not r.passed for r in results)
    _out(CASES_SUMMARY.format(cases=len(results), passed=len(results) - failed, failed=failed))
    return 1 if failed else 0


@command("faq stale")
def faq_stale(args: argparse.Namespace, settings: Settings) -> int:
    from servicebot.faq.freshness import sourced_facts, stale_entries, verify_lines

    faq = checks.build_snapshot(settings)[0]
    groups = stale_entries(faq, settings.stale_days)
    if not groups:
        _out(NOTHING_STALE.format(days=settings.stale_days))
    for topic, entries in groups:
        _out(STALE_TOPIC.format(topic=topic))
        for e, age in entries:
            _out(
                STALE_ENTRY.format(id=e.id, question=e.question, reviewed=e.reviewed, age=age, file=e.file, line=e.line)
            )
    if groups:
        _out(STALE_SUMMARY.format(count=sum(len(e) for _, e in groups)))
    marked = verify_lines(faq)
    if marked:
        _out()
        _out("\n".join(marked))
    facts = sourced_facts(faq)
    if facts:
        _out(SOURCED_HEADER.format(count=len(facts)))
        for where, what, source in facts:
            _out(
                SOURCED_FACT.format(
                    where=where,
                    what=what,
                    facts="、".join(source.facts) or "—",
                    title=source.title,
                    date=source.date,
                    url=source.url,
                )
            )
    return 0


@command("faq diff")
def faq_diff(args: argparse.Namespace, settings: Settings) -> int:
    from servicebot.faq.diff import diff_outcomes, labelled_questions

    questions = labelled_questions(args.labelled)
    changes, old_n, new_n = diff_outcomes(args.old, args.new, settings, questions)
    _out(DIFF_HEADER.format(questions=len(questions), old=old_n, new=new_n))
    for question, before, after in changes:
        _out(DIFF_CHANGE.format(question=question, before=before, after=after))
    _out(DIFF_SUMMARY.format(count=len(changes)) if changes else DIFF_NO_CHANGE)
    return 0


# --- answering ---------------------------------------------------------------------------


def _ask_json(outcome, question: str, snapshot) -> str:
    m = outcome.match
    entry = snapshot.faq.by_id.get(outcome.entry_id) if outcome.entry_id else None
    referral, item = outcome.referral, outcome.item
    return json.dumps(
        {
            "question": question,
            "status": outcome.status,
            "entry_id": outcome.entry_id,
            "score": m.score if m else None,
            "answer": entry.answer if entry else None,
            "links": [{"title": link.title, "url": link.url} for link in entry.links] if entry else [],
            "suggestions": [
                {"entry_id": c.entry_id, "question": snapshot.faq.by_id[c.entry_id].question, "score": c.score}
                for c in (m.suggestions if m and not referral else ())
            ],
            "referral": {"id": referral.id, "matter": referral.matter, "body": referral.body} if referral else None,
            "item": {
                "name": item.name,
                "listed": item.found.name if item.found else None,
                "category": item.found.category if item.found else None,
                "cases": [[c.when, c.category] for c in item.found.cases] if item.found else [],
            }
            if item
            else None,
            "reply": outcome.reply.plain,
        },
        ensure_ascii=False,
    )


REASONS = {
    Reason.EXACT: "和这个条目的某个问法一模一样",
    Reason.CONFIDENT: "问的主题和这个条目一致，问题里的词基本都被它覆盖，分数够高，并且明显领先第二名",
    Reason.NEAR_TIE: "有几个条目都沾边，分不出高下，所以请居民自己选",
    Reason.LOW_SCORE: "最接近的条目也不够接近",
    Reason.UNKNOWN_WORDS: "问题里的关键词问答里没有（比如护照、公积金），说明问的不是问答覆盖的事",
    Reason.OFF_SUBJECT: "没有哪个条目说的是这个主题",
    Reason.NOTHING_ASKED: "问题里没有能说明问什么的词（只有“怎么办”“需要什么材料”之类）",
    Reason.SUBJECT: "问题说的是这个条目的主题（问题里有它的主题词），也没有别的主题和它相争",
    Reason.OVERVIEW: "问题说的是这个主题，几个条目都合适，用这个主题的总览条目回答，其余的放在下面可以接着问",
    Reason.UNSURE: "问题说到了这个条目的主题，但按校准模型答对的把握不够，所以列为选项请居民自己选",
    Reason.SUBJECTS: "问题里同时说到问答里的几个不同主题，请居民自己选",
    Reason.ELSEWHERE: "问题说的是别的部门管的事（转介清单里的主题词比问答条目的主题更突出），告诉居民该找谁",
    Reason.SMALL_TALK: "这是打招呼、致谢、问机器人是谁或找人工，不按问答条目回答",
    Reason.ABOUT_BOT: "问的是机器人能做什么，用介绍机器人的条目回答",
}
# What drove the clerk's confidence (calibration.py's features), for `ask --explain`.
DRIVERS = {
    "score": "和条目的总体接近程度",
    "coverage": "问题里的词被条目覆盖的程度",
    "similarity": "和最接近的问法字面相似",
    "strength": "问题点名这个主题的力度",
    "keyword": "用的是条目的关键词",
    "lead": "领先别的主题的程度",
    "elsewhere": "问题里还有条目没覆盖的主题词",
    "away": "问题里也提到别的部门管的事",
    "unknown": "问题里有问答不认识的词",
    "long": "是一段长叙述",
    "untold": "问到了条目没有的时间、电话或金额",
    "overview": "用的是主题的总览条目",
    "guess": "主题词是按读音猜的",
    "related": "主题词是按近义词认出来的",
}

KNOWN = {
    Known.PHRASING: "问答问法中有",
    Known.SOUND: "读音像问答里的词",
    Known.ANSWER: "只在答案里出现",
    Known.RELATED: "意思接近问答里的词",
    Known.UNSEEN: "问答里没有",
}
EXPLAIN_HELP = (
    "权重：这个词在日常中文里有多能说明问的是什么（低保、护照大，怎么、办理小）；"
    "覆盖：第一名条目有这个词的程度（1 为完全有）。长问题里只有最后问的那一句算全分，前面的经历只作参考。"
)


def _explain(service: Service, question: str) -> str:
    index = service.snapshot.index
    lines = [f"问题：{question}"]
    for name, text in index.normalize.explain(question):
        lines.append(f"  {name:<12} {text}")
    m = index.match(question)
    top = m.entry_id or (m.candidates[0].entry_id if m.candidates else None)
    if m.terms:
        lines.append(f"分词：{EXPLAIN_HELP}")
        for term in m.terms:
            part = "提问" if term.asked else "经历"
            heard = f"（原文“{term.heard_as}”，按读音读作“{term.word}”）" if term.heard_as else ""
            cover = f"  覆盖 {index.covered(term, top):.1f}" if top else ""
            lines.append(f"  {term.word:<8} 权重 {term.weight:5.2f}  {part}  {KNOWN[term.known]}{cover}{heard}")
    t = index.thresholds
    lines.append(
        f"结果：{m.status}{' ' + m.entry_id if m.entry_id else ''}。原因：{REASONS[m.reason]}"
        + (f"（{m.intent}）" if m.intent else "")
    )
    if m.probability is not None:
        lines.append(
            f"  按主题挑中的条目答对的可能性：{m.probability:.0%}（≥ {t.sure:.0%} 直接回答，≥ {t.unsure:.0%} 列为选项）"
        )
        for name, push in m.drivers[:6]:
            lines.append(f"    {'＋' if push >= 0 else '－'} {DRIVERS.get(name, name)}  {push:+.2f}")
    else:
        lines.append(
            f"  阈值：回答 ≥ {t.answer:g} 且覆盖 ≥ {t.coverage:g}（完全覆盖时 ≥ {t.answer - t.sure_drop:g}），"
            f"建议 ≥ {t.suggest:g}，领先第二名 ≥ {t.margin:g}"
        )
    if m.untold:
        lines.append(f"  问到了条目没有的内容：{'、'.join(m.untold)}（回答会先说明）")
    if m.complaint:
        lines.append("  这是一条投诉或反映：有工作人员值守时，回答下面会提供“转人工”")
    for c in m.candidates[:5]:
        subject = "同主题" if c.on_subject else "不同主题"
        lines.append(
            f"  {c.score:5.1f}  {c.entry_id:<28} 覆盖 {c.coverage:.2f}  字面接近 {c.closeness:.2f}  {subject}  "
            f"最近的问法：{c.phrasing}"
        )
    return "\n".join(lines)


def _routed(outcome) -> str:
    """What the service made of the question beyond the matcher: a referral or an item."""
    if outcome.referral is not None:
        referral = outcome.referral
        return EXPLAIN_REFERRAL.format(
            id=referral.id, matter=referral.matter, body=referral.body, word=outcome.referral_word
        )
    if outcome.item is not None:
        template = EXPLAIN_ITEM if outcome.item.found else EXPLAIN_UNLISTED
        return template.format(name=outcome.item.found.name if outcome.item.found else outcome.item.name)
    return ""


@command("ask")
def ask(args: argparse.Namespace, settings: Settings) -> int:
    if args.question and not " ".join(args.question).strip():
        raise ConfigError('问题是空的：请写上要问的问题，例如 servicebot ask "低保怎么申请"')
    sink, secret = _open_sink(settings) if args.log else (None, "")
    faq, index = checks.load_validated(settings)
    service = Service(Snapshot(faq, index, dt.datetime.now(dt.UTC)), settings, sink, secret)
    questions = [" ".join(args.question)] if args.question else (line.rstrip("\n") for line in sys.stdin)
    try:
        for question in questions:
            if not question.strip():
                continue
            outcome = service.answer(question, channel=Channel.ASK, chat_type="cli")
            if args.explain:
                _out(_explain(service, question))
                routed = _routed(outcome)
                if routed:
                    _out(routed)
            elif args.json:
                _out(_ask_json(outcome, question, service.snapshot))
            else:
                _out(terminal.render(outcome.reply))
                if not args.question:
                    _out()
    finally:
        if sink is not None:
            sink.close()
    return 0


@command("eval")
def run_eval(args: argparse.Namespace, settings: Settings) -> int:
    from servicebot.tools import evaluate

    faq, index = checks.load_validated(settings)
    if evaluate.is_items_set(args.file):
        return _eval_items(args, Snapshot(faq, index, dt.datetime.now(dt.UTC)))
    items = evaluate.load_set(args.file, faq)
    result = evaluate.run_bot(Snapshot(faq, index, dt.datetime.now(dt.UTC)), items)
    _out(f"{args.file}: {len(items)} questions, FAQ {len(faq.entries)} entries")
    cuts = ", ".join(f"{name} {best:g}" for name, (best, _) in result.cutoffs.items())
    _out(f"each cell: servicebot (naive rapidfuzz WRatio, BM25 — each at its best cutoff on this set: {cuts})")
    _out("name@ours: a baseline's in-scope right when it answers no more off-topic questions than servicebot")
    for line in evaluate.kind_lines(result):
        _out(line)
    if args.misses:
        for m in result.misses:
            expected = ",".join(sorted(m.expected)) or "-"
            _out(
                f"  [{'/'.join(m.kinds)}] [{m.status}] {m.question}  expected {expected}  got {m.got}  ({m.score:.1f})"
            )
    return 0


def _eval_items(args: argparse.Namespace, snap: Snapshot) -> int:
    """`eval` on an items set: how many everyday items go into the right bin."""
    from servicebot.tools import evaluate

    figures = evaluate.run_items(snap, evaluate.load_items(args.file))
    _out(f"{args.file}: {figures.total} item questions")
    _out(
        f"right bin {figures.right_rate:.1f}%  wrong bin {figures.wrong_rate:.1f}% ({figures.wrong})  "
        f"not in the list {figures.unlisted}  not taken for an item question {figures.missed}"
    )
    if args.misses:
        for question, expected, said in figures.misses:
            _out(f"  {question}  expected {expected}  said {said}")
    return 0


@command("chat")
def run_chat(args: argparse.Namespace, settings: Settings) -> int:
    sink, secret = _open_sink(settings)
    service = Service.from_settings(settings, sink, secret)
    watcher = FaqWatcher(service, settings.reload_interval)
    watcher.start()
    try:
        return terminal.run_chat(service, sys.stdin, sys.stdout, interactive=sys.stdin.isatty())
    finally:
        watcher.stop()
        sink.close()


# --- operations ----------------------------------------------------------------------------


NOTHING_TO_RUN = (
    "servicebot: no channel is configured: set a Telegram token or a web port.\n"
    "  Telegram: set SERVICEBOT_TOKEN (from @BotFather), in the environment or a config file\n"
    '  (SERVICEBOT_CONFIG=/path/to/servicebot.toml with token = "...").\n'
    "  Web chat: set SERVICEBOT_WEB_PORT (or run --web-port 8080).\n"
    "  To try the bot without either, run `servicebot chat`."
)


@command("run")
def run(args: argparse.Namespace, settings: Settings) -> int:
    if not settings.token and settings.web_port is None:
        print(NOTHING_TO_RUN, file=sys.stderr)
        return 2
    if settings.webhook_url and not settings.token:
        raise ConfigError("webhook mode (SERVICEBOT_WEBHOOK_URL) needs SERVICEBOT_TOKEN")
    if settings.webhook_url and not settings.webhook_secret:
        raise ConfigError("webhook mode needs SERVICEBOT_WEBHOOK_SECRET (letters, digits, _ and -)")
    if settings.webhook_url and settings.web_port is None:
        raise ConfigError("webhook mode is served by the bot's web server: set SERVICEBOT_WEB_PORT")
    if settings.staff_chat_id is not None and not settings.token:
        raise ConfigError(
            "hand-off to staff (SERVICEBOT_STAFF_CHAT_ID) needs SERVICEBOT_TOKEN: staff answer on Telegram"
        )
    from servicebot.channels.server import run as run_channels

    return run_channels(settings)


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


@command("review")
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
    _emit(text, output, bom=fmt == "csv")
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


@command("stats")
def stats(args: argparse.Namespace, settings: Settings) -> int:
    return run_stats(settings, since=args.since, as_json=args.json)


def run_stats(settings: Settings, *, since: str, as_json: bool) -> int:
    """`servicebot stats`: usage numbers; entry questions are shown when the FAQ loads."""
    from servicebot.review.period import parse_period
    from servicebot.review.stats import build_stats, render_stats, stats_dict

    period = parse_period(since)
    faq, _ = checks.validate(settings.faq_dir, settings)
    report = build_stats(LogReader(settings.db_path), period, faq)
    _emit(
        json.dumps(stats_dict(report), ensure_ascii=False, indent=2) + "\n" if as_json else render_stats(report), None
    )
    return 0


def _emit(text: str, output: Path | None, *, bom: bool = False) -> None:
    """Write a report as UTF-8 bytes (with a BOM for CSV, so spreadsheet programs read Chinese)."""
    data = text.encode("utf-8-sig" if bom else "utf-8")
    if output is not None:
        output.write_bytes(data)
        return
    stream = getattr(sys.stdout, "buffer", None)
    if stream is None:
        sys.stdout.write(data.decode("utf-8"))
        return
    sys.stdout.flush()
    stream.write(data)
    stream.flush()


# --- hand-off tickets --------------------------------------------------------------------------

TICKET_HEADERS = ["编号", "开始时间", "多久前", "渠道", "状态", "工作人员回复", "问题"]
NO_TICKETS = "没有人工咨询。"
NO_OPEN_TICKETS = "没有未结束的人工咨询。"


@command("tickets")
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
        _emit(json.dumps(doc, ensure_ascii=False, indent=2) + "\n", None)
    elif fmt == "csv":
        buffer = io.StringIO()
        out = csv.writer(buffer)
        out.writerow([*TICKET_HEADERS, "回复人", "结束人"])
        for t in rows:
            cells = _ticket_cells(t, now, room)
            out.writerow([*map(csv_cell, cells), csv_cell(t.answered_by or ""), csv_cell(t.closed_by or "")])
        _emit(buffer.getvalue(), None, bom=True)
    elif not rows:
        _out(NO_OPEN_TICKETS if open_only else NO_TICKETS)
    else:
        shown = [_ticket_cells(t, now, room) for t in rows]
        lines = table(TICKET_HEADERS, shown, [8, 16, 10, 14, 30, 12, 40], [True] + [False] * 6)
        _out("\n".join(lines))
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


# --- staff desk accounts (their bodies live with the desk) ------------------------------------

COMMANDS.update({f"staff {name}": fn for name, fn in staff_admin.COMMANDS.items()})


@command("health")
def health(args: argparse.Namespace, settings: Settings) -> int:
    from servicebot.tools.health import Verdict, health_report

    findings = health_report(settings)
    for finding in findings:
        if finding.verdict == Verdict.PROBLEM:
            print(finding, file=sys.stderr)
        else:
            _out(str(finding))
    problems = sum(f.verdict == Verdict.PROBLEM for f in findings)
    if problems:
        print(f"unhealthy: {problems} problem(s) above; fix them and run `servicebot health` again", file=sys.stderr)
    return 1 if problems else 0
