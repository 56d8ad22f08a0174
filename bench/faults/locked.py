"""Fault script: hand-offs while the web chat runs flat out (issue 22: at ~790 answers a
second, 20 of 120 hand-offs failed with "database is locked").

A real bot process — what `servicebot run` runs: the web chat on 127.0.0.1, Telegram polling
the fake Bot API (tests/support/botapi.py) for the staff group, the interaction log, tickets and the
outbox in one SQLite file — gets, from a client process of its own:
- --sessions web sessions asking questions back to back for --seconds seconds (flood control
  raised so that nothing is refused), which keeps the log's writer busy;
- meanwhile --handoffs residents, one after another every --seconds/--handoffs seconds, each
  asking a question the FAQ cannot answer and pressing 转人工 under the reply.

Counted: web answers a second, hand-offs that opened a ticket, hand-offs that failed (the
resident told "抱歉，现在没能转人工"), any other failure; "database is locked" lines in the
bot's log. Exits 1 if a hand-off failed.

--compare SRC also runs it against the servicebot package in SRC, as a baseline.

Usage: python -m bench.faults.locked [--sessions 64] [--seconds 20] [--handoffs 120] [--compare SRC]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from servicebot.answering import replies

from bench import REPO
from bench.faults.faulting import (
    add_compare,
    each_checkout,
    fake_api_env,
    log_lines,
    polling,
    print_table,
    quiet_fake_server,
    until,
)
from tests.support.botapi import FakeBotApi
from tests.support.webserver import free_port

STAFF = -1004000000002
LOAD_QUESTIONS = ("低保怎么申请", "垃圾分类体验馆在哪里", "养老保险怎么交", "今天天气怎么样", "书屋几点开门")
FAILED_PREFIX = replies.HANDOFF_FAILED_TEXT.split("{")[0]
OPENED_PREFIX = replies.TICKET_OPENED_TEXT.split("{")[0]


@dataclass
class Outcome:
    label: str
    answers: int = 0
    seconds: float = 0.0
    opened: int = 0
    failed: int = 0
    other: int = 0
    locked_lines: int = 0
    errors: int = 0

    @property
    def ok(self) -> bool:
        return self.opened > 0 and not (self.failed or self.other)


# --- the client process ----------------------------------------------------------------------------


async def client(port: int, sessions: int, seconds: float, handoffs: int) -> dict:
    import aiohttp

    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + seconds
    answers = 0
    results: list[str] = []
    connector = aiohttp.TCPConnector(limit=sessions + 4)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=60)) as http:

        async def post(path: str, doc: dict) -> tuple[int, dict]:
            async with http.post(base + path, json=doc) as response:
                return response.status, await response.json()

        async def load(n: int) -> None:
            nonlocal answers
            session = secrets.token_hex(16)
            k = 0
            while time.monotonic() < deadline:
                status, _ = await post("/api/ask", {"session": session, "text": LOAD_QUESTIONS[(n + k) % 5]})
                answers += status == 200
                k += 1

        async def hand_off(n: int) -> str:
            session = secrets.token_hex(16)
            _, doc = await post("/api/ask", {"session": session, "text": f"居民R{n:04d}问：火星签证怎么续办"})
            choices = [c["data"] for m in doc.get("messages", []) for c in m.get("choices", [])]
            press = next((d for d in choices if d.startswith("h:")), None)
            if press is None:
                return "no button"
            status, doc = await post("/api/tap", {"session": session, "data": press})
            body = " ".join(m.get("body", "") for m in doc.get("messages", []))
            if OPENED_PREFIX in body:
                return "opened"
            return "failed" if FAILED_PREFIX in body else f"{status}: {body[:60]}"

        async def hand_offs() -> None:
            for n in range(handoffs):
                await asyncio.sleep(seconds / (handoffs + 1))
                results.append(await hand_off(n))

        began = time.monotonic()
        await asyncio.gather(hand_offs(), *(load(n) for n in range(sessions)))
        elapsed = time.monotonic() - began
    return {"answers": answers, "seconds": elapsed, "handoffs": results}


# --- the script ---------------------------------------------------------------------------------


async def scenario(args: argparse.Namespace, label: str, src: Path | None, workdir: Path) -> Outcome:
    outcome = Outcome(label)
    port = free_port()
    log_path = workdir / "bot.log"
    async with FakeBotApi() as api:
        env = fake_api_env(
            api.base_url,
            args.faq,
            workdir / "data",
            {
                "SERVICEBOT_STAFF_CHAT_ID": str(STAFF),
                "SERVICEBOT_WEB_PORT": str(port),
                "SERVICEBOT_FLOOD_MESSAGES": "1000000",
                "SERVICEBOT_WEB_ADDRESS_MESSAGES": "100000000",
            },
            src,
        )
        bot = await polling(api, env, log_path)
        try:
            await until(lambda: _answers(port), 30)
            client = [sys.executable, "-m", __spec__.name, "--client"]  # this script, in a process of its own
            command = [*client, str(port), str(args.sessions), str(args.seconds)]
            done = await asyncio.to_thread(
                subprocess.run,
                [*command, str(args.handoffs)],
                capture_output=True,
                text=True,
                timeout=args.seconds * 10 + 60,
                check=True,
            )
            result = json.loads(done.stdout)
            await bot.stop()
        finally:
            bot.ensure_gone()
    outcome.answers, outcome.seconds = result["answers"], result["seconds"]
    verdicts = result["handoffs"]
    outcome.opened = verdicts.count("opened")
    outcome.failed = verdicts.count("failed")
    outcome.other = len(verdicts) - outcome.opened - outcome.failed
    text = log_path.read_text(encoding="utf-8", errors="replace")
    outcome.locked_lines = text.count("database is locked")
    outcome.errors = len(log_lines(log_path)["errors"])
    return outcome


def _answers(port: int) -> bool:
    import urllib.request

    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def report(args: argparse.Namespace, outcomes: list[Outcome]) -> None:
    rows = [
        ("web answers a second", lambda o: f"{o.answers / max(o.seconds, 1e-9):.0f}"),
        ("hand-offs", lambda o: o.opened + o.failed + o.other),
        ("tickets opened", lambda o: o.opened),
        ("hand-offs failed", lambda o: o.failed),
        ("other outcomes", lambda o: o.other),
        ('"database is locked" in the log', lambda o: o.locked_lines),
        ("ERROR lines in the bot's log", lambda o: o.errors),
    ]
    print_table(
        f"hand-offs under web load: {args.sessions} sessions asking back to back for {args.seconds:g} s, "
        f"{args.handoffs} hand-offs meanwhile; FAQ {args.faq}",
        rows,
        outcomes,
    )


async def main_async(args: argparse.Namespace) -> int:
    quiet_fake_server()
    return await each_checkout(args, scenario, report, "servicebot-fault-locked-")


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--client":  # PORT SESSIONS SECONDS HANDOFFS
        port, sessions, seconds, handoffs = sys.argv[2:6]
        print(json.dumps(asyncio.run(client(int(port), int(sessions), float(seconds), int(handoffs)))))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--handoffs", type=int, default=120)
    parser.add_argument("--faq", type=Path, default=REPO / "tests" / "fixtures" / "mini")
    add_compare(parser)
    args = parser.parse_args()
    if not (1 <= args.sessions <= 1000 and 0 < args.seconds <= 600 and 1 <= args.handoffs <= 10_000):
        parser.error("need 1 <= sessions <= 1000, 0 < seconds <= 600, 1 <= handoffs <= 10000")
    return asyncio.run(main_async(args))


if __name__ == "__main__":
    raise SystemExit(main())
