"""Load check of the hand-off desk (转人工): T tickets from R residents and one staff reply to
each, through the fake Bot API server (tests/support/botapi.py) to the real bot (channels.tg with
the staff group, run by channels.server.serve, polling over HTTP on 127.0.0.1, tickets and the
interaction log in a temporary SQLite file).

Each resident asks T/R questions the FAQ cannot answer, then presses 转人工 under each reply;
the bot opens a ticket per question and posts a card per ticket to the staff group. Two staff
members then reply to every card at once, each reply naming its ticket and question. Checked:

- every ticket got exactly one card, showing the question of the resident who opened it;
- every resident received exactly the replies to their own tickets, each once, and nothing
  meant for anyone else (nothing lost, duplicated or delivered to the wrong resident);
- every ticket is answered in the database, with no reply left undelivered.

Reports the counts and, per staff reply, the time from the moment getUpdates hands it to the
bot to the moment the resident's sendMessage arrives (median, p99). Outgoing rate limiting is
off (Telegram's 20 messages a minute in a group would otherwise set the pace of the cards).

Usage: python -m bench.load.handoff [--tickets 200] [--residents 100] [--timeout 120]
Exits 1 if anything is lost, duplicated or misdelivered, or the run exceeds --timeout seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import re
import sqlite3
import statistics
import tempfile
import time
from collections import Counter
from pathlib import Path

from servicebot.answering import replies
from servicebot.answering.service import Service
from servicebot.channels import Core
from servicebot.channels.server import serve
from servicebot.channels.tg import TelegramChannel
from servicebot.channels.tg_net import RetryingRateLimiter
from servicebot.config import load_settings
from servicebot.records import Status

from bench import REPO
from bench.harness import failed, percentile_ms
from tests.support.botapi import TOKEN, FakeBotApi

STAFF = -1004000000001
STAFF_MEMBERS = ((3001, "张三"), (3002, "李四"))
FIRST_USER = 700_000
PLACES = ("东湖", "西山", "南港", "北塘", "中岭")


def question(resident: int, n: int) -> str:
    """A question the FAQ cannot answer, naming its resident and number (tokens short enough
    not to be masked as personal numbers)."""
    return f"居民R{resident:03d}第Q{n}问：{PLACES[(resident + n) % len(PLACES)]}的火星签证怎么续办"


TOKEN_RE = re.compile(r"R(\d{3})第Q(\d+)问")
NUMBER_RE = re.compile(r"#(\d+)")


async def run(tickets: int, residents: int, workdir: Path, faq: Path, timeout: float) -> int:
    per_resident = tickets // residents
    async with FakeBotApi() as api:
        settings = load_settings(
            env={},
            overrides={
                "faq_dir": faq,
                "data_dir": workdir / "data",
                "token": TOKEN,
                "base_url": api.base_url,
                "staff_chat_id": STAFF,
                "reload_interval": 0,
                "flood_messages": 10 * per_resident + 10,
            },
        )
        core = Core(settings, Service.from_settings(settings, secret="bench"))
        limiter = RetryingRateLimiter(overall_max_rate=0, group_max_rate=0, max_retries=3)
        telegram = TelegramChannel(core, rate_limiter=limiter)
        stop = asyncio.Event()
        bot = asyncio.create_task(serve(core, [telegram], stop))
        started = time.monotonic()
        try:
            await api.wait_polling(timeout=10)
            users = [FIRST_USER + r for r in range(residents)]

            # 1. Every resident asks questions the bot cannot answer.
            mark = api.mark()
            for n in range(per_resident):
                for r, user in enumerate(users):
                    api.user_message(question(r, n), user_id=user, first_name=f"居民{r}", username=f"resident{r}")
            answers = await api.wait_for_count("sendMessage", tickets, timeout=timeout, since=mark)
            offers = [c for c in answers if replies.HANDOFF_LABEL in str(c.params.get("reply_markup"))]
            if len(offers) != tickets:
                print(f"only {len(offers)} of {tickets} questions were offered 转人工")
                return 1

            # 2. Each presses 转人工 under each reply: one ticket per question.
            mark = api.mark()
            for call in offers:
                data = next(
                    b["callback_data"]
                    for row in call.params["reply_markup"]["inline_keyboard"]
                    for b in row
                    if b["text"] == replies.HANDOFF_LABEL
                )
                api.callback_query(
                    data, chat_id=call.chat_id, user_id=call.chat_id, message_id=call.result["message_id"]
                )
            opened = await api.wait_for_count(
                lambda c: c.method == "sendMessage" and c.chat_id != STAFF and "人工咨询 #" in c.text,
                tickets,
                timeout=timeout,
                since=mark,
            )
            cards = await api.wait_for_count(
                lambda c: c.method == "sendMessage" and c.chat_id == STAFF and "人工咨询 #" in c.text,
                tickets,
                timeout=timeout,
                since=mark,
            )
            owner: dict[int, int] = {}  # ticket → the resident told its number
            for call in opened:
                told = NUMBER_RE.search(call.text)
                assert told, call.text
                owner[int(told.group(1))] = call.chat_id
            card_of: dict[int, tuple[int, str]] = {}  # ticket → (card message id, question token)
            wrong_cards = 0
            for call in cards:
                named = NUMBER_RE.search(call.text)
                assert named, call.text
                number = int(named.group(1))
                asked = TOKEN_RE.search(call.text)
                if number in card_of or asked is None or FIRST_USER + int(asked.group(1)) != owner.get(number):
                    wrong_cards += 1
                card_of[number] = (call.result["message_id"], asked.group(0) if asked else "")

            # 3. Two staff members reply to every card at once.
            mark = api.mark()
            expected: dict[int, Counter] = {user: Counter() for user in users}
            reply_updates: dict[str, int] = {}
            for k, (number, (card_id, token)) in enumerate(sorted(card_of.items())):
                staff_id, name = STAFF_MEMBERS[k % 2]
                text = f"答复#{number}：{token}，请带证件到窗口办理。"
                expected[owner[number]][text] += 1
                update = api.user_message(
                    text,
                    user_id=staff_id,
                    chat_id=STAFF,
                    chat_type="supergroup",
                    first_name=name,
                    reply_to_message_id=card_id,
                )
                reply_updates[text] = update["update_id"]
            relayed = await api.wait_for_count(
                lambda c: c.method == "sendMessage" and replies.STAFF_REPLY_PREFIX in (c.text or ""),
                tickets,
                timeout=timeout,
                since=mark,
            )
            await api.wait_for_count(
                lambda c: c.method == "sendMessage" and c.chat_id == STAFF and c.text.startswith("✅"),
                tickets,
                timeout=timeout,
                since=mark,
            )
            await api.expect_no_call(
                lambda c: c.method == "sendMessage" and replies.STAFF_REPLY_PREFIX in (c.text or ""),
                within=1.0,
                since=api.mark(),
            )
            elapsed = time.monotonic() - started
        finally:
            stop.set()
            await asyncio.wait_for(bot, 15)

    got: dict[int, Counter] = {user: Counter() for user in users}
    latencies: list[float] = []
    for call in relayed:
        text = call.text[len(replies.STAFF_REPLY_PREFIX) :].split("\n")[0]
        got.setdefault(call.chat_id, Counter())[text] += 1
        if text in reply_updates:
            fetched = api.update_record(reply_updates[text]).handed_out_at
            assert fetched is not None  # the bot fetched the staff reply before it relayed it
            latencies.append(call.t - fetched)
    lost = sum((expected[u] - got.get(u, Counter())).total() for u in expected)
    duplicated = sum(max(0, n - 1) for u in got for n in got[u].values())
    misdelivered = sum(n for u in got for text, n in got[u].items() if text not in expected.get(u, {}))
    conn = sqlite3.connect(settings.db_path)
    statuses = dict(conn.execute("SELECT status, count(*) FROM tickets GROUP BY status").fetchall())
    pending = conn.execute("SELECT count(*) FROM ticket_messages WHERE pending IS NOT NULL").fetchone()[0]
    conn.close()

    print(f"{tickets} tickets from {residents} residents, {tickets} staff replies from {len(STAFF_MEMBERS)} staff")
    print(f"tickets opened: {len(owner)}; cards in the staff group: {len(card_of)} (wrong or repeated: {wrong_cards})")
    print(f"staff replies relayed: {len(relayed)}; lost {lost}, duplicated {duplicated}, misdelivered {misdelivered}")
    print(f"tickets in the database by status: {statuses}; replies left undelivered: {pending}")
    if latencies:
        print(
            f"staff reply handed to the bot → resident's message: median {statistics.median(latencies) * 1000:.1f} ms,"
            f" p99 {percentile_ms(latencies, 0.99):.1f} ms"
        )
    print(f"whole run (questions, tickets, cards, replies) in {elapsed:.1f} s")
    ok = (
        len(owner) == len(card_of) == tickets
        and not (wrong_cards or lost or duplicated or misdelivered or pending)
        and statuses == {Status.ANSWERED.value: tickets}
    )
    print("verdict: " + ("nothing lost, duplicated or misdelivered" if ok else "FAILED"))
    return 0 if ok else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickets", type=int, default=200)
    parser.add_argument("--residents", type=int, default=100)
    parser.add_argument("--faq", type=Path, default=REPO / "tests" / "fixtures" / "mini")
    parser.add_argument("--timeout", type=float, default=120.0, help="upper bound for the whole run, seconds")
    args = parser.parse_args()
    if not 1 <= args.residents <= args.tickets <= 10_000 or args.tickets % args.residents:
        parser.error("need 1 <= residents <= tickets <= 10000, tickets a multiple of residents")
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    with tempfile.TemporaryDirectory(prefix="servicebot-handoff-") as tmp:
        try:
            return asyncio.run(
                asyncio.wait_for(run(args.tickets, args.residents, Path(tmp), args.faq, args.timeout), args.timeout)
            )
        except (TimeoutError, AssertionError) as exc:
            return failed(exc)


if __name__ == "__main__":
    raise SystemExit(main())
