"""Load check of the web chat, with the Telegram bot running in the same process.

One process runs what `servicebot run` runs — the Core (real interaction log in a temporary
directory), the Telegram channel polling the fake Bot API (tests/support/botapi.py) and the web chat —
on 127.0.0.1 via `channels.server.serve`. A separate client process (so that the clients'
own work does not share the server's event loop) opens --sessions concurrent web sessions;
each asks --questions questions one after another, as a resident waits for each answer.
Meanwhile Telegram residents ask --telegram questions through the fake Bot API.

Reports:
- correctness: every web answer arrives (HTTP 200) with the title and text the service gives
  for that question, none lost; every Telegram question answered exactly once;
- latency per web answer as the client sees it (request sent → whole answer received), under
  load and for one session alone, next to a direct `Service.answer` call on the same
  questions in the same run; "added" is the web median minus the direct median.

Usage: python -m bench.load.web [--sessions 200] [--questions 20] [--telegram 400] [--faq DIR]
Exits 1 if any answer is lost or wrong, or the run exceeds --timeout seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import random
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import REPO
from bench.harness import (
    direct_seconds,
    failed,
    latency_line,
    plans,
    print_result,
    question_pool,
    read_plan,
    run_client,
)

FIRST_TELEGRAM_USER = 700_000


# --- the client process ---------------------------------------------------------------------------


async def client(port: int, plan: list[list[str]], concurrency: int) -> list[dict]:
    """Each session asks its questions in order; returns one record per question."""
    import aiohttp

    url = f"http://127.0.0.1:{port}/api/ask"
    results: list[dict] = []
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=60)) as http:

        async def resident(n: int, questions: list[str]) -> None:
            session = secrets.token_hex(16)
            for k, question in enumerate(questions):
                started = time.perf_counter()
                try:
                    async with http.post(url, json={"session": session, "text": question}) as response:
                        doc = await response.json()
                        status = response.status
                except Exception as exc:  # counted as lost
                    doc, status = {"error": type(exc).__name__}, 0
                elapsed = time.perf_counter() - started
                message = (doc.get("messages") or [{}])[0]
                results.append(
                    {
                        "session": n,
                        "index": k,
                        "status": status,
                        "title": message.get("title"),
                        "body": message.get("body"),
                        "seconds": elapsed,
                    }
                )

        await asyncio.gather(*(resident(n, questions) for n, questions in enumerate(plan)))
    return results


def ask_all(port: int, plan: list[list[str]], workdir: Path, timeout: float) -> list[dict]:
    """`client` in a process of its own, one connection per session."""
    return run_client(__spec__.name, plan, workdir, timeout, str(port), str(max(len(plan), 1)))


# --- the server process ------------------------------------------------------------------------------


async def run(args: argparse.Namespace, workdir: Path) -> int:
    from servicebot.answering.service import Service
    from servicebot.channels import Core
    from servicebot.channels.server import serve
    from servicebot.channels.tg import TelegramChannel
    from servicebot.channels.tg_net import RetryingRateLimiter
    from servicebot.channels.tg_render import render_html
    from servicebot.channels.web import WebChannel
    from servicebot.config import load_settings
    from servicebot.records import Channel

    from tests.support.botapi import TOKEN, FakeBotApi

    async with FakeBotApi() as api:
        settings = load_settings(
            env={},
            overrides={
                "faq_dir": args.faq,
                "data_dir": workdir / "data",
                "token": TOKEN,
                "base_url": api.base_url,
                "web_port": args.port,
                "web_listen": "127.0.0.1",
                "reload_interval": 0,
                "flood_messages": max(args.questions, args.telegram) + 1,
                "web_address_messages": args.sessions * args.questions + args.solo + 100,
                "flood_window": 60,
            },
        )
        service = Service.from_settings(settings, secret="bench")
        checker = Service(service.snapshot, settings)  # the same FAQ, no log: what each answer should say
        faq = service.snapshot.faq
        pool = question_pool(faq)
        plan, solo_plan = plans(pool, args.sessions, args.questions, args.solo, args.seed)
        rng = random.Random(args.seed + 1)  # the Telegram residents' questions

        # The direct call, on every question of the plan, in this process and this run.
        questions = [q for session in plan for q in session]
        direct = direct_seconds(lambda q: checker.answer(q, channel=Channel.WEB), questions)

        core = Core(settings, service)
        limiter = RetryingRateLimiter(overall_max_rate=0, group_max_rate=0, max_retries=3)
        telegram = TelegramChannel(core, rate_limiter=limiter)
        web = WebChannel(core)
        stop = asyncio.Event()
        listening: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        server = asyncio.create_task(serve(core, [telegram, web], stop, listening=listening))
        try:
            port = await asyncio.wait_for(listening, 30)
            await api.wait_polling(timeout=10)
            loop = asyncio.get_running_loop()

            solo = await loop.run_in_executor(None, ask_all, port, solo_plan, workdir, args.timeout)

            # Telegram residents ask while the web sessions run.
            tg_plan = [(FIRST_TELEGRAM_USER + n % 40, rng.choice(pool)) for n in range(args.telegram)]

            async def telegram_residents() -> None:
                started = time.monotonic()
                for n, (user, question) in enumerate(tg_plan):
                    await asyncio.sleep(max(0.0, started + n / args.telegram_rate - time.monotonic()))
                    api.user_message(question, user_id=user)

            mark = api.mark()
            feeder = asyncio.create_task(telegram_residents())
            started = time.monotonic()
            results = await loop.run_in_executor(None, ask_all, port, plan, workdir, args.timeout)
            elapsed = time.monotonic() - started
            await feeder
            await api.wait_for_count(
                lambda c: c.method == "sendMessage", len(tg_plan), timeout=args.timeout, since=mark
            )
            await api.expect_no_call("sendMessage", within=0.5, since=api.mark())
        finally:
            stop.set()
            await asyncio.wait_for(server, 30)

    # --- verdicts ---
    expected = {}
    for question in set(questions) | {q for s in solo_plan for q in s}:
        reply = checker.answer(question, channel=Channel.WEB).reply
        expected[question] = (reply.title, reply.body)
    lost = [r for r in results if r["status"] != 200]
    wrong = [
        r for r in results if r["status"] == 200 and (r["title"], r["body"]) != expected[plan[r["session"]][r["index"]]]
    ]
    missing = len(questions) - len(results)
    tg_replies: dict[int, list[str]] = {}
    for call in api.calls("sendMessage"):
        tg_replies.setdefault(call.chat_id, []).append(call.text)
    tg_expected: dict[int, list[str]] = {}
    for user, question in tg_plan:
        tg_expected.setdefault(user, []).append(
            render_html(checker.answer(question, channel=Channel.TELEGRAM).reply)[0]
        )
    tg_bad = sum(tg_replies.get(user, []) != texts for user, texts in tg_expected.items())

    web_seconds = [r["seconds"] for r in results if r["status"] == 200]
    solo_seconds = [r["seconds"] for r in solo if r["status"] == 200]
    print(
        f"web: {args.sessions} concurrent sessions × {args.questions} questions = {len(questions)} questions; "
        f"FAQ {args.faq} ({len(faq.entries)} entries)"
    )
    print(
        f"telegram at the same time: {len(tg_plan)} questions from 40 residents at {args.telegram_rate:g}/s (polling)"
    )
    print(
        f"web answers: {len(results) - len(lost)} of {len(questions)} "
        f"(lost {len(lost) + missing}, wrong {len(wrong)}); "
        f"{len(web_seconds) / elapsed:.0f} answers/s over {elapsed:.1f} s"
    )
    print(
        f"telegram replies: {len(api.calls('sendMessage'))} of {len(tg_plan)}; "
        f"residents with lost, duplicated or wrong replies: {tg_bad}"
    )
    print(
        latency_line("direct Service.answer (same questions, same run)", direct)
        + f"   mean {statistics.mean(direct) * 1000:.2f} ms"
    )
    print(latency_line("web answer, one session alone (round trip)", solo_seconds))
    print(latency_line(f"web answer, {args.sessions} concurrent sessions (round trip)", web_seconds))
    print(
        f"server time per web answer under load (wall time / answers, one event loop, Telegram included): "
        f"{elapsed / max(len(web_seconds), 1) * 1000:.2f} ms"
    )
    added_solo = statistics.median(solo_seconds) - statistics.median(direct)
    added_load = statistics.median(web_seconds) - statistics.median(direct)
    print(
        f"added by the web channel (median − direct median): alone {added_solo * 1000:.2f} ms, "
        f"under load {added_load * 1000:.2f} ms"
    )
    return 1 if lost or wrong or missing or tg_bad else 0


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--client":  # PLAN_FILE PORT CONCURRENCY
        print_result(asyncio.run(client(int(sys.argv[3]), read_plan(sys.argv[2]), int(sys.argv[4]))))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=200)
    parser.add_argument("--questions", type=int, default=20, help="questions per web session")
    parser.add_argument("--solo", type=int, default=200, help="questions of the single-session baseline")
    parser.add_argument("--telegram", type=int, default=400, help="Telegram questions during the web load")
    parser.add_argument("--telegram-rate", type=float, default=20.0, help="Telegram questions per second")
    parser.add_argument("--faq", type=Path, default=REPO / "faq")
    parser.add_argument("--port", type=int, default=0, help="web port (default: a free one)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=300.0, help="upper bound for each phase, seconds")
    args = parser.parse_args()
    if not (1 <= args.sessions <= 1000 and 1 <= args.questions <= 200 and 1 <= args.telegram <= 10_000):
        parser.error("need 1 <= sessions <= 1000, 1 <= questions <= 200, 1 <= telegram <= 10000")
    if not args.port:
        from tests.support.webserver import free_port

        args.port = free_port()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    with tempfile.TemporaryDirectory(prefix="servicebot-load-web-") as tmp:
        try:
            return asyncio.run(asyncio.wait_for(run(args, Path(tmp)), 3 * args.timeout))
        except (TimeoutError, AssertionError, subprocess.SubprocessError) as exc:
            return failed(exc)


if __name__ == "__main__":
    raise SystemExit(main())
