"""What the staff desk's live updates cost: short polling of /desk/api/version.

An open desk page asks /desk/api/version every 3 s (15 s in a background tab); only when
the answer changed does it fetch the page again and swap in the changed parts. This script
runs what `servicebot run` runs with a staff desk (the web chat and the desk on 127.0.0.1,
real SQLite file in a temporary directory, the shipped FAQ), opens --tickets tickets, signs
one staff member in, and measures:

- a poll (`/desk/api/version`, nothing changed): latency and bytes on the wire, next to the
  query behind it (`TicketStore.fingerprint`) called directly in the same run;
- a redraw (the open-ticket list fetched again after a change): latency and bytes;
- what --pages open pages cost the bot: polls a second, and the share of one core they take.

Usage: python -m bench.load.desk_poll [--tickets 50] [--polls 500] [--pages 20]
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import statistics
import tempfile
import time
from pathlib import Path

from servicebot.config import load_settings
from servicebot.records import Channel, Status
from servicebot.storage.ticket_store import TicketStore
from servicebot.storage.tickets import BotSaid

from bench import REPO
from bench.harness import latency_line
from tests.support.deskclient import DeskClient, add_account, signed_in
from tests.support.webserver import ServerThread, free_port

POLL_SECONDS = 3.0  # desk.js, a visible page


def wire_bytes(response) -> int:
    head = sum(len(k) + len(v) + 4 for k, v in response.headers.raw) + len("HTTP/1.1 200 OK\r\n\r\n")
    return head + len(response.content)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tickets", type=int, default=50)
    parser.add_argument("--polls", type=int, default=500)
    parser.add_argument("--pages", type=int, default=20, help="open desk pages to cost")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(
            env={},
            overrides={"faq_dir": REPO / "faq", "data_dir": Path(tmp), "reload_interval": 0},
        )
        settings = dataclasses.replace(settings, web_port=free_port(), desk_port=free_port())
        store = TicketStore(settings.db_path)
        opened = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
        for n in range(args.tickets):
            store.open_ticket(
                channel=Channel.WEB,
                resident=f"r{n}",
                address=f"{n:032x}",
                ref=None,
                question=f"第 {n} 个居民的问题：小区门口的路灯坏了找谁修",
                bot_said=BotSaid(Status.UNANSWERED),
                at=opened + dt.timedelta(seconds=n),
            )
        add_account(settings, "张三")
        fingerprint = []
        for _ in range(args.polls):
            started = time.perf_counter()
            store.fingerprint()
            fingerprint.append(time.perf_counter() - started)
        store.close()

        with ServerThread(settings):
            staff = DeskClient(f"http://127.0.0.1:{settings.desk_port}")
            signed_in(staff)
            polls, sizes = [], []
            cpu = time.process_time()
            for _ in range(args.polls):
                started = time.perf_counter()
                response = staff.get("/desk/api/version")
                polls.append(time.perf_counter() - started)
                sizes.append(wire_bytes(response))
            cpu_per_poll = (time.process_time() - cpu) / args.polls
            redraws, page_sizes = [], []
            for _ in range(max(10, args.polls // 20)):
                started = time.perf_counter()
                response = staff.get("/desk/")
                redraws.append(time.perf_counter() - started)
                page_sizes.append(wire_bytes(response))
            staff.close()

    print(f"staff desk, {args.tickets} open tickets, {args.polls} polls ({dt.date.today()})")
    print(latency_line("TicketStore.fingerprint(), direct", fingerprint))
    print(latency_line("poll /desk/api/version (HTTP, session check)", polls))
    print(latency_line("redraw: the open-ticket list again", redraws))
    print(f"{'bytes per poll (headers + body)':<52} {statistics.median(sizes):8.0f}")
    print(f"{'bytes per redraw':<52} {statistics.median(page_sizes):8.0f}")
    print(f"{'CPU per poll (server and client: an upper bound)':<52} {cpu_per_poll * 1000:8.2f} ms")
    rate = args.pages / POLL_SECONDS
    print(
        f"{args.pages} open pages: {rate:.1f} polls/s, at most {rate * cpu_per_poll * 100:.1f}% of one core, "
        f"{rate * statistics.median(sizes) / 1024:.1f} KiB/s"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
