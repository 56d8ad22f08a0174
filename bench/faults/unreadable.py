"""Fault script: one Telegram update python-telegram-bot cannot parse, among good ones.

Reruns issue 22's item 3: a real `servicebot run` process (long polling the fake Bot API of
tests/support/botapi.py on 127.0.0.1, the shipped FAQ, a temporary data dir) gets one update whose
`date` is not a timestamp, then --questions questions from as many residents. For --seconds
from the bad update on, it counts the questions answered, the CPU the bot used (from
/proc/PID/stat) and what it wrote to its log.

Prints those figures per run. Exits 1 if this checkout left a question unanswered.

--compare SRC also runs the case against the servicebot package in SRC (e.g. the `src` of the
commit before the fix), as a baseline measured the same way in the same run.

Usage: python -m bench.faults.unreadable [--questions 50] [--seconds 10] [--compare DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from servicebot.answering.service import Service
from servicebot.config import load_settings

from bench import REPO
from bench.faults.faulting import add_compare, each_checkout, fake_api_env, print_table
from bench.harness import question_pool
from tests.support.botapi import FakeBotApi

FIRST_USER = 720_000
START_TIMEOUT = 60.0
TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class Outcome:
    label: str
    asked: int = 0
    answered: int = 0
    seconds: float = 0.0
    cpu_seconds: float = 0.0
    log_bytes: int = 0
    critical_lines: int = 0

    @property
    def ok(self) -> bool:
        return self.answered == self.asked


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process `pid` so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def unreadable() -> dict:
    return {
        "message": {
            "message_id": 1,
            "date": "yesterday",
            "chat": {"id": FIRST_USER - 1, "type": "private"},
            "from": {"id": FIRST_USER - 1, "is_bot": False, "first_name": "居民"},
            "text": "低保怎么申请",
        }
    }


async def scenario(args: argparse.Namespace, label: str, src: Path | None, workdir: Path) -> Outcome:
    outcome = Outcome(label)
    settings = load_settings(env={}, overrides={"faq_dir": args.faq, "data_dir": workdir / "expected"})
    pool = question_pool(Service.from_settings(settings, secret="bench").snapshot.faq)
    rng = random.Random(args.seed)
    async with FakeBotApi() as api:
        env = fake_api_env(api.base_url, args.faq, workdir / "data", src=src)
        log_path = workdir / "bot.log"
        with log_path.open("wb") as log:
            bot = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "servicebot", "run", env=env, stdin=asyncio.subprocess.DEVNULL, stderr=log
            )
        try:
            await api.wait_for("setMyCommands", timeout=START_TIMEOUT)
            log_before, cpu_before, began = log_path.stat().st_size, cpu_seconds(bot.pid), time.monotonic()
            api.inject(unreadable())
            mark = api.mark()
            for n in range(args.questions):
                api.user_message(rng.choice(pool), user_id=FIRST_USER + n)
            outcome.asked = args.questions
            while time.monotonic() - began < args.seconds:
                replied = {int(c.chat_id) for c in api.sent[mark:] if c.method == "sendMessage"}
                outcome.answered = sum(FIRST_USER + n in replied for n in range(args.questions))
                await asyncio.sleep(0.2)
            outcome.seconds = time.monotonic() - began
            outcome.cpu_seconds = cpu_seconds(bot.pid) - cpu_before
            outcome.log_bytes = log_path.stat().st_size - log_before
        finally:
            bot.terminate()
            try:
                await asyncio.wait_for(bot.wait(), 40)
            except TimeoutError:
                bot.kill()
                await bot.wait()
    outcome.critical_lines = log_path.read_text(encoding="utf-8", errors="replace").count(" CRITICAL ")
    return outcome


def report(args: argparse.Namespace, outcomes: list[Outcome]) -> None:
    title = (
        f"one unreadable update, then {args.questions} questions from as many residents; "
        f"measured for {args.seconds:g} s from the bad update on"
    )
    rows = [
        ("questions answered", lambda o: f"{o.answered}/{o.asked}"),
        ("bot's CPU, share of one core", lambda o: f"{o.cpu_seconds / o.seconds:.0%}"),
        ("bot's log, bytes per second", lambda o: f"{o.log_bytes / o.seconds:,.0f}"),
        ("CRITICAL lines in the bot's log", lambda o: f"{o.critical_lines:,}"),
    ]
    print_table(title, rows, outcomes)


async def main_async(args: argparse.Namespace) -> int:
    return await each_checkout(args, scenario, report, "servicebot-unreadable-")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--questions", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--faq", type=Path, default=REPO / "faq")
    parser.add_argument("--seed", type=int, default=1)
    add_compare(parser)
    args = parser.parse_args()
    if not 1 <= args.questions <= 1000 or not 1 <= args.seconds <= 120:
        parser.error("need 1 <= questions <= 1000 and 1 <= seconds <= 120")
    return asyncio.run(main_async(args))


if __name__ == "__main__":
    raise SystemExit(main())
