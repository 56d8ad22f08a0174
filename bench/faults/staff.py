"""Fault script: kill -9 the bot while it posts hand-off cards and while it relays staff
replies, and count what staff and residents got.

--tickets residents (default 300) each ask a question the FAQ cannot answer and press 转人工,
through the fake Bot API (tests/support/botapi.py, on 127.0.0.1), to a real bot process: what
`servicebot run` runs, with the staff group's send limit off (`python -m bench.faults.faulting --bot`);
the bot's overall limit of 30 messages a second stays, so cards and replies queue up.

1. While the cards are being posted, the bot is killed with SIGKILL --kills times in a row
   (default 3), --every seconds after each restart answers (the first --kill-at seconds after
   the presses), and restarted at once.
2. Once every ticket has a card, a staff member replies to each ticket's *first* card (so a
   card posted twice, whose first copy's message id the bot never recorded, is answered
   through its key), each reply naming its resident; while the replies are relayed the bot
   is killed --kills times again, then stopped cleanly and restarted --stops times (default 1).
3. The last run delivers what is left; it ends when every resident has a reply or nothing was
   sent for --quiet seconds.

Counted: tickets without a card, cards posted twice — those the bot counted itself ("sending
again …" in its log: Telegram cannot say whether a message arrived) and those it did not —
staff replies lost, delivered twice (counted by the bot, or not), delivered to the wrong
resident, refused; dead letters; replies left undelivered in the database.

Exits 1 if a ticket has no card, a reply is lost, misdirected or refused, anything is
duplicated without the bot counting it, or anything is dead-lettered.

Usage: python -m bench.faults.staff [--tickets 300] [--kills 3] [--stops 1] [--every 1] [--compare SRC]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import re
import sqlite3
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from servicebot.answering import replies

from bench import REPO
from bench.faults.faulting import (
    BOT_WITHOUT_GROUP_LIMIT,
    BotProcess,
    Quiet,
    add_compare,
    dead_letters,
    each_checkout,
    fake_api_env,
    log_lines,
    number_in,
    polling,
    print_table,
    quiet_fake_server,
    until,
)
from tests.support.botapi import FakeBotApi

STAFF = -1004000000001
STAFF_MEMBER = (3001, "张三")
FIRST_USER = 800_000
CARD_RE = re.compile(r"人工咨询 #(\d+)")
TOKEN_RE = re.compile(r"居民R(\d+)问")
AGAIN_RE = re.compile(r"sending again .*?(card|staff reply|message for) .*?#(\d+)")


def question(resident: int) -> str:
    return f"居民R{resident:04d}问：火星签证怎么续办"


@dataclass
class Outcome:
    label: str
    tickets: int = 0
    carded: int = 0  # tickets with at least one card
    cards_twice_counted: int = 0
    cards_twice_uncounted: int = 0
    wrong_cards: int = 0
    replied: int = 0  # residents who got their reply
    replies_twice_counted: int = 0
    replies_twice_uncounted: int = 0
    lost: int = 0
    misdirected: int = 0
    refused: int = 0  # staff told a reply was not relayed
    left_undelivered: int = -1
    dead: int = 0
    kills: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        bad = self.tickets - self.carded + self.wrong_cards + self.cards_twice_uncounted + self.replies_twice_uncounted
        bad += self.lost + self.misdirected + self.refused + self.dead + max(self.left_undelivered, 0)
        return self.tickets > 0 and not bad


async def scenario(args: argparse.Namespace, label: str, src: Path | None, workdir: Path) -> Outcome:
    outcome = Outcome(label, tickets=args.tickets)
    data = workdir / "data"
    log_path = workdir / "bot.log"
    users = [FIRST_USER + r for r in range(args.tickets)]
    async with FakeBotApi() as api:
        env = fake_api_env(
            api.base_url,
            args.faq,
            data,
            {
                "SERVICEBOT_STAFF_CHAT_ID": str(STAFF),
            },
            src,
        )

        async def started() -> BotProcess:
            return await polling(api, env, log_path, BOT_WITHOUT_GROUP_LIMIT)

        def cards() -> list:
            return [c for c in api.calls("sendMessage", chat_id=STAFF) if CARD_RE.search(c.text or "")]

        def carded() -> int:
            return len({number_in(CARD_RE, c.text) for c in cards()})

        def relayed() -> list:
            return [c for c in api.calls("sendMessage") if replies.STAFF_REPLY_PREFIX in (c.text or "")]

        async def kills(bot: BotProcess, first: float) -> BotProcess:
            for n in range(args.kills):
                await asyncio.sleep(first if n == 0 else args.every)
                await bot.kill()
                outcome.kills += 1
                bot = await started()
            return bot

        bot = await started()
        try:
            # Questions the bot cannot answer, each with 转人工 under its reply.
            mark = api.mark()
            for r, user in enumerate(users):
                api.user_message(question(r), user_id=user)
            answers = await api.wait_for_count("sendMessage", len(users), timeout=args.timeout, since=mark)
            presses = {}
            for call in answers:
                for row in (call.params.get("reply_markup") or {}).get("inline_keyboard", []):
                    for b in row:
                        if b["text"] == replies.HANDOFF_LABEL:
                            presses[call.chat_id] = (b["callback_data"], call.result["message_id"])
            for user in users:
                press, message_id = presses[user]
                api.callback_query(press, chat_id=user, user_id=user, message_id=message_id)
            bot = await kills(bot, args.kill_at)
            settled = Quiet(lambda: len(api.sent), args.quiet)
            await until(lambda: carded() >= len(users) or settled(), args.timeout)

            # A staff reply to each ticket's first card.
            first_card: dict[int, tuple[int, int]] = {}  # ticket → (card message id, resident index)
            for call in cards():
                number = number_in(CARD_RE, call.text)
                token = TOKEN_RE.search(call.text)
                if number not in first_card and token is not None:
                    first_card[number] = (call.result["message_id"], int(token.group(1)))
            for _number, (card_id, r) in sorted(first_card.items()):
                api.user_message(
                    f"答复R{r:04d}：请带证件到窗口办理。",
                    user_id=STAFF_MEMBER[0],
                    chat_id=STAFF,
                    chat_type="supergroup",
                    first_name=STAFF_MEMBER[1],
                    reply_to_message_id=card_id,
                )
            bot = await kills(bot, args.every)
            for _ in range(args.stops):
                await asyncio.sleep(args.every)
                await bot.stop()
                bot = await started()
            settled = Quiet(lambda: len(api.sent), args.quiet)
            await until(lambda: len({c.chat_id for c in relayed()}) >= len(first_card) or settled(), args.timeout)
            await asyncio.sleep(1.0)  # anything sent twice late would show up here
            await bot.stop()
        finally:
            bot.ensure_gone()

        all_cards, all_relayed = cards(), relayed()
        refused_notes = [
            c for c in api.calls("sendMessage", chat_id=STAFF) if "不在机器人现在的咨询记录里" in (c.text or "")
        ]

    counted = Counter((kind, int(number)) for kind, number in AGAIN_RE.findall("\n".join(log_lines(log_path)["again"])))
    per_ticket = Counter(number_in(CARD_RE, c.text) for c in all_cards)
    outcome.carded = len(per_ticket)
    for number, count in per_ticket.items():
        if count > 1:
            if counted[("card", number)]:
                outcome.cards_twice_counted += 1
            else:
                outcome.cards_twice_uncounted += 1
    outcome.wrong_cards = sum(1 for c in all_cards if not TOKEN_RE.search(c.text))
    ticket_of_resident = {r: number for number, (_, r) in first_card.items()}
    for r, user in enumerate(users):
        got = [c.text for c in all_relayed if c.chat_id == user]
        mine = [t for t in got if f"答复R{r:04d}：" in t]
        outcome.misdirected += len(got) - len(mine)
        if not mine:
            outcome.lost += 1
            continue
        outcome.replied += 1
        if len(mine) > 1:
            if counted[("staff reply", ticket_of_resident.get(r, -1))]:
                outcome.replies_twice_counted += 1
            else:
                outcome.replies_twice_uncounted += 1
    outcome.refused = len(refused_notes)
    with contextlib.closing(sqlite3.connect(data / "interactions.sqlite3")) as conn:
        outcome.left_undelivered = conn.execute(
            "SELECT count(*) FROM ticket_messages WHERE pending IS NOT NULL"
        ).fetchone()[0]
    outcome.dead = dead_letters(data / "updates.sqlite3")
    outcome.errors = log_lines(log_path)["errors"]
    return outcome


def report(args: argparse.Namespace, outcomes: list[Outcome]) -> None:
    rows = [
        ("tickets (residents)", lambda o: o.tickets),
        ("tickets with a card", lambda o: o.carded),
        ("cards twice: counted by the bot", lambda o: o.cards_twice_counted),
        ("cards twice: not counted", lambda o: o.cards_twice_uncounted),
        ("cards without their question", lambda o: o.wrong_cards),
        ("residents with their reply", lambda o: o.replied),
        ("replies twice: counted by the bot", lambda o: o.replies_twice_counted),
        ("replies twice: not counted", lambda o: o.replies_twice_uncounted),
        ("replies lost", lambda o: o.lost),
        ("replies to the wrong resident", lambda o: o.misdirected),
        ("replies refused (note to staff)", lambda o: o.refused),
        ("replies left undelivered", lambda o: o.left_undelivered),
        ("dead letters", lambda o: o.dead),
        ("kill -9 restarts", lambda o: o.kills),
        ("ERROR lines in the bot's log", lambda o: len(o.errors)),
    ]
    print_table(
        f"hand-off under kill -9: {args.tickets} tickets; {args.kills} x SIGKILL while cards are posted, "
        f"{args.kills} x SIGKILL and {args.stops} x SIGTERM while staff replies are relayed, each {args.every:g} s "
        "after the restarted bot answers",
        rows,
        outcomes,
    )
    for o in outcomes:
        for line in o.errors[:5]:
            print(f"{o.label}: {line}")


async def main_async(args: argparse.Namespace) -> int:
    quiet_fake_server()
    return await each_checkout(args, scenario, report, "servicebot-fault-staff-")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickets", type=int, default=300)
    parser.add_argument("--kills", type=int, default=3, help="kill -9 restarts in a row, in each phase")
    parser.add_argument(
        "--stops", type=int, default=1, help="clean restarts after the kills, while replies are relayed"
    )
    parser.add_argument("--kill-at", type=float, default=2.0, help="seconds after the presses")
    parser.add_argument("--every", type=float, default=1.0, help="seconds a restarted bot answers before the next")
    parser.add_argument("--faq", type=Path, default=REPO / "tests" / "fixtures" / "mini")
    parser.add_argument("--quiet", type=float, default=8.0, help="seconds without a message that end a phase")
    parser.add_argument("--timeout", type=float, default=240.0, help="upper bound for each phase, seconds")
    add_compare(parser)
    args = parser.parse_args()
    if not 1 <= args.tickets <= 5_000 or args.kills < 0:
        parser.error("need 1 <= tickets <= 5000 and kills >= 0")
    return asyncio.run(main_async(args))


if __name__ == "__main__":
    raise SystemExit(main())
