"""Fault script: kill -9 the Telegram bot under load, restart it, and count what residents got.

Reruns issue 13's case: 1,001 questions at 100 a second, each from a resident of its own,
sent through the fake Bot API (tests/botapi.py, on 127.0.0.1) to a real `servicebot run`
process (long polling; the shipped FAQ; a temporary data dir; the bot's own outgoing limit
of 30 messages a second, so replies fall behind and the bot holds a backlog of questions it
has already confirmed to Telegram).

1. Run 1 is killed with SIGKILL --kill-at seconds after the first question, and restarted at
   once; questions keep arriving meanwhile (Telegram holds them).
2. Once the last question has arrived, run 2 is stopped cleanly (SIGTERM) while it still has
   a backlog: how long that takes is the clean-stop drain time.
3. Run 3 answers what is left; it is stopped once every resident has an answer or nothing was
   sent for --quiet seconds.

Prints questions sent, answered exactly once, answered twice (or more), lost (never
answered) and wrong (a reply that is not the answer to its question); the backlog at the
kill; the clean stop's duration. Exits 1 if anything was lost, duplicated or wrong.

--compare SRC also runs the case against the servicebot package in SRC (e.g. the `src` of a
checkout without the journal), as a baseline measured the same way in the same run.

Usage: python bench/fault_kill.py [--questions 1001] [--rate 100] [--kill-at 5] [--compare DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import signal
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from servicebot.channels.tg_render import render_html  # noqa: E402
from servicebot.config import load_settings  # noqa: E402
from servicebot.service import Service  # noqa: E402

from botapi import TOKEN, FakeBotApi  # noqa: E402

FIRST_USER = 600_000
START_TIMEOUT = 60.0  # seconds for a bot process to start polling
STOP_TIMEOUT = 60.0  # seconds a clean stop may take before the script kills the process
LEFT_RE = re.compile(r"(\d+) updates wait in the journal")


@dataclass
class Outcome:
    label: str
    sent: int = 0
    once: int = 0
    twice: int = 0
    lost: int = 0
    wrong: int = 0
    backlog_at_kill: int = 0
    unconfirmed_at_kill: int = 0
    stop_seconds: float = float("nan")
    backlog_at_stop: int = 0
    left_in_journal: str = "-"
    twice_when: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.sent > 0 and self.once == self.sent and not self.errors


def questions(service: Service, count: int, seed: int) -> list[tuple[str, list[str]]]:
    """`count` questions (FAQ phrasings, typos, off-topic), each with the replies it should get."""
    faq = service.snapshot.faq
    pool = [p for e in faq.entries for p in (e.question, *e.alternates)]
    pool += ["今天天气怎么样", "你是机器人吗", "附近有什么好吃的", "快递站几点关门"]
    rng = random.Random(seed)
    chosen = [rng.choice(pool) for _ in range(count)]
    return [(q, render_html(service.answer(q, channel="bench").reply)) for q in chosen]


class Bot:
    """One `servicebot run` process, its log in a file."""

    def __init__(self, env: dict[str, str], log_path: Path):
        self.env = env
        self.log_path = log_path
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        with self.log_path.open("ab") as log:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "servicebot", "run", env=self.env, stdin=asyncio.subprocess.DEVNULL, stderr=log
            )

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)

    async def stop(self) -> float:
        """SIGTERM; seconds until the process exited (killed after STOP_TIMEOUT)."""
        assert self.process is not None
        began = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(self.process.wait(), STOP_TIMEOUT)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()
        return time.monotonic() - began

    async def wait(self) -> None:
        assert self.process is not None
        await self.process.wait()


def answered_chats(api: FakeBotApi) -> dict[int, list[str]]:
    replies: dict[int, list[str]] = {}
    for call in api.calls("sendMessage"):
        replies.setdefault(int(call.chat_id), []).append(call.text or "")
    return replies


def backlog(api: FakeBotApi) -> tuple[int, int]:
    """(confirmed to the bot but not answered, handed out but not confirmed)."""
    answered = answered_chats(api)
    confirmed = unconfirmed = 0
    for record in api.update_records:
        chat = record.update["message"]["chat"]["id"]
        if chat in answered:
            continue
        if record.confirmed_at is not None:
            confirmed += 1
        elif record.handed_out_at is not None:
            unconfirmed += 1
    return confirmed, unconfirmed


async def wait_until(check, timeout: float, step: float = 0.05) -> bool:
    """Poll `check()` until true or `timeout` seconds pass."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(step)
    return True


async def scenario(args: argparse.Namespace, label: str, src: Path | None, workdir: Path) -> Outcome:
    outcome = Outcome(label)
    settings = load_settings(env={}, overrides={"faq_dir": args.faq, "data_dir": workdir / "expected"})
    plan = questions(Service.from_settings(settings, secret="fault"), args.questions, args.seed)
    async with FakeBotApi() as api:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SERVICEBOT_")}
        env.update(
            SERVICEBOT_TOKEN=TOKEN,
            SERVICEBOT_BASE_URL=api.base_url,
            SERVICEBOT_FAQ_DIR=str(args.faq),
            SERVICEBOT_DATA_DIR=str(workdir / "data"),
            SERVICEBOT_RELOAD_INTERVAL="0",
        )
        if src is not None:
            env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(src), env.get("PYTHONPATH")]))
        log_path = workdir / "bot.log"

        async def started(bot: Bot) -> None:
            mark = api.mark()
            await bot.start()
            await api.wait_for("setMyCommands", timeout=START_TIMEOUT, since=mark)

        async def arrive() -> None:
            began = time.monotonic()
            for n, (question, _) in enumerate(plan):
                await asyncio.sleep(max(0.0, began + n / args.rate - time.monotonic()))
                api.user_message(question, user_id=FIRST_USER + n)

        first = Bot(env, log_path)
        await started(first)
        arrival = asyncio.create_task(arrive())
        await asyncio.sleep(args.kill_at)
        outcome.backlog_at_kill, outcome.unconfirmed_at_kill = backlog(api)
        events = {"kill": time.monotonic()}
        first.kill()
        await first.wait()

        second = Bot(env, log_path)
        await started(second)
        await arrival
        await wait_until(lambda: backlog(api)[0] > 0, 10)
        outcome.backlog_at_stop = backlog(api)[0]
        events["SIGTERM"] = time.monotonic()
        outcome.stop_seconds = await second.stop()

        third = Bot(env, log_path)
        await started(third)
        quiet = {"count": -1, "since": time.monotonic()}

        def settled() -> bool:
            count = len(api.calls("sendMessage"))
            if count != quiet["count"]:
                quiet.update(count=count, since=time.monotonic())
            everyone = len(answered_chats(api)) >= len(plan)
            return everyone or time.monotonic() - quiet["since"] > args.quiet

        await wait_until(settled, args.timeout)
        await asyncio.sleep(1.0)  # anything sent twice late would show up here
        await third.stop()

    log_text = log_path.read_text(encoding="utf-8", errors="replace")
    left = LEFT_RE.findall(log_text)
    outcome.left_in_journal = left[0] if left else "-"
    outcome.errors = [line for line in log_text.splitlines() if " ERROR " in line or "Traceback" in line]
    replies = answered_chats(api)
    outcome.sent = len(plan)
    for n, (_, expected) in enumerate(plan):
        got = replies.get(FIRST_USER + n, [])
        if not got:
            outcome.lost += 1
        elif got == expected:
            outcome.once += 1
        elif len(got) > len(expected) and got == expected * (len(got) // len(expected)):
            outcome.twice += 1
            times = [c.t for c in api.calls("sendMessage", chat_id=FIRST_USER + n)]
            outcome.twice_when.append(
                ", ".join(" / ".join(f"{t - at:+.3f} s from {name}" for name, at in events.items()) for t in times)
            )
        else:
            outcome.wrong += 1
    return outcome


def report(args: argparse.Namespace, outcomes: list[Outcome]) -> None:
    print(
        f"kill -9 under load: {args.questions} questions at {args.rate:g}/s, one per resident, "
        f"FAQ {args.faq}; SIGKILL {args.kill_at:g} s after the first, restart at once; "
        "clean stop (SIGTERM) once all have arrived; a third run answers the rest"
    )
    rows = [
        ("questions sent", lambda o: o.sent),
        ("answered exactly once", lambda o: o.once),
        ("answered twice (or more)", lambda o: o.twice),
        ("lost (never answered)", lambda o: o.lost),
        ("wrong answer", lambda o: o.wrong),
        ("at the kill: confirmed, unanswered", lambda o: o.backlog_at_kill),
        ("at the kill: fetched, not yet confirmed", lambda o: o.unconfirmed_at_kill),
        ("clean stop: backlog at SIGTERM", lambda o: o.backlog_at_stop),
        ("clean stop: seconds to exit", lambda o: f"{o.stop_seconds:.1f}"),
        ("clean stop: left in the journal", lambda o: o.left_in_journal),
        ("ERROR lines in the bot's log", lambda o: len(o.errors)),
    ]
    width = max(len(name) for name, _ in rows) + 2
    print(f"{'':<{width}}" + "".join(f"{o.label:>24}" for o in outcomes))
    for name, value in rows:
        print(f"{name:<{width}}" + "".join(f"{value(o)!s:>24}" for o in outcomes))
    for o in outcomes:
        for when in o.twice_when[:5]:
            print(f"{o.label}: a reply sent twice, at {when}")
        for line in o.errors[:5]:
            print(f"{o.label}: {line}")


async def main_async(args: argparse.Namespace) -> int:
    outcomes = []
    with tempfile.TemporaryDirectory(prefix="servicebot-fault-") as tmp:
        runs = [("this checkout", None)]
        if args.compare:
            runs.append((f"baseline ({args.compare.name})", args.compare))
        for n, (label, src) in enumerate(runs):
            workdir = Path(tmp) / str(n)
            workdir.mkdir()
            outcomes.append(await scenario(args, label, src, workdir))
    report(args, outcomes)
    return 0 if outcomes[0].ok else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--questions", type=int, default=1001)
    parser.add_argument("--rate", type=float, default=100.0, help="questions per second")
    parser.add_argument("--kill-at", type=float, default=5.0, help="seconds after the first question")
    parser.add_argument("--faq", type=Path, default=REPO / "faq")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--quiet", type=float, default=10.0, help="seconds without a reply that end run 3")
    parser.add_argument("--timeout", type=float, default=180.0, help="upper bound for run 3, seconds")
    parser.add_argument("--compare", type=Path, help="a servicebot package source dir to run as the baseline")
    args = parser.parse_args()
    if not 1 <= args.questions <= 20_000 or not 0 < args.rate <= 1000:
        parser.error("need 1 <= questions <= 20000 and 0 < rate <= 1000")
    if args.compare and not (args.compare / "servicebot" / "__init__.py").is_file():
        parser.error(f"--compare {args.compare}: no servicebot package there")
    return asyncio.run(main_async(args))


if __name__ == "__main__":
    raise SystemExit(main())
