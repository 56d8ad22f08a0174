"""Load check of the WeChat channel: 1,000 messages from 200 residents, every reply within WeChat's 5 s.

One process runs what `servicebot run` runs for WeChat — the Core (real interaction log in a
temporary directory), the web chat and `/wechat` — on 127.0.0.1 via `channels.server.serve`.
A separate client process (so that the clients' own work, signing and encrypting included,
does not share the server's event loop) plays WeChat with the simulated WeChat server
(tests/support/wechat_sim.py): --users residents at once, each sending --messages questions one after
another (WeChat forwards a resident's next message after the reply to the last), signed, and in
safe mode AES-encrypted, exactly as WeChat does, with WeChat's 5 s deadline and retries.

Reports, for plain-text mode and safe mode:
- correctness: every reply arrives on the first try (no retry needed), within 5 s, with the
  text the service gives for that question (first page, rendered for WeChat), none lost;
  every message logged exactly once in the SQLite log;
- latency per reply as WeChat sees it (request sent → whole reply received): median and p99
  under load and for one resident alone, next to a direct `Service.answer` call on the same
  questions in the same run.

Usage: python -m bench.load.wechat [--users 200] [--messages 5] [--mode plain|safe|both] [--faq DIR]
Exits 1 if any reply is lost, wrong, retried or over 5 s, or a message is not logged exactly once.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sqlite3
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

DEADLINE = 5.0


# --- the client process: WeChat ---------------------------------------------------------------


async def client(url: str, plan: list[list[str]], aes_key: str | None) -> dict:
    """Each resident sends its questions in order, as WeChat forwards them: one record per
    message, and the wall time from the first message sent to the last reply."""
    import aiohttp

    from tests.support.wechat_sim import WechatSim

    sim = WechatSim(url, aes_key=aes_key, deadline=DEADLINE)
    results: list[dict] = []
    connector = aiohttp.TCPConnector(limit=max(len(plan), 1))
    async with aiohttp.ClientSession(connector=connector) as http:

        async def resident(n: int, questions: list[str]) -> None:
            openid = f"oBench{n:021d}"
            for k, question in enumerate(questions):
                xml = sim.text(openid, question)
                started = time.perf_counter()
                try:
                    reply = await sim.post(http, xml)
                    status, tries, content = reply.status, reply.tries, reply.content
                except Exception as exc:  # counted as lost
                    status, tries, content = 0, 0, type(exc).__name__
                results.append(
                    {
                        "user": n,
                        "index": k,
                        "status": status,
                        "tries": tries,
                        "content": content,
                        "seconds": time.perf_counter() - started,
                    }
                )

        started = time.perf_counter()
        await asyncio.gather(*(resident(n, questions) for n, questions in enumerate(plan)))
        elapsed = time.perf_counter() - started
    return {"results": results, "elapsed": elapsed}


def send_all(url: str, plan: list[list[str]], aes_key: str | None, workdir: Path, timeout: float) -> dict:
    """`client` in a process of its own."""
    return run_client(__spec__.name, plan, workdir, timeout, url, aes_key or "")


# --- the server process ------------------------------------------------------------------------


async def run_mode(args: argparse.Namespace, workdir: Path, safe: bool) -> bool:
    from servicebot.answering.service import Service
    from servicebot.channels import Core
    from servicebot.channels.server import build_channels, serve
    from servicebot.channels.wechat_text import paginate, render
    from servicebot.config import load_settings
    from servicebot.records import Channel

    from tests.support.webserver import free_port
    from tests.support.wechat_sim import TEST_AES_KEY, TEST_APP_ID, TEST_TOKEN

    aes_key = TEST_AES_KEY if safe else None
    data_dir = workdir / ("data-safe" if safe else "data-plain")
    settings = load_settings(
        env={},
        overrides={
            "faq_dir": args.faq,
            "data_dir": data_dir,
            "web_port": free_port(),
            "web_listen": "127.0.0.1",
            "wechat_token": TEST_TOKEN,
            "wechat_app_id": TEST_APP_ID,
            "wechat_aes_key": aes_key or "",
            "reload_interval": 0,
            "flood_messages": args.messages + args.solo + 1,
            "flood_window": 60,
        },
    )
    service = Service.from_settings(settings, secret="bench")
    checker = Service(service.snapshot, settings)  # the same FAQ, no log: what each reply should say
    faq = service.snapshot.faq
    plan, solo_plan = plans(question_pool(faq), args.users, args.messages, args.solo, args.seed)

    # The direct call, on every question of the plan, in this process and this run.
    questions = [q for messages in plan for q in messages]
    direct = direct_seconds(lambda q: checker.answer(q, channel=Channel.WECHAT), questions)

    core = Core(settings, service)
    stop = asyncio.Event()
    listening: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    server = asyncio.create_task(serve(core, build_channels(core), stop, listening=listening))
    try:
        port = await asyncio.wait_for(listening, 30)
        url = f"http://127.0.0.1:{port}/wechat"
        loop = asyncio.get_running_loop()
        solo = (await loop.run_in_executor(None, send_all, url, solo_plan, aes_key, workdir, args.timeout))["results"]
        load = await loop.run_in_executor(None, send_all, url, plan, aes_key, workdir, args.timeout)
        results, elapsed = load["results"], load["elapsed"]
    finally:
        stop.set()
        await asyncio.wait_for(server, 30)  # closes the log: every record written

    # --- verdicts ---
    expected = {}
    for question in set(questions) | set(solo_plan[0]):
        expected[question] = paginate(render(checker.answer(question, channel=Channel.WECHAT).reply).text)[0]
    everything = results + solo
    lost = [r for r in everything if r["status"] != 200]
    wrong = [r for r in results if r["status"] == 200 and r["content"] != expected[plan[r["user"]][r["index"]]]]
    wrong += [r for r in solo if r["status"] == 200 and r["content"] != expected[solo_plan[0][r["index"]]]]
    retried = [r for r in everything if r["tries"] > 1]
    late = [r for r in everything if r["seconds"] >= DEADLINE]
    missing = len(questions) + len(solo_plan[0]) - len(everything)
    with sqlite3.connect(settings.db_path) as db:
        logged = db.execute("SELECT count(*) FROM interactions WHERE channel = 'wechat'").fetchone()[0]
    sent = len(questions) + len(solo_plan[0])

    seconds = [r["seconds"] for r in results if r["status"] == 200]
    solo_seconds = [r["seconds"] for r in solo if r["status"] == 200]
    mode = "safe mode (AES)" if safe else "plain-text mode"
    print(f"\n== {mode}: {args.users} residents × {args.messages} messages = {len(questions)} messages at once")
    print(
        f"replies: {len(results) - len([r for r in results if r['status'] != 200])} of {len(questions)} "
        f"(lost {len(lost) + missing}, wrong {len(wrong)}, needed a retry {len(retried)}, "
        f"at or over {DEADLINE:g} s {len(late)}); {len(seconds) / elapsed:.0f} replies/s over {elapsed:.1f} s"
    )
    print(f"interaction log: {logged} WeChat rows for {sent} messages sent (solo run included)")
    print(latency_line("direct Service.answer (same questions, same run)", direct))
    print(latency_line("WeChat reply, one resident alone", solo_seconds))
    print(latency_line(f"WeChat reply, {args.users} residents at once", seconds))
    print(
        f"added by the WeChat channel (median − direct median): alone "
        f"{(statistics.median(solo_seconds) - statistics.median(direct)) * 1000:.2f} ms, under load "
        f"{(statistics.median(seconds) - statistics.median(direct)) * 1000:.2f} ms"
    )
    return not (lost or wrong or retried or late or missing or logged != sent)


async def run(args: argparse.Namespace, workdir: Path) -> int:
    modes = {"plain": [False], "safe": [True], "both": [False, True]}[args.mode]
    print(f"FAQ {args.faq}; server and WeChat simulator on 127.0.0.1, in two processes")
    ok = [await run_mode(args, workdir, safe) for safe in modes]
    return 0 if all(ok) else 1


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--client":  # PLAN_FILE URL [AES_KEY]
        aes_key = sys.argv[4] if len(sys.argv) > 4 else ""
        print_result(asyncio.run(client(sys.argv[3], read_plan(sys.argv[2]), aes_key or None)))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=200, help="residents writing at the same time")
    parser.add_argument("--messages", type=int, default=5, help="messages per resident, one after another")
    parser.add_argument("--solo", type=int, default=200, help="messages of the one-resident baseline")
    parser.add_argument("--mode", choices=("plain", "safe", "both"), default="both")
    parser.add_argument("--faq", type=Path, default=REPO / "faq")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=300.0, help="upper bound for each phase, seconds")
    args = parser.parse_args()
    if not (1 <= args.users <= 1000 and 1 <= args.messages <= 100 and 1 <= args.solo <= 10_000):
        parser.error("need 1 <= users <= 1000, 1 <= messages <= 100, 1 <= solo <= 10000")
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    with tempfile.TemporaryDirectory(prefix="servicebot-load-wechat-") as tmp:
        try:
            return asyncio.run(asyncio.wait_for(run(args, Path(tmp)), 6 * args.timeout))
        except (TimeoutError, subprocess.SubprocessError) as exc:
            return failed(exc)


if __name__ == "__main__":
    raise SystemExit(main())
