"""Fault script: clients that hold the web server's connections open, and what residents get.

Reruns issue 22's item 4: a real `servicebot run` process (web chat on 127.0.0.1, Telegram
polling the fake Bot API of tests/support/botapi.py, the shipped FAQ, a temporary data dir) under a
descriptor limit of --fds (1,024, as on most hosts), while this script holds --idle
connections that never send a byte and --slow connections that send their headers a byte a
second (slowloris). Meanwhile --questions web questions (one after another, each with a 5 s
timeout, as a resident's page would wait) and --questions Telegram messages (from as many
residents) are sent.

Prints, per run: web questions answered and their latency, Telegram messages answered, how
many of the held connections the bot closed, "Too many open files" lines and the size of the
bot's log. Exits 1 if this checkout left a question unanswered.

--compare SRC also runs the case against the servicebot package in SRC (e.g. the `src` of the
commit before the limits), as a baseline measured the same way in the same run.

Usage: python -m bench.faults.connections [--idle 1015] [--slow 0] [--fds 1024] [--questions 50] [--compare DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import random
import resource
import secrets
import socket
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

from servicebot.answering.service import Service
from servicebot.config import load_settings

from bench import REPO
from bench.faults.faulting import add_compare, each_checkout, fake_api_env, print_table, web_ready
from bench.harness import latency_line, question_pool
from tests.support.botapi import FakeBotApi

FIRST_USER = 700_000
START_TIMEOUT = 60.0
ANSWER_TIMEOUT = 5.0  # seconds a resident waits for one answer


@dataclass
class Outcome:
    label: str
    web_asked: int = 0
    web_answered: int = 0
    web_seconds: list[float] = field(default_factory=list)
    tg_asked: int = 0
    tg_answered: int = 0
    held: int = 0
    held_closed: int = 0
    emfile_lines: int = 0
    log_bytes: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.web_answered == self.web_asked and self.tg_answered == self.tg_asked


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def hold(port: int, idle: int, slow: int, stop: asyncio.Event) -> tuple[int, int]:
    """Open `idle` silent and `slow` slowloris connections; hold them until `stop`. Returns
    (connections opened, how many of them the server closed meanwhile)."""
    writers: list[asyncio.StreamWriter] = []
    readers: list[asyncio.StreamReader] = []
    for n in range(idle + slow):
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 5)
        except (OSError, TimeoutError):
            break
        readers.append(reader)
        writers.append(writer)
        if n >= idle:
            writer.write(b"GET / HTTP/1.1\r\nHost: bench\r\nX-Slow: ")
    slow_writers = writers[idle:]
    while not stop.is_set():
        for writer in slow_writers:
            with contextlib.suppress(OSError):
                writer.write(b"a")  # to a connection the bot closed: asyncio's warning is silenced below
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 1.0)
    closed = sum(reader.at_eof() or writer.is_closing() for reader, writer in zip(readers, writers))
    for writer in writers:
        writer.close()
    return len(writers), closed


async def scenario(args: argparse.Namespace, label: str, src: Path | None, workdir: Path) -> Outcome:
    outcome = Outcome(label)
    settings = load_settings(env={}, overrides={"faq_dir": args.faq, "data_dir": workdir / "expected"})
    pool = question_pool(Service.from_settings(settings, secret="bench").snapshot.faq)
    rng = random.Random(args.seed)
    port = free_port()
    async with FakeBotApi() as api:
        env = fake_api_env(
            api.base_url,
            args.faq,
            workdir / "data",
            {
                "SERVICEBOT_WEB_PORT": str(port),
                "SERVICEBOT_FLOOD_MESSAGES": "1000",
                "SERVICEBOT_WEB_ADDRESS_MESSAGES": "100000",
            },
            src,
        )
        limit = f"import resource; resource.setrlimit(resource.RLIMIT_NOFILE, ({args.fds}, {args.fds})); "
        command = limit + "from servicebot.cli import main; raise SystemExit(main(['run']))"
        log_path = workdir / "bot.log"
        with log_path.open("wb") as log:
            bot = await asyncio.create_subprocess_exec(
                sys.executable, "-c", command, env=env, stdin=asyncio.subprocess.DEVNULL, stderr=log
            )
        try:
            await api.wait_for("setMyCommands", timeout=START_TIMEOUT)
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=ANSWER_TIMEOUT)) as http:
                url = f"http://127.0.0.1:{port}"
                await web_ready(http, url)

                stop = asyncio.Event()
                holding = asyncio.create_task(hold(port, args.idle, args.slow, stop))
                await asyncio.sleep(args.settle)  # the connections are open (or refused) by now
                mark = api.mark()
                for n in range(args.questions):
                    api.user_message(rng.choice(pool), user_id=FIRST_USER + n)
                outcome.tg_asked = args.questions
                for _ in range(args.questions):
                    outcome.web_asked += 1
                    started = time.monotonic()
                    try:
                        body = {"session": secrets.token_hex(16), "text": rng.choice(pool)}
                        async with http.post(url + "/api/ask", json=body) as response:
                            if response.status == 200 and (await response.json())["messages"]:
                                outcome.web_answered += 1
                                outcome.web_seconds.append(time.monotonic() - started)
                    except (aiohttp.ClientError, TimeoutError):
                        pass
                tg_deadline = time.monotonic() + args.telegram_wait
                while time.monotonic() < tg_deadline:
                    replied = {int(c.chat_id) for c in api.sent[mark:] if c.method == "sendMessage"}
                    outcome.tg_answered = sum(FIRST_USER + n in replied for n in range(args.questions))
                    if outcome.tg_answered == args.questions:
                        break
                    await asyncio.sleep(0.2)
                stop.set()
                outcome.held, outcome.held_closed = await holding
        finally:
            if bot.returncode is None:
                bot.terminate()
                try:
                    await asyncio.wait_for(bot.wait(), 40)
                except TimeoutError:
                    bot.kill()
                    await bot.wait()
    text = log_path.read_text(encoding="utf-8", errors="replace")
    outcome.emfile_lines = text.count("Too many open files")
    outcome.log_bytes = len(text.encode())
    outcome.errors = [line for line in text.splitlines() if " ERROR " in line or " CRITICAL " in line]
    return outcome


def report(args: argparse.Namespace, outcomes: list[Outcome]) -> None:
    title = (
        f"held connections: {args.idle} idle + {args.slow} slowloris on 127.0.0.1, bot under a {args.fds}-descriptor "
        f"limit; then {args.questions} web questions (one at a time, {ANSWER_TIMEOUT:g} s timeout) and "
        f"{args.questions} Telegram messages"
    )
    rows = [
        ("connections held open by this script", lambda o: o.held),
        ("  of them closed by the bot", lambda o: o.held_closed),
        ("web questions answered", lambda o: f"{o.web_answered}/{o.web_asked}"),
        ("Telegram messages answered", lambda o: f"{o.tg_answered}/{o.tg_asked}"),
        ("'Too many open files' in the bot's log", lambda o: o.emfile_lines),
        ("ERROR/CRITICAL lines in the bot's log", lambda o: len(o.errors)),
        ("bot's log, bytes", lambda o: o.log_bytes),
    ]
    print_table(title, rows, outcomes)
    for o in outcomes:
        if o.web_seconds:
            print(latency_line(f"{o.label}: web answer latency", o.web_seconds))
        for line in o.errors[:3]:
            print(f"{o.label}: {line[:200]}")


async def main_async(args: argparse.Namespace) -> int:
    return await each_checkout(args, scenario, report, "servicebot-conns-")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--idle", type=int, default=1015, help="connections that never send a byte")
    parser.add_argument("--slow", type=int, default=0, help="connections that send a header byte a second")
    parser.add_argument("--fds", type=int, default=1024, help="the bot's descriptor limit")
    parser.add_argument("--questions", type=int, default=50)
    parser.add_argument("--settle", type=float, default=2.0, help="seconds between opening and asking")
    parser.add_argument("--telegram-wait", type=float, default=20.0, help="seconds to wait for Telegram's answers")
    parser.add_argument("--faq", type=Path, default=REPO / "faq")
    parser.add_argument("--seed", type=int, default=1)
    add_compare(parser)
    args = parser.parse_args()
    if not 0 <= args.idle + args.slow <= 10_000 or not 1 <= args.questions <= 1000 or not 64 <= args.fds <= 65536:
        parser.error("need idle + slow <= 10000, 1 <= questions <= 1000, 64 <= fds <= 65536")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = args.idle + args.slow + 256
    if soft < wanted:  # this script holds the connections: it needs the descriptors itself
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, wanted), hard))
    logging.getLogger("asyncio").setLevel(logging.ERROR)  # "socket.send() raised exception": the bot hung up
    return asyncio.run(main_async(args))


if __name__ == "__main__":
    raise SystemExit(main())
