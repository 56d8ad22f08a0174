"""Interaction log benchmark: write 100,000 interactions through `InteractionLog`, then run the
review (grouping, nearest entries, suggested YAML, every output format) and the stats on them.

The traffic is synthetic but shaped like the bot's: 60 days, 5,000 residents, about 70%
answered questions, 12% "did you mean", 10% unanswered (a few hundred topics the FAQ lacks,
each asked many ways), button taps after suggestions, and 👍/👎 on a tenth of the answers.
The FAQ is bench.micro.matching's synthetic 1,000-entry FAQ.

Usage: python -m bench.micro.storage [--rows 100000] [--entries 1000] [--keep DIR]
Prints timings in seconds; exits 1 if a record was lost or the review is empty.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import secrets
import sys
import tempfile
import time
from pathlib import Path

from servicebot.matching import Index
from servicebot.records import Channel, Interaction, Status, Via
from servicebot.review.period import parse_period
from servicebot.review.render import RENDERERS
from servicebot.review.report import build_review
from servicebot.review.stats import build_stats, render_stats
from servicebot.storage import InteractionLog

from bench.micro.matching import synthetic_faq

PLACES = (
    "社区卫生服务中心",
    "派出所",
    "菜市场",
    "公交站",
    "居住证",
    "公积金",
    "医保卡",
    "电动车充电桩",
    "老年食堂",
    "幼儿园",
    "停车位",
    "快递柜",
    "健身器材",
    "燃气公司",
    "自来水",
    "路灯",
    "垃圾桶",
    "核酸检测点",
    "疫苗接种点",
    "社保卡",
    "残疾证",
    "结婚登记",
    "出生证明",
    "户口迁移",
    "房产证",
    "护照",
    "驾驶证",
    "学区划分",
    "物业费",
    "消防通道",
)
ASKS = (
    "在哪里",
    "几点开门",
    "什么时候上班",
    "怎么办理",
    "要什么材料",
    "电话多少",
    "周末开吗",
    "收费吗",
    "怎么去",
    "归谁管",
)
FILLERS = ("", "", "请问", "你好，", "我想问一下", "麻烦问下")
ENDS = ("", "", "？", "?", "呀", "啊？", "。")


def unanswered_question(rng: random.Random) -> str:
    return rng.choice(FILLERS) + rng.choice(PLACES) + rng.choice(ASKS) + rng.choice(ENDS)


def traffic(faq, n: int, seed: int = 5):
    """Yields (interaction, feedback or None) in time order over 60 days."""
    rng = random.Random(seed)
    residents = [secrets.token_hex(8) for _ in range(5000)]
    start = dt.datetime.now(dt.UTC) - dt.timedelta(days=60)
    entries = faq.entries
    last_suggest: Interaction | None = None
    for k in range(n):
        at = start + dt.timedelta(seconds=60 * 86400 * k / n)
        who = rng.choice(residents)
        roll = rng.random()
        ref = secrets.token_hex(6)
        if roll < 0.70:
            entry = rng.choice(entries)
            text = rng.choice(entry.phrasings)
            i = Interaction(ref, at, Channel.TELEGRAM, "private", who, text, text, Status.ANSWERED, entry.id, 75.0)
        elif roll < 0.82:
            entry = rng.choice(entries)
            text = rng.choice(entry.phrasings)[:4] + rng.choice(ASKS)
            i = Interaction(
                ref, at, Channel.TELEGRAM, "private", who, text, text, Status.SUGGEST, None, 50.0, (entry.id,)
            )
            last_suggest = i
        elif roll < 0.92:
            text = unanswered_question(rng)
            i = Interaction(ref, at, Channel.TELEGRAM, "private", who, text, text, Status.UNANSWERED, None, 20.0)
        elif last_suggest is not None:
            target = last_suggest.suggestions[0]
            i = Interaction(
                ref,
                at,
                Channel.TELEGRAM,
                "private",
                last_suggest.resident,
                "",
                "",
                Status.TAP,
                target,
                100.0,
                via=Via.SUGGESTION,
                origin_ref=last_suggest.ref,
            )
        else:
            continue
        vote = (ref, rng.random() < 0.8) if i.status in (Status.ANSWERED, Status.TAP) and rng.random() < 0.1 else None
        yield i, vote


def seconds(label: str, started: float) -> float:
    took = time.perf_counter() - started
    print(f"{label:<44} {took:8.3f} s")
    return took


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--entries", type=int, default=1000)
    parser.add_argument("--keep", type=Path, help="write the database here instead of a temporary directory")
    args = parser.parse_args()

    faq = synthetic_faq(args.entries)
    index = Index(faq)
    work = args.keep or Path(tempfile.mkdtemp(prefix="bench-storage-"))
    path = work / "interactions.sqlite3"
    rows = list(traffic(faq, args.rows))
    print(f"{len(rows)} interactions, FAQ {len(faq.entries)} entries, database {path}")

    log = InteractionLog(path, max_pending=len(rows) * 2)
    t = time.perf_counter()
    for interaction, vote in rows:
        log.record(interaction)
        if vote:
            log.feedback(*vote)
    enqueue = seconds("record()+feedback() (enqueue only)", t)
    print(f"{'  per call':<44} {enqueue / len(rows) * 1e6:8.2f} µs")
    drained = log.flush(timeout=300)
    seconds("until written (flush)", t)
    t = time.perf_counter()
    summary = log.day_summary()
    seconds("day_summary()", t)
    log.close()
    written = log.dropped == 0 and drained
    print(f"{'database size':<44} {path.stat().st_size / 2**20:8.1f} MiB; today: {summary}")

    period = parse_period("60d")
    t = time.perf_counter()
    report = build_review(log, index, period, answer_threshold=52.0, suggest_yaml=True, today=dt.date.today())
    seconds("review: query + group + nearest + YAML", t)
    asked = sum(c.count for c in report.clusters)
    top = report.clusters[0].examples if report.clusters else None
    print(f"  {asked} questions → {len(report.clusters)} groups; top: {top}")
    for fmt, render in RENDERERS.items():
        t = time.perf_counter()
        size = len(render(report))
        seconds(f"  render {fmt} ({size / 1024:.0f} KiB)", t)
    t = time.perf_counter()
    stats = build_stats(log, parse_period("30d"), faq)
    render_stats(stats)
    seconds("stats (30 days)", t)
    if not written or not report.clusters:
        print("FAILED: records lost or empty review", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
