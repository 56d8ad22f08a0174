"""Matching benchmark: index build time and memory, per-question latency (median, p99), for
synthetic FAQs of 100, 1,000 and 10,000 entries, with the naive rapidfuzz baseline
(extractOne + WRatio over every phrasing) measured on the same questions in the same run.
The one-time load of jieba's dictionaries is printed separately: it happens once per
process, not per FAQ load.

Usage: python -m bench.micro.matching [--sizes 100,1000,10000] [--questions 2000]
Prints a table; exits 0. Single process, one core, no network.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import random
import re
import statistics
import sys
import time
import tracemalloc

from servicebot.answering import words
from servicebot.faq import Entry, Faq, Topic
from servicebot.matching import Index
from servicebot.tools.evaluate import NaiveBaseline

from bench import REPO

REPORT = REPO.parent / "shared" / "seeds" / "000_c7d0980286aeb782.txt"
FALLBACK = (
    "凤凰办事处梧桐书屋垃圾分类体验馆低保医疗救助临时救助养老保险"
    "老旧小区改造物业管理志愿服务疫情防控人口普查防汛秸秆禁烧"
)
SUFFIXES = ("怎么办理", "在哪里", "是什么", "多少钱", "找谁", "什么时候", "能不能", "有哪些", "要什么材料", "怎么申请")


def vocabulary(rng: random.Random) -> list[str]:
    text = REPORT.read_text(encoding="utf-8") if REPORT.exists() else FALLBACK * 20
    runs = [r for r in re.findall(r"[\u4e00-\u9fff]+", text) if len(r) >= 2]
    words = {run[i : i + n] for run in runs for n in (2, 3, 4) for i in range(0, max(1, len(run) - n + 1), n)}
    return sorted(w for w in words if len(w) >= 2)


def synthetic_faq(size: int, seed: int = 7) -> Faq:
    rng = random.Random(seed)
    words = vocabulary(rng)
    seen: set[str] = set()
    entries = []
    for i in range(size):
        core = rng.sample(words, 3)
        phrasings: list[str] = []
        while len(phrasings) < 7:
            k = rng.randint(1, 3)
            text = "".join(rng.sample(core, k)) + rng.choice(SUFFIXES)
            if text not in seen:
                seen.add(text)
                phrasings.append(text)
        entries.append(
            Entry(
                id=f"e{i}",
                question=phrasings[0],
                alternates=tuple(phrasings[1:]),
                answer="答案" * 40,
                source="bench",
                reviewed=dt.date(2026, 1, 1),
                topic=f"t{i % 10}",
            )
        )
    topics = tuple(Topic(f"t{t}", "bench.yaml", tuple(e.id for e in entries if e.topic == f"t{t}")) for t in range(10))
    return Faq(entries=tuple(entries), topics=topics)


def questions(faq: Faq, n: int, seed: int = 11) -> list[str]:
    """Half perturbed phrasings (one character replaced, filler added), half off-topic text."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        if i % 2:
            text = rng.choice(rng.choice(faq.entries).phrasings)
            pos = rng.randrange(len(text))
            out.append("请问" + text[:pos] + rng.choice("的了在是我") + text[pos + 1 :] + "？")
        else:
            out.append(
                rng.choice(
                    ("今天天气怎么样", "火车票怎么买", "电动车电池在哪里换", "附近哪里有好吃的", "公积金怎么提取")
                )
                + str(i)
            )
    return out


def timed(fn, items) -> list[float]:
    out = []
    for item in items:
        t = time.perf_counter()
        fn(item)
        out.append((time.perf_counter() - t) * 1000)
    return out


def p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100)[98]


def run(size: int, n_questions: int) -> dict[str, float]:
    faq = synthetic_faq(size)
    Index(synthetic_faq(5))  # load the pinyin and OpenCC tables outside the timings
    builds = []
    for _ in range(3):
        gc.collect()
        t = time.perf_counter()
        index = Index(faq)
        builds.append(time.perf_counter() - t)
    build = statistics.median(builds)
    gc.collect()
    tracemalloc.start()  # a separate build: tracing slows allocation several-fold
    Index(faq)
    memory = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    qs = questions(faq, n_questions)
    index.match(qs[0])  # warm caches (pinyin table)
    ours = timed(index.match, qs)
    t = time.perf_counter()
    naive = NaiveBaseline(faq)
    naive_build = time.perf_counter() - t
    naive_lat = timed(naive.best, qs[: max(200, n_questions // 10)])
    return {
        "entries": size,
        "build_s": build,
        "mem_mib": memory,
        "median_ms": statistics.median(ours),
        "p99_ms": p99(ours),
        "naive_build_s": naive_build,
        "naive_median_ms": statistics.median(naive_lat),
        "naive_p99_ms": p99(naive_lat),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,1000,10000")
    parser.add_argument("--questions", type=int, default=2000)
    args = parser.parse_args()
    t = time.perf_counter()
    words.is_noun("低保")  # jieba's dictionary, its IDF table and its part-of-speech tags
    print(f"word dictionaries, loaded once per process: {time.perf_counter() - t:.2f} s (not in the build times)")
    head = (
        f"{'entries':>8} {'build s (median of 3)':>8} {'peak MiB':>9} {'median ms':>10} {'p99 ms':>8} | "
        f"{'naive build s':>13} {'naive median ms':>15} {'naive p99 ms':>12} {'median ratio':>12}"
    )
    print(head)
    for size in (int(s) for s in args.sizes.split(",")):
        r = run(size, args.questions)
        ratio = r["naive_median_ms"] / r["median_ms"]
        print(
            f"{r['entries']:>8} {r['build_s']:>8.2f} {r['mem_mib']:>9.1f} "
            f"{r['median_ms']:>10.3f} {r['p99_ms']:>8.3f} | "
            f"{r['naive_build_s']:>13.3f} {r['naive_median_ms']:>15.3f} {r['naive_p99_ms']:>12.3f} {ratio:>11.1f}x"
        )
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
