"""`servicebot ask / eval / chat`: the commands that put questions to the bot, as residents'
channels do, and the wording of `ask --explain`.

`cli.py` imports this module only to run one of these commands (see `cli.command`); it loads
the matcher and the service, never Telegram, the web server, the review or the password hasher
(`eval` imports its baselines in its own body).

    servicebot ask "低保怎么申请"            # the reply a resident would get
    servicebot ask --explain 地保           # how the question was read, scored and decided
    servicebot eval tests/data/labelled.yaml --misses
    echo 低保怎么申请 | servicebot chat
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys

from servicebot.answering.service import Service, Snapshot
from servicebot.channels import terminal
from servicebot.config import Settings
from servicebot.errors import ConfigError
from servicebot.faq import checks, labelled
from servicebot.faq.watcher import FaqWatcher
from servicebot.matching import Known, Reason
from servicebot.privacy import load_or_create_secret
from servicebot.records import Channel
from servicebot.storage import InteractionLog
from servicebot.tools.output import echo

# What `ask --explain` says the service made of a question beyond the matcher (str.format templates).
EXPLAIN_REFERRAL = "实际回答：转介到事项 {id}（{matter} → {body}），因为问题里有主题词“{word}”，而问答条目没有回答它"
EXPLAIN_ITEM = "实际回答：物品分类，清单里的物品“{name}”"
EXPLAIN_UNLISTED = "实际回答：物品分类，“{name}”不在物品清单里（不猜类别，列出四类的判断办法）"


def _open_sink(settings: Settings):
    """The interaction log and the pseudonym secret for a command that records."""
    secret = load_or_create_secret(settings.pseudonym_secret, settings.data_dir)
    return InteractionLog(settings.db_path, retention_days=settings.retention_days), secret


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
                echo(_explain(service, question))
                routed = _routed(outcome)
                if routed:
                    echo(routed)
            elif args.json:
                echo(_ask_json(outcome, question, service.snapshot))
            else:
                echo(terminal.render(outcome.reply))
                if not args.question:
                    echo()
    finally:
        if sink is not None:
            sink.close()
    return 0


def run_eval(args: argparse.Namespace, settings: Settings) -> int:
    from servicebot.tools import evaluate

    faq, index = checks.load_validated(settings)
    if labelled.is_items_set(args.file):
        return _eval_items(args, Snapshot(faq, index, dt.datetime.now(dt.UTC)))
    items = labelled.load_set(args.file, faq)
    result = evaluate.run_bot(Snapshot(faq, index, dt.datetime.now(dt.UTC)), items)
    echo(f"{args.file}: {len(items)} questions, FAQ {len(faq.entries)} entries")
    cuts = ", ".join(f"{name} {best:g}" for name, (best, _) in result.cutoffs.items())
    echo(f"each cell: servicebot (naive rapidfuzz WRatio, BM25 — each at its best cutoff on this set: {cuts})")
    echo("name@ours: a baseline's in-scope right when it answers no more off-topic questions than servicebot")
    for line in evaluate.kind_lines(result):
        echo(line)
    if args.misses:
        for m in result.misses:
            expected = ",".join(sorted(m.expected)) or "-"
            echo(
                f"  [{'/'.join(m.kinds)}] [{m.status}] {m.question}  expected {expected}  got {m.got}  ({m.score:.1f})"
            )
    return 0


def _eval_items(args: argparse.Namespace, snap: Snapshot) -> int:
    """`eval` on an items set: how many everyday items go into the right bin."""
    from servicebot.tools import evaluate

    figures = evaluate.run_items(snap, labelled.load_items(args.file))
    echo(f"{args.file}: {figures.total} item questions")
    echo(
        f"right bin {figures.right_rate:.1f}%  wrong bin {figures.wrong_rate:.1f}% ({figures.wrong})  "
        f"not in the list {figures.unlisted}  not taken for an item question {figures.missed}"
    )
    if args.misses:
        for question, expected, said in figures.misses:
            echo(f"  {question}  expected {expected}  said {said}")
    return 0


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


COMMANDS = {"ask": ask, "eval": run_eval, "chat": run_chat}
