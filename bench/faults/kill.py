"""Fault script: kill -9 the Telegram bot again and again under load, then stop it cleanly again
and again, and count what residents got.

--questions questions (default 900) arrive at --rate a second (default 100), each from a
resident of its own, through the fake Bot API (tests/support/botapi.py, on 127.0.0.1) to a real
`servicebot run` process (long polling; the shipped FAQ; a temporary data dir; the bot's own
outgoing limit of 30 messages a second, so replies fall behind and the bot holds a backlog of
hundreds of questions it has already confirmed to Telegram).

1. --kills times in a row (default 3), the running bot is killed with SIGKILL --every seconds
   after it started answering (the first time --kill-at seconds after the first question,
   once it holds a backlog of at least --backlog confirmed questions, waiting at most 30 s
   for one), and restarted at once; questions keep arriving meanwhile (Telegram holds them).
   Each run answers about 30 a second, so the backlog lasts through every restart.
2. Then --stops times in a row (default 3) it is stopped cleanly (SIGTERM) --every seconds
   after it started answering, and restarted.
3. The last run answers what is left; it ends once every resident has an answer or nothing
   was sent for --quiet seconds.

Counted per resident: answered exactly once, lost (no answer), wrong (a message that is not
the answer to their question), answered twice — split into the duplicates Telegram's protocol
makes unavoidable (the reply had reached Telegram before a kill or stop, while the update was
still unfinished in the journal: Telegram cannot be asked whether a message arrived) and
avoidable ones (the bot had noted the reply as sent, or sent it again without a kill). From
the interaction log: questions logged but never answered ("logged as answered, never sent"),
answered but never logged, logged twice. From the journal: dead letters.

Exits 1 if anything was lost, wrong, avoidably duplicated, logged wrongly, or dead-lettered.

--compare SRC also runs the same case against the servicebot package in SRC (e.g. the `src`
of an older checkout), as a baseline measured the same way in the same run.

Usage: python -m bench.faults.kill [--questions 900] [--rate 100] [--kills 3] [--stops 3] [--every 1] [--compare DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import sqlite3
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from servicebot.answering.service import Service
from servicebot.channels.tg_render import render_html
from servicebot.config import load_settings
from servicebot.privacy import pseudonym
from servicebot.records import Channel

from bench import REPO
from bench.faults.faulting import (
    BotProcess,
    Quiet,
    add_compare,
    dead_letters,
    each_checkout,
    fake_api_env,
    log_lines,
    polling,
    print_table,
    quiet_fake_server,
    unfinished_updates,
    until,
)
from tests.support.botapi import FakeBotApi

FIRST_USER = 600_000
SECRET = "fault-kill-pseudonym-secret"


@dataclass
class Event:
    kind: str  # "kill" or "stop"
    at: float  # time.monotonic() once the process was gone
    unfinished: set[int]  # the journal's unanswered updates once the process was gone


@dataclass
class Outcome:
    label: str
    sent: int = 0
    once: int = 0
    lost: int = 0
    wrong: int = 0
    unavoidable: int = 0  # answered twice: the reply reached Telegram, the bot died before noting it
    avoidable: int = 0  # answered twice otherwise
    kills: int = 0
    stops: int = 0
    backlog_at_events: list[int] = field(default_factory=list)
    stop_seconds: list[float] = field(default_factory=list)
    logged_unanswered: int = 0
    answered_unlogged: int = 0
    logged_twice: int = 0
    dead: int = 0
    errors: list[str] = field(default_factory=list)
    avoidable_when: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        bad = self.lost + self.wrong + self.avoidable + self.logged_unanswered + self.answered_unlogged
        return self.sent > 0 and not (bad or self.logged_twice or self.dead or self.errors)


def questions(service: Service, count: int, seed: int) -> list[tuple[str, list[str]]]:
    """`count` questions (FAQ phrasings, typos, off-topic), each with the replies it should get."""
    faq = service.snapshot.faq
    pool = [p for e in faq.entries for p in (e.question, *e.alternates)]
    pool += ["今天天气怎么样", "你是机器人吗", "附近有什么好吃的", "快递站几点关门"]
    rng = random.Random(seed)
    chosen = [rng.choice(pool) for _ in range(count)]
    return [(q, render_html(service.answer(q, channel=Channel.TELEGRAM).reply)) for q in chosen]


def replies_by_chat(api: FakeBotApi) -> dict[int, list[tuple[str, float]]]:
    got: dict[int, list[tuple[str, float]]] = {}
    for call in api.calls("sendMessage"):
        got.setdefault(int(call.chat_id), []).append((call.text or "", call.t))
    return got


def confirmed_unanswered(api: FakeBotApi) -> int:
    answered = replies_by_chat(api)
    return sum(1 for r in api.update_records if r.confirmed_at and r.update["message"]["chat"]["id"] not in answered)


async def scenario(args: argparse.Namespace, label: str, src: Path | None, workdir: Path) -> Outcome:
    outcome = Outcome(label)
    settings = load_settings(env={}, overrides={"faq_dir": args.faq, "data_dir": workdir / "data"})
    plan = questions(Service.from_settings(settings, secret="fault"), args.questions, args.seed)
    log_path = workdir / "bot.log"
    events: list[Event] = []
    async with FakeBotApi() as api:
        env = fake_api_env(
            api.base_url,
            args.faq,
            settings.data_dir,
            {
                "SERVICEBOT_PSEUDONYM_SECRET": SECRET,
            },
            src,
        )

        async def started() -> BotProcess:
            return await polling(api, env, log_path)

        async def arrive() -> None:
            began = time.monotonic()
            for n, (question, _) in enumerate(plan):
                await asyncio.sleep(max(0.0, began + n / args.rate - time.monotonic()))
                api.user_message(question, user_id=FIRST_USER + n)

        bot = await started()
        arrival = asyncio.create_task(arrive())
        try:
            for n, kind in enumerate(["kill"] * args.kills + ["stop"] * args.stops):
                await asyncio.sleep(args.kill_at if n == 0 else args.every)
                if n == 0:  # the first signal comes once there is a backlog; it lasts through the rest
                    await until(lambda: confirmed_unanswered(api) >= args.backlog, 30)
                outcome.backlog_at_events.append(confirmed_unanswered(api))
                if kind == "kill":
                    await bot.kill()
                    outcome.kills += 1
                else:
                    outcome.stop_seconds.append(await bot.stop())
                    outcome.stops += 1
                # Once the process is gone: every request it made has arrived by now.
                events.append(Event(kind, time.monotonic(), unfinished_updates(settings.journal_path)))
                bot = await started()
            await arrival
            settled = Quiet(lambda: len(api.calls("sendMessage")), args.quiet)
            await until(lambda: len(replies_by_chat(api)) >= len(plan) or settled(), args.timeout)
            await asyncio.sleep(1.0)  # anything sent twice late would show up here
            await bot.stop()
        finally:
            arrival.cancel()
            bot.ensure_gone()

        chat_of_update = {r.update_id: r.update["message"]["chat"]["id"] for r in api.update_records}
        update_of_chat = {chat: update for update, chat in chat_of_update.items()}
        got = replies_by_chat(api)

    outcome.sent = len(plan)
    for n, (_, expected) in enumerate(plan):
        chat = FIRST_USER + n
        replies = got.get(chat, [])
        texts = [text for text, _ in replies]
        if not replies:
            outcome.lost += 1
        elif any(text not in expected for text in texts) or not set(expected) <= set(texts):
            outcome.wrong += 1
        elif len(texts) == len(expected):
            outcome.once += 1
        elif _unavoidable(replies[0][1], update_of_chat.get(chat), events):
            outcome.unavoidable += 1
        else:
            outcome.avoidable += 1
            update_id = update_of_chat.get(chat)
            outcome.avoidable_when.append(
                f"update {update_id}: copies at "
                + ", ".join(" / ".join(f"{t - e.at:+.3f} s from {e.kind}" for e in events) for _, t in replies)
                + "; unfinished at each signal: "
                + ",".join("y" if update_id in e.unfinished else "n" for e in events)
            )
    logged = _logged(settings.db_path)
    answered = {pseudonym(SECRET, FIRST_USER + n) for n in range(len(plan)) if got.get(FIRST_USER + n)}
    outcome.logged_unanswered = len(set(logged) - answered)
    outcome.answered_unlogged = len(answered - set(logged))
    outcome.logged_twice = sum(1 for count in logged.values() if count > 1)
    outcome.dead = dead_letters(settings.journal_path)
    outcome.errors = log_lines(log_path)["errors"]
    return outcome


def _unavoidable(first_sent: float, update_id: int | None, events: list[Event]) -> bool:
    """The first copy reached Telegram before a kill or stop, at which the journal still held
    the update unanswered: the bot could not know it had been sent."""
    event = next((e for e in events if e.at >= first_sent), None)
    return event is not None and update_id is not None and update_id in event.unfinished


def _logged(db_path: Path) -> Counter[str]:
    """Typed questions in the interaction log, per resident key."""
    with contextlib.closing(sqlite3.connect(db_path)) as conn:
        return Counter(r[0] for r in conn.execute("SELECT resident FROM interactions WHERE via = 'question'"))


def report(args: argparse.Namespace, outcomes: list[Outcome]) -> None:
    rows = [
        ("questions sent", lambda o: o.sent),
        ("answered exactly once", lambda o: o.once),
        ("lost (never answered)", lambda o: o.lost),
        ("wrong answer", lambda o: o.wrong),
        ("twice: unavoidable (protocol)", lambda o: o.unavoidable),
        ("twice: avoidable", lambda o: o.avoidable),
        ("kill -9 / SIGTERM restarts", lambda o: f"{o.kills} / {o.stops}"),
        ("backlog at each signal", lambda o: ",".join(map(str, o.backlog_at_events))),
        ("clean stops: seconds", lambda o: ",".join(f"{s:.1f}" for s in o.stop_seconds)),
        ("logged, never answered", lambda o: o.logged_unanswered),
        ("answered, never logged", lambda o: o.answered_unlogged),
        ("logged twice", lambda o: o.logged_twice),
        ("dead letters", lambda o: o.dead),
        ("ERROR lines in the bot's log", lambda o: len(o.errors)),
    ]
    print_table(
        f"kill -9 and clean restarts under load: {args.questions} questions at {args.rate:g}/s, one per resident, "
        f"FAQ {args.faq}; {args.kills} x SIGKILL then {args.stops} x SIGTERM, each {args.every:g} s after the "
        "restarted bot answers (the first "
        f"{args.kill_at:g} s after the first question); a last run answers the rest",
        rows,
        outcomes,
    )
    for o in outcomes:
        for when in o.avoidable_when[:5]:
            print(f"{o.label}: answered twice, avoidably: {when}")
        for line in o.errors[:5]:
            print(f"{o.label}: {line}")


async def main_async(args: argparse.Namespace) -> int:
    quiet_fake_server()
    return await each_checkout(args, scenario, report, "servicebot-fault-", args.workdir)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--questions", type=int, default=900)
    parser.add_argument("--rate", type=float, default=100.0, help="questions per second")
    parser.add_argument("--kills", type=int, default=3, help="kill -9 restarts in a row")
    parser.add_argument("--stops", type=int, default=3, help="clean (SIGTERM) restarts in a row, after the kills")
    parser.add_argument("--kill-at", type=float, default=3.0, help="seconds after the first question")
    parser.add_argument("--every", type=float, default=1.0, help="seconds a restarted bot answers before the next")
    parser.add_argument(
        "--backlog", type=int, default=500, help="questions confirmed and unanswered the first signal waits for"
    )
    parser.add_argument("--faq", type=Path, default=REPO / "faq")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--quiet", type=float, default=10.0, help="seconds without a reply that end the last run")
    parser.add_argument("--timeout", type=float, default=240.0, help="upper bound for the last run, seconds")
    add_compare(parser)
    parser.add_argument("--workdir", type=Path, help="where the runs' data and logs go (default: a temporary dir)")
    args = parser.parse_args()
    if not 1 <= args.questions <= 20_000 or not 0 < args.rate <= 1000 or args.kills < 0 or args.stops < 0:
        parser.error("need 1 <= questions <= 20000, 0 < rate <= 1000, kills and stops >= 0")
    return asyncio.run(main_async(args))


if __name__ == "__main__":
    raise SystemExit(main())
