"""Masking benchmark: what `privacy.mask_personal` costs per question, next to the ASCII-only
masking it replaced (four regexes, measured in the same run), on

- ordinary questions (no digits: the common case),
- questions holding a number (years, amounts, or a phone/ID-card/bank-card number in some form),
- 50,000-character adversarial messages (digits, separators, numerals, e-mail-like runs),

and how long migration 3 (masking every stored row again) takes on 100,000 rows.

Usage: python -m bench.micro.masking [--runs 2000] [--rows 100000]
Prints medians in microseconds (milliseconds for the long messages, seconds for the migration).
"""

from __future__ import annotations

import argparse
import re
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

from servicebot.privacy import mask_personal
from servicebot.storage.migrations import MIGRATIONS

# The masking before issue 13, as it was: ASCII digits only.
_OLD = (
    (
        re.compile(r"(?<![0-9])[1-9][0-9]{5}(?:19|20)?[0-9]{2}(?:0[1-9]|1[0-2])[0-9]{2}[0-9]{3}[0-9Xx]?(?![0-9])"),
        "[身份证号]",
    ),
    (re.compile(r"(?<![0-9])(?:\+?86[-\s]?)?1[3-9][0-9](?:[-\s]?[0-9]{4}){2}(?![0-9])"), "[手机号]"),
    (re.compile(r"(?<![0-9])0[0-9]{2,3}[-\s]?[0-9]{7,8}(?![0-9])"), "[电话]"),
    (re.compile(r"[0-9]{11,}"), "[数字]"),
)


def old_mask(text: str) -> str:
    for pattern, placeholder in _OLD:
        text = pattern.sub(placeholder, text)
    return text


PLAIN = [
    "低保怎么申请",
    "社区卫生服务中心几点开门",
    "我家老人想办养老保险，需要带什么材料，去哪里办？",
    "垃圾分类体验馆在哪",
]
NUMBERS = [
    "2020年办事处挽回经济损失280751.6元",
    "我的电话13912345678，低保怎么申请",
    "电话１３９１２３４５６７８，身份证341122-1990-0101-123X",
    "我手机幺三九幺二三四五六七八，卡号6222 0212 3456 7890 123",
    "邮箱abc@qq。com，第七次人口普查什么时候",
]
LONG = {
    "digits": "1" * 50_000,
    "spaced digits": "1 " * 25_000,
    "prices": "1.3 8" * 10_000,
    "phones": "13912345678，" * 4_000,
    "numerals": "一二三 " * 12_500,
    "chinese": "低保" * 25_000,
    "at signs": "a@" * 25_000,
}


def median_us(fn, texts: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        for text in texts:
            start = time.perf_counter()
            fn(text)
            times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e6


def migration_seconds(rows: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        conn = sqlite3.connect(Path(tmp) / "log.sqlite3", isolation_level=None)
        for migration in MIGRATIONS[:2]:
            migration(conn)
        questions = (PLAIN + NUMBERS) * (rows // (len(PLAIN) + len(NUMBERS)) + 1)
        conn.execute("BEGIN")
        conn.executemany(
            "INSERT INTO interactions (ref, at, channel, chat_type, question, normalized, status, score, suggestions,"
            " via) VALUES (?, '2026-01-01 00:00:00', 'telegram', 'private', ?, ?, 'unanswered', 0, '[]', 'question')",
            ((f"{n:x}", q, q) for n, q in enumerate(questions[:rows])),
        )
        conn.execute("COMMIT")
        start = time.perf_counter()
        conn.execute("BEGIN")
        MIGRATIONS[2](conn)
        conn.execute("COMMIT")
        elapsed = time.perf_counter() - start
        conn.close()
        return elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2000)
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args(argv)
    mask_personal("warm up 1")  # builds the folding table once (~30 ms)

    print(f"per question, median of {args.runs} runs   new (µs)   old ASCII-only (µs)   ratio")
    for name, texts in (("ordinary questions", PLAIN), ("questions with numbers", NUMBERS)):
        new, old = median_us(mask_personal, texts, args.runs), median_us(old_mask, texts, args.runs)
        print(f"  {name:<34} {new:8.1f}   {old:19.1f}   {new / old:5.1f}x")
    print("50,000-character messages, median of 5   new (ms)   old (ms)")
    for name, text in LONG.items():
        new, old = median_us(mask_personal, [text], 5) / 1000, median_us(old_mask, [text], 5) / 1000
        print(f"  {name:<34} {new:8.1f}   {old:8.1f}")
    print(f"migration 3 on {args.rows:,} rows: {migration_seconds(args.rows):.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
