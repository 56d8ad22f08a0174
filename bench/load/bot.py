"""Load benchmark of the Telegram bot: N questions from R simulated residents, sent through the
fake Bot API server (tests/support/botapi.py) to the real bot (channels.tg.TelegramChannel run by channels.server.serve,
polling over HTTP on 127.0.0.1, real interaction log in a temporary directory).

Reports:
- correctness: every question answered exactly once, in order per resident, with the text
  the service gives for that question (nothing lost, duplicated or swapped);
- latency from the moment the fake's getUpdates hands an update out to the moment the bot's
  sendMessage for it arrives (median, p99);
- the bot's own processing time per update, measured inside the bot around each update
  (TelegramChannel.timings): total, time waiting for the Bot API, and the rest ("own").
  Target: own median under 10 ms.

Questions arrive open-loop at --rate per second (0: all at once). The flood gate is set high
enough not to trip, and outgoing rate limiting is off (Telegram's 30 messages/s would
otherwise set the pace); the fake server, the simulated residents and the bot share one
event loop and one core, so end-to-end latency includes the harness's own work.

Usage: python -m bench.load.bot [--questions 2000] [--residents 100] [--rate 50] [--concurrency 64] [--faq DIR]
Exits 1 if any answer is lost, duplicated or wrong, or the run exceeds --timeout seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import random
import statistics
import tempfile
import time
from pathlib import Path

from servicebot.answering.service import Service
from servicebot.channels import Core
from servicebot.channels.server import serve
from servicebot.channels.tg import MAX_CONCURRENT_UPDATES, TelegramChannel
from servicebot.channels.tg_net import RetryingRateLimiter
from servicebot.channels.tg_render import render_html
from servicebot.config import load_settings
from servicebot.records import Channel

from bench import REPO
from bench.harness import failed, latency_line, question_pool
from tests.support.botapi import TOKEN, FakeBotApi

TARGET_OWN_MEDIAN_MS = 10.0
FIRST_USER = 500_000
OFF_TOPIC = (
    "今天天气怎么样",
    "你是机器人吗",
    "附近有什么好吃的",
    "我想投诉邻居装修太吵",
    "快递站几点关门",
    "怎么办护照",
)


async def run(args: argparse.Namespace, workdir: Path) -> int:
    async with FakeBotApi() as api:
        settings = load_settings(
            env={},
            overrides={
                "faq_dir": args.faq,
                "data_dir": workdir / "data",
                "token": TOKEN,
                "base_url": api.base_url,
                "reload_interval": 0,
                "flood_messages": args.questions,
                "flood_window": 60,
            },
        )
        service = Service.from_settings(settings, secret="bench")
        checker = Service(service.snapshot, settings)  # the same FAQ, no log: what each reply should say
        rng = random.Random(args.seed)
        pool = question_pool(service.snapshot.faq, OFF_TOPIC)
        plan = [(FIRST_USER + n % args.residents, rng.choice(pool)) for n in range(args.questions)]
        limiter = RetryingRateLimiter(overall_max_rate=0, group_max_rate=0, max_retries=3)
        core = Core(settings, service)
        telegram = TelegramChannel(core, rate_limiter=limiter, max_concurrent=args.concurrency)
        stop = asyncio.Event()
        bot = asyncio.create_task(serve(core, [telegram], stop))
        try:
            await api.wait_polling(timeout=10)
            api.mark()
            started = time.monotonic()
            update_ids: dict[int, list[int]] = {}
            for n, (user, question) in enumerate(plan):
                if args.rate:  # question n arrives n/rate seconds after the start (no drift)
                    await asyncio.sleep(max(0.0, started + n / args.rate - time.monotonic()))
                update = api.user_message(question, user_id=user)
                update_ids.setdefault(user, []).append(update["update_id"])
            await api.wait_for_count("sendMessage", len(plan), timeout=args.timeout)
            elapsed = time.monotonic() - started
            await api.expect_no_call("sendMessage", within=0.5, since=api.mark())
        finally:
            stop.set()
            await asyncio.wait_for(bot, 15)

    replies_by_user: dict[int, list] = {}
    for call in api.calls("sendMessage"):
        replies_by_user.setdefault(call.chat_id, []).append(call)
    problems, latencies = 0, []
    expected_by_user: dict[int, list[str]] = {}
    for user, question in plan:
        expected_by_user.setdefault(user, []).append(
            render_html(checker.answer(question, channel=Channel.TELEGRAM).reply)[0]
        )
    for user, expected in expected_by_user.items():
        got = replies_by_user.get(user, [])
        if [c.text for c in got] != expected:
            problems += 1
            print(
                f"resident {user - FIRST_USER}: expected {len(expected)} replies in order, got {len(got)}"
                f"{'' if len(got) != len(expected) else ' (different texts or order)'}"
            )
            continue
        for update_id, call in zip(update_ids[user], got):
            latencies.append(call.t - api.update_record(update_id).handed_out_at)

    timings = telegram.timings
    sent = len(api.calls("sendMessage"))
    print(
        f"{args.questions} questions from {args.residents} residents, FAQ {args.faq} "
        f"({len(service.snapshot.faq.entries)} entries), arrival rate {args.rate or 'all at once'}/s, "
        f"bot concurrency {args.concurrency}"
    )
    print(f"replies: {sent} (expected {len(plan)}); residents with lost, duplicated or wrong replies: {problems}")
    print(f"all replies in {elapsed:.2f} s ({sent / elapsed:.0f} replies/s); getUpdates calls: {api.poll_count}")
    if latencies:
        print(latency_line("handed out by getUpdates → reply received", latencies))
    print(latency_line("bot: processing per update (total)", list(timings.total)))
    print(latency_line("bot: waiting for the Bot API", list(timings.api)))
    own = timings.own()
    print(latency_line("bot: own work per update (total − API)", own))
    verdict = "met" if statistics.median(own) * 1000 < TARGET_OWN_MEDIAN_MS else "MISSED"
    print(f"target: own median under {TARGET_OWN_MEDIAN_MS:g} ms — {verdict}")
    return 1 if problems or sent != len(plan) else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--questions", type=int, default=2000)
    parser.add_argument("--residents", type=int, default=100)
    parser.add_argument("--rate", type=float, default=50.0, help="questions per second (0: all at once)")
    parser.add_argument("--faq", type=Path, default=REPO / "faq")
    parser.add_argument(
        "--concurrency", type=int, default=MAX_CONCURRENT_UPDATES, help="updates the bot processes at once"
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=120.0, help="upper bound for the whole run, seconds")
    args = parser.parse_args()
    if not 1 <= args.residents <= args.questions <= 100_000:
        parser.error("need 1 <= residents <= questions <= 100000")
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    with tempfile.TemporaryDirectory(prefix="servicebot-load-") as tmp:
        try:
            return asyncio.run(asyncio.wait_for(run(args, Path(tmp)), args.timeout + 30))
        except (TimeoutError, AssertionError) as exc:
            return failed(exc)


if __name__ == "__main__":
    raise SystemExit(main())
