"""Load script: one browser session asking `/api/inbox` as fast as it can, and 👍/👎 for
references nobody was shown.

Reruns issue 22's item 14 against a real `servicebot run` process (web chat only, the shipped
FAQ, a temporary data dir) on 127.0.0.1: --clients connections hammer `/api/inbox` with one
session for --seconds; meanwhile a second session polls at the page's own pace (every 5 s),
and then asks a question. Afterwards --votes 👍 are sent for made-up references, and as many
for that question's answer, each from a session of its own (an address may send
web_address_messages a minute: keep 2 × --votes below it), and the feedback table is counted.

Prints requests per second served (200) and refused (429), what the page's own polls got,
and the feedback rows stored for references the session was never shown. Exits 1 if this
checkout served the hammering session more than its allowance or stored such a vote.

--compare SRC also runs the case against the servicebot package in SRC (e.g. the `src` of the
commit before the limit), as a baseline measured the same way in the same run.

Usage: python -m bench.load.inbox [--seconds 10] [--clients 8] [--votes 50] [--compare DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import secrets
import socket
import sqlite3
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

from bench import REPO
from bench.faults.faulting import add_compare, bot_env, checkouts, print_table, web_ready

START_TIMEOUT = 60.0
PAGE_POLL = 5.0  # seconds between the page's own /api/inbox requests (static/app.js)


@dataclass
class Outcome:
    label: str
    seconds: float = 0.0
    hammer: Counter[int] = field(default_factory=Counter)
    page: Counter[int] = field(default_factory=Counter)
    page_question: int = 0
    answered_ref: str = ""  # the second session's answer
    made_up: list[str] = field(default_factory=list)
    made_up_stored: int = 0
    stolen_stored: bool = False

    def rate(self, status: int) -> float:
        return self.hammer[status] / self.seconds if self.seconds else 0.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def hammer(http: aiohttp.ClientSession, url: str, session: str, until: float, seen: Counter[int]) -> None:
    while time.monotonic() < until:
        with contextlib.suppress(aiohttp.ClientError, TimeoutError):
            async with http.post(url, json={"session": session, "after": 0}) as response:
                await response.read()
                seen[response.status] += 1


async def page(http: aiohttp.ClientSession, url: str, session: str, until: float, seen: Counter[int]) -> None:
    while time.monotonic() < until:
        async with http.post(url, json={"session": session, "after": 0}) as response:
            await response.read()
            seen[response.status] += 1
        await asyncio.sleep(min(PAGE_POLL, max(0.0, until - time.monotonic())))


async def scenario(args: argparse.Namespace, label: str, src: Path | None, workdir: Path) -> Outcome:
    outcome = Outcome(label)
    port = free_port()
    env = bot_env(
        {
            "SERVICEBOT_FAQ_DIR": str(args.faq),
            "SERVICEBOT_DATA_DIR": str(workdir / "data"),
            "SERVICEBOT_RELOAD_INTERVAL": "0",
            "SERVICEBOT_WEB_PORT": str(port),
        },
        src,
    )
    with (workdir / "bot.log").open("wb") as log:
        bot = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "servicebot", "run", env=env, stdin=asyncio.subprocess.DEVNULL, stderr=log
        )
    base = f"http://127.0.0.1:{port}"
    try:
        connector = aiohttp.TCPConnector(limit=args.clients + 4)
        async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=10)) as http:
            await web_ready(http, base)

            attacker, resident = secrets.token_hex(16), secrets.token_hex(16)
            began = time.monotonic()
            until = began + args.seconds
            inbox = base + "/api/inbox"
            await asyncio.gather(
                *(hammer(http, inbox, attacker, until, outcome.hammer) for _ in range(args.clients)),
                page(http, inbox, resident, until, outcome.page),
            )
            outcome.seconds = time.monotonic() - began
            async with http.post(base + "/api/ask", json={"session": resident, "text": "低保怎么申请"}) as response:
                outcome.page_question = response.status
                answer = await response.json()

            ref = outcome.answered_ref = answer["messages"][0]["feedback"][0]["data"].split(":")[2]
            outcome.made_up = [secrets.token_hex(6) for _ in range(args.votes)]
            votes = [f"f:+:{made_up}" for made_up in outcome.made_up] + [f"f:-:{ref}"] * args.votes
            for data in votes:  # made-up references, then the resident's answer, each from a session of its own
                body = {"session": secrets.token_hex(16), "data": data}
                async with http.post(base + "/api/tap", json=body) as response:
                    await response.read()
    finally:
        bot.terminate()
        try:
            await asyncio.wait_for(bot.wait(), 40)
        except TimeoutError:
            bot.kill()
            await bot.wait()
    with sqlite3.connect(workdir / "data" / "interactions.sqlite3") as db:
        stored = {ref for (ref,) in db.execute("SELECT ref FROM feedback")}
    outcome.made_up_stored = len(stored & set(outcome.made_up))
    outcome.stolen_stored = outcome.answered_ref in stored
    return outcome


def report(args: argparse.Namespace, outcomes: list[Outcome]) -> None:
    title = (
        f"/api/inbox from one session on {args.clients} connections for {args.seconds:g} s, a second session "
        f"polling every {PAGE_POLL:g} s; then {args.votes} 👍 for made-up references and {args.votes} 👎 on "
        "the second session's answer, each from a session of its own"
    )
    rows = [
        ("hammering session: served (200) per second", lambda o: f"{o.rate(200):.0f}"),
        ("hammering session: refused (429) per second", lambda o: f"{o.rate(429):.0f}"),
        ("hammering session: served in all", lambda o: o.hammer[200]),
        ("page's own polls served / sent", lambda o: f"{o.page[200]}/{sum(o.page.values())}"),
        ("page's question afterwards (status)", lambda o: o.page_question),
        ("👍 for made-up references: stored / sent", lambda o: f"{o.made_up_stored}/{len(o.made_up)}"),
        ("👎 from other sessions on the resident's answer stored", lambda o: "yes" if o.stolen_stored else "no"),
    ]
    print_table(title, rows, outcomes)


async def main_async(args: argparse.Namespace) -> int:
    from servicebot.channels.web import INBOX_POLLS, INBOX_WINDOW

    outcomes = await checkouts(args, scenario, "servicebot-inbox-")
    report(args, outcomes)
    mine = outcomes[0]
    allowance = INBOX_POLLS * (1 + int(mine.seconds // INBOX_WINDOW))
    refused = mine.made_up_stored == 0 and not mine.stolen_stored
    ok = mine.hammer[200] <= allowance and refused and mine.page[200] == sum(mine.page.values())
    return 0 if ok else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--votes", type=int, default=50)
    parser.add_argument("--faq", type=Path, default=REPO / "faq")
    add_compare(parser)
    args = parser.parse_args()
    if not 0 < args.seconds <= 60 or not 1 <= args.clients <= 64 or not 0 <= args.votes <= 10_000:
        parser.error("need 0 < seconds <= 60, 1 <= clients <= 64, 0 <= votes <= 10000")
    return asyncio.run(main_async(args))


if __name__ == "__main__":
    raise SystemExit(main())
