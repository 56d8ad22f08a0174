"""Fault script: restore a backup, delete the log while the bot runs, and count staff replies
that reach the wrong resident (issue 22: after the restore of docs/operations.md, or a deleted
interactions.sqlite3, a reply to an old card "#N" went to whoever now held #N; and tickets
opened after a deletion went on into the deleted file, lost at the next start).

A real bot process (what `servicebot run` runs, the staff group's send limit off:
`python -m bench.faults.faulting --bot`) polls the fake Bot API (tests/support/botapi.py) on 127.0.0.1; each
resident hands off a question naming them; staff reply to cards with a text naming the
resident the card was for.

1. --tickets residents hand off (group "before"); the online backup of docs/operations.md runs; as many
   again hand off ("after the backup"); the bot is stopped, its restore runs, the
   bot starts; as many again hand off ("after the restore"), whose tickets take the numbers
   of the "after the backup" ones.
2. While the bot runs, interactions.sqlite3 is deleted; as many again hand off ("after the
   deletion"); `servicebot health` runs; the bot is restarted cleanly.
3. Staff reply to cards twice: after the restore (第一次: the "before", "after the backup" and
   "after the restore" cards), and after the deletion and a clean restart (第二次: the
   "before" and "after the deletion" cards). A reply must reach the resident of its card if
   the log has that ticket at that moment, and nobody otherwise, with a note to staff.

Counted per group: replies delivered to the card's resident, refused with a note, reaching
the wrong resident, lost (the ticket should be there, nothing arrived); and whether
`servicebot health` reported the deletion. Exits 1 if any reply reached the wrong resident or
was lost, or health said nothing.

Usage: python -m bench.faults.reset [--tickets 30] [--compare SRC]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import re
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from servicebot.answering import replies

from bench import REPO
from bench.faults.faulting import (
    BOT_WITHOUT_GROUP_LIMIT,
    BotProcess,
    Quiet,
    add_compare,
    each_checkout,
    fake_api_env,
    number_in,
    polling,
    print_table,
    quiet_fake_server,
    until,
)
from tests.support.botapi import FakeBotApi
from tests.support.operations import readme_backup_commands, run_readme_command

STAFF = -1004000000003
FIRST_USER = 900_000
GROUPS = ("before", "after the backup", "after the restore", "after the deletion")
# Per round of staff replies: which groups' cards must reach their resident (True) or nobody.
ROUNDS = {
    "第一次": {"before": True, "after the backup": False, "after the restore": True},
    "第二次": {"before": False, "after the deletion": True},
}
TOKEN_RE = re.compile(r"居民R(\d+)问")
CARD_RE = re.compile(r"人工咨询 #(\d+)")
REFUSED = "不在机器人现在的咨询记录里"


@dataclass
class Outcome:
    label: str
    delivered: dict[str, int] = field(default_factory=dict)
    refused: int = 0
    wrong: dict[str, int] = field(default_factory=dict)
    lost: dict[str, int] = field(default_factory=dict)
    health_said: bool = False
    in_file_after_deletion: int = 0

    @property
    def ok(self) -> bool:
        reached_wrongly = sum(self.delivered[f"{g}, {r}"] for r, e in ROUNDS.items() for g, ok in e.items() if not ok)
        return not (sum(self.wrong.values()) or sum(self.lost.values()) or reached_wrongly) and self.health_said


async def scenario(args: argparse.Namespace, label: str, src: Path | None, workdir: Path) -> Outcome:
    outcome = Outcome(label)
    data, log_path = workdir / "data", workdir / "bot.log"
    db = data / "interactions.sqlite3"
    backup_command, restore_command = readme_backup_commands()
    residents = {group: [FIRST_USER + 1000 * g + n for n in range(args.tickets)] for g, group in enumerate(GROUPS)}
    async with FakeBotApi() as api:
        env = fake_api_env(
            api.base_url,
            args.faq,
            data,
            {
                "SERVICEBOT_STAFF_CHAT_ID": str(STAFF),
                "SERVICEBOT_PSEUDONYM_SECRET": "fault-reset-secret",
            },
            src,
        )

        async def started() -> BotProcess:
            return await polling(api, env, log_path, BOT_WITHOUT_GROUP_LIMIT)

        def cards() -> list:
            return [c for c in api.calls("sendMessage", chat_id=STAFF) if CARD_RE.search(c.text or "")]

        async def hand_off(group: str) -> None:
            users = residents[group]
            mark = api.mark()
            for user in users:
                api.user_message(f"居民R{user}问：火星签证怎么续办", user_id=user)
            answers = await api.wait_for_count(
                lambda c: c.method == "sendMessage" and c.chat_id in users, len(users), timeout=120, since=mark
            )
            for call in answers:
                press = next(
                    b["callback_data"]
                    for row in call.params["reply_markup"]["inline_keyboard"]
                    for b in row
                    if b["text"] == replies.HANDOFF_LABEL
                )
                api.callback_query(
                    press, chat_id=call.chat_id, user_id=call.chat_id, message_id=call.result["message_id"]
                )
            await until(lambda: set(users) <= {number_in(TOKEN_RE, c.text) for c in cards()}, 120)

        async def staff_reply(groups: list[str], round_: str) -> None:
            """A staff reply to the first card of each resident of `groups`, naming them and the round."""
            users = {user for group in groups for user in residents[group]}
            first: dict[int, int] = {}
            for call in cards():
                user = number_in(TOKEN_RE, call.text)
                first.setdefault(user, call.result["message_id"])
            for user in sorted(users):
                api.user_message(
                    f"答复R{user}{round_}：请带证件到窗口办理。",
                    user_id=3001,
                    chat_id=STAFF,
                    chat_type="supergroup",
                    first_name="张三",
                    reply_to_message_id=first[user],
                )
            await until(Quiet(lambda: len(api.sent), args.quiet), 240)

        bot = await started()
        try:
            await hand_off("before")
            paths = {"/data/interactions.sqlite3": db, "/tmp/backup.sqlite3": workdir / "backup.sqlite3"}
            await asyncio.to_thread(run_readme_command, backup_command, paths)
            await hand_off("after the backup")
            await bot.stop()
            (workdir / "pseudonym.key").write_text("not used: the secret is configured", encoding="utf-8")
            paths = {
                "/backup/interactions-2026-11-28.sqlite3": workdir / "backup.sqlite3",
                "/data/interactions.sqlite3": db,
                "/backup/pseudonym.key": workdir / "pseudonym.key",
                "/data/pseudonym.key": data / "pseudonym.key",
            }
            await asyncio.to_thread(run_readme_command, restore_command, paths)
            bot = await started()
            await hand_off("after the restore")
            await staff_reply(["before", "after the backup", "after the restore"], "第一次")
            for suffix in ("", "-wal", "-shm"):
                Path(f"{db}{suffix}").unlink(missing_ok=True)
            await hand_off("after the deletion")
            health = await asyncio.to_thread(
                subprocess.run,
                [sys.executable, "-m", "servicebot", "health"],
                env=env,
                capture_output=True,
                text=True,
                timeout=120,
            )
            outcome.health_said = "deleted or replaced while the bot ran" in health.stdout + health.stderr
            await bot.stop()
            bot = await started()
            await staff_reply(["before", "after the deletion"], "第二次")
            await bot.stop()
        finally:
            bot.ensure_gone()
        relayed = [c for c in api.calls("sendMessage") if replies.STAFF_REPLY_PREFIX in (c.text or "")]
        outcome.refused = sum(1 for c in api.calls("sendMessage", chat_id=STAFF) if REFUSED in (c.text or ""))

    with contextlib.closing(sqlite3.connect(db)) as conn:
        outcome.in_file_after_deletion = conn.execute("SELECT count(*) FROM tickets").fetchone()[0]
    for round_, expected in ROUNDS.items():
        for group, reaches in expected.items():
            key = f"{group}, {round_}"
            outcome.delivered[key] = outcome.wrong[key] = outcome.lost[key] = 0
            for user in residents[group]:
                texts = [c.text for c in relayed if int(c.chat_id) == user and round_ in c.text]
                mine = [t for t in texts if f"答复R{user}{round_}" in t]
                outcome.wrong[key] += len(texts) - len(mine)
                outcome.delivered[key] += bool(mine)
                outcome.lost[key] += reaches and not mine
    return outcome


Row = tuple[str, Callable[[Outcome], object]]


def group_rows(key: str, reaches: bool) -> list[Row]:
    """The table's lines for one group of residents in one round (`key`)."""
    rows: list[Row] = [
        (f"{key}: should {'' if reaches else 'not '}reach", lambda o: o.delivered[key]),
        (f"{key}: wrong resident", lambda o: o.wrong[key]),
    ]
    if reaches:
        rows.append((f"{key}: lost", lambda o: o.lost[key]))
    return rows


def report(args: argparse.Namespace, outcomes: list[Outcome]) -> None:
    rows: list[Row] = []
    for round_, expected in ROUNDS.items():
        for group, reaches in expected.items():
            rows += group_rows(f"{group}, {round_}", reaches)
    rows += [
        ("replies refused, with a note to staff", lambda o: o.refused),
        ("tickets in the file after the deletion", lambda o: o.in_file_after_deletion),
        ("health reported the deletion", lambda o: "yes" if o.health_said else "no"),
    ]
    print_table(
        f"restore and deletion: {args.tickets} tickets in each group; staff reply to their cards after the "
        "restore (第一次) and after the deletion and a restart (第二次); the figure is residents reached",
        rows,
        outcomes,
    )


async def main_async(args: argparse.Namespace) -> int:
    quiet_fake_server()
    return await each_checkout(args, scenario, report, "servicebot-fault-reset-")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickets", type=int, default=30, help="tickets in each group")
    parser.add_argument("--faq", type=Path, default=REPO / "tests" / "fixtures" / "mini")
    parser.add_argument("--quiet", type=float, default=6.0, help="seconds without a message that end the run")
    add_compare(parser)
    args = parser.parse_args()
    if not 1 <= args.tickets <= 1000:
        parser.error("need 1 <= tickets <= 1000")
    return asyncio.run(main_async(args))


if __name__ == "__main__":
    raise SystemExit(main())
