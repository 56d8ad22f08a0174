"""Fault script: kill -9 the bot while the web chat and WeChat answer flat out, and count the
answers missing from the interaction log (issue 22: 0.7–6.5% per run were lost, written a
moment after the answer went out).

A real `servicebot run` process serves the web chat and WeChat (plain mode) on 127.0.0.1.
--residents web sessions and as many WeChat users (tests/support/wechat_sim.py) ask questions back
to back, each a long story ending in a question (as residents write; storing one takes real
work, so the log's writer has something to fall behind on) with a tag of its own. The bot is
killed with SIGKILL --kills times (default 3), --every seconds after each restart answers,
and restarted at once; the last run is stopped cleanly.

Counted: answers received (HTTP 200 with an answer; WeChat's reply) and, from the log,
answered but not logged (lost), logged twice, and logged but never received — the answer was
on its way when the process died or the run ended, which the log cannot know (not a fault).

Exits 1 if an answered question is missing from the log or logged twice.

Usage: python -m bench.faults.log [--residents 40] [--kills 3] [--every 6] [--compare SRC]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import secrets
import sqlite3
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from bench import REPO
from bench.faults.faulting import BotProcess, add_compare, bot_env, each_checkout, log_lines, print_table, until
from tests.support.webserver import free_port
from tests.support.wechat_sim import TEST_TOKEN, WechatSim

QUESTIONS = ("低保怎么申请", "书屋在哪", "养老保险怎么交", "体验馆", "今天天气怎么样")
STORY = "我家住在凤凰小区三栋二单元，老人年纪大了腿脚不方便，孩子在外地打工，家里的事情都是我一个人跑，" * 6


@dataclass
class Outcome:
    label: str
    answered: int = 0
    lost: int = 0
    twice: int = 0
    in_flight: int = 0
    kills: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.answered > 0 and not (self.lost or self.twice)


def healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as response:
            return response.status == 200
    except OSError:
        return False


async def scenario(args: argparse.Namespace, label: str, src: Path | None, workdir: Path) -> Outcome:
    import aiohttp

    outcome = Outcome(label)
    port = free_port()
    data, log_path = workdir / "data", workdir / "bot.log"
    env = bot_env(
        {
            "SERVICEBOT_FAQ_DIR": str(args.faq),
            "SERVICEBOT_DATA_DIR": str(data),
            "SERVICEBOT_WEB_PORT": str(port),
            "SERVICEBOT_WECHAT_TOKEN": TEST_TOKEN,
            "SERVICEBOT_RELOAD_INTERVAL": "0",
            "SERVICEBOT_FLOOD_MESSAGES": "1000000",
            "SERVICEBOT_WEB_ADDRESS_MESSAGES": "100000000",
        },
        src,
    )
    answered: list[str] = []
    wechat = WechatSim(f"http://127.0.0.1:{port}/wechat", deadline=5.0, tries=1)

    async def started() -> BotProcess:
        return await BotProcess(env, log_path).start(lambda: until(lambda: healthy(port), 90))

    async def web_resident(http: aiohttp.ClientSession, n: int) -> None:
        session = secrets.token_hex(16)
        for k in range(100_000):
            question = f"{STORY}{QUESTIONS[k % len(QUESTIONS)]} W{n}x{k}"
            try:
                async with http.post(
                    f"http://127.0.0.1:{port}/api/ask", json={"session": session, "text": question}
                ) as response:
                    doc = await response.json()
                if response.status == 200 and doc["messages"]:
                    answered.append(question)
            except (aiohttp.ClientError, ValueError):
                await asyncio.sleep(0.2)  # the bot is down: its next run answers

    async def wechat_resident(http: aiohttp.ClientSession, n: int) -> None:
        for k in range(100_000):
            question = f"{STORY}{QUESTIONS[k % len(QUESTIONS)]} X{n}x{k}"
            try:
                reply = await wechat.post(http, wechat.text(f"oWx{n:024d}", question))
            except aiohttp.ClientError:
                await asyncio.sleep(0.2)
                continue
            if reply.status == 200 and reply.content:
                answered.append(question)

    bot = await started()
    async with aiohttp.ClientSession() as http:
        residents = [asyncio.create_task(web_resident(http, n)) for n in range(args.residents)]
        residents += [asyncio.create_task(wechat_resident(http, n)) for n in range(args.residents)]
        try:
            for _ in range(args.kills):
                await asyncio.sleep(args.every)
                await bot.kill()
                outcome.kills += 1
                bot = await started()
            await asyncio.sleep(args.every)
            for resident in residents:
                resident.cancel()
            await asyncio.gather(*residents, return_exceptions=True)
            await bot.stop()
        finally:
            bot.ensure_gone()

    with contextlib.closing(sqlite3.connect(data / "interactions.sqlite3")) as conn:
        logged = Counter(q for (q,) in conn.execute("SELECT question FROM interactions"))
    outcome.answered = len(answered)
    outcome.lost = sum(1 for q in answered if q not in logged)
    outcome.twice = sum(1 for n in logged.values() if n > 1)
    outcome.in_flight = len(set(logged) - set(answered))
    outcome.errors = log_lines(log_path)["errors"]
    return outcome


def report(args: argparse.Namespace, outcomes: list[Outcome]) -> None:
    rows = [
        ("answers received", lambda o: o.answered),
        ("answered, not in the log (lost)", lambda o: o.lost),
        ("logged twice", lambda o: o.twice),
        ("logged, answer on its way at a kill or the end", lambda o: o.in_flight),
        ("kill -9 restarts", lambda o: o.kills),
        ("ERROR lines in the bot's log", lambda o: len(o.errors)),
    ]
    print_table(
        f"the log at kill -9: {args.residents} web sessions and {args.residents} WeChat users asking back to back; "
        f"{args.kills} x SIGKILL, each {args.every:g} s after the restarted bot answers",
        rows,
        outcomes,
    )


async def main_async(args: argparse.Namespace) -> int:
    return await each_checkout(args, scenario, report, "servicebot-fault-log-")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--residents", type=int, default=40, help="web sessions, and as many WeChat users")
    parser.add_argument("--kills", type=int, default=3)
    parser.add_argument("--every", type=float, default=6.0, help="seconds a restarted bot answers before the next")
    parser.add_argument("--faq", type=Path, default=REPO / "tests" / "fixtures" / "mini")
    add_compare(parser)
    args = parser.parse_args()
    if not 1 <= args.residents <= 500 or args.kills < 0 or args.every <= 0:
        parser.error("need 1 <= residents <= 500, kills >= 0, every > 0")
    return asyncio.run(main_async(args))


if __name__ == "__main__":
    raise SystemExit(main())
