"""A staff reply never reaches the wrong resident after the log file starts again (issue 22).

Ticket numbers start again with a new interactions.sqlite3 — after the restore of a backup
(docs/operations.md), after the file was deleted while the bot was stopped, or while it ran — but the
cards of the old tickets stay in the staff group. Over the real path (the bot of
`channels.server.serve` polling the fake Bot API over HTTP on 127.0.0.1, the web chat where a
test needs it, real SQLite files): a reply to a card of a ticket the log no longer has is
refused with a note to staff, and reaches nobody; a reply to a card of a ticket it has still
reaches that ticket's resident. The backup and the restore run the commands of docs/operations.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import re
import sqlite3
from pathlib import Path

import aiohttp
import pytest

from servicebot.answering import replies
from servicebot.channels.tg_staff import NOTICES, UNKNOWN_TOAST
from servicebot.conversation.ticket_view import Notice
from servicebot.records import TICKET_KEY_RE
from servicebot.tools.health import check_health
from test_handoff_e2e import STAFF, ZHANG, number_in, open_ticket, press, running, staff_says, to_resident

from support.botapi import TOKEN, FakeBotApi, button
from support.operations import readme_backup_commands, run_readme_command
from support.waiting import until

pytestmark = [pytest.mark.slow, pytest.mark.anyio, pytest.mark.deadline(90)]

RESIDENTS = {name: 100_100 + n for n, name in enumerate("ABCDE")}
UNKNOWN = NOTICES[Notice.UNKNOWN].split("#{number}")[1][:20]  # how the refusal reads, after the number


@pytest.fixture
def settings(mini_faq, make_settings):
    return make_settings(mini_faq, token=TOKEN, staff_chat_id=STAFF, reload_interval=0)


def relayed(call) -> bool:
    return replies.STAFF_REPLY_PREFIX in (call.text or "")


def key_of(card_text: str) -> str:
    found = re.search(r"#\d+（(\w+)）", card_text)
    assert found and TICKET_KEY_RE.fullmatch(found.group(1)), card_text
    return found.group(1)


@pytest.mark.deadline(120)
async def test_after_the_readme_restore_and_a_deleted_log_an_old_card_reaches_nobody(settings, tmp_path):
    backup_command, restore_command = readme_backup_commands()
    backup, key_backup = tmp_path / "backup.sqlite3", tmp_path / "pseudonym.key"
    key_backup.write_text("not used by this test's bot", encoding="utf-8")
    db = settings.db_path

    async with FakeBotApi() as api:
        async with running(api, settings):
            _, card_a = await open_ticket(api, "A家的疫苗本丢了怎么补办", RESIDENTS["A"])
            _, card_b = await open_ticket(api, "B家的疫苗本丢了怎么补办", RESIDENTS["B"])
            paths = {"/data/interactions.sqlite3": db, "/tmp/backup.sqlite3": backup}
            await asyncio.to_thread(run_readme_command, backup_command, paths)  # online, while the bot runs
            _, card_c = await open_ticket(api, "C家的疫苗本丢了怎么补办", RESIDENTS["C"])
        assert [number_in(c.text) for c in (card_a, card_b, card_c)] == [1, 2, 3]

        paths = {
            "/backup/interactions-2026-11-28.sqlite3": backup,
            "/data/interactions.sqlite3": db,
            "/backup/pseudonym.key": key_backup,
            "/data/pseudonym.key": settings.data_dir / "pseudonym.key",
        }
        await asyncio.to_thread(run_readme_command, restore_command, paths)
        async with running(api, settings):
            _, card_d = await open_ticket(api, "D家的疫苗本丢了怎么补办", RESIDENTS["D"])
            assert number_in(card_d.text) == 3 and key_of(card_d.text) != key_of(card_c.text)

            # C's card (posted after the backup) now shows the number of D's ticket: refused.
            staff_says(api, "答复C：请带户口本来。", card_c.result["message_id"])
            note = await api.wait_for_reply(STAFF)
            assert UNKNOWN in note.text and "#3" in note.text
            resolve = button(card_c, "已解决")["callback_data"]
            pressed = await press(api, resolve, chat=STAFF, user=ZHANG, message=card_c.result["message_id"])
            assert pressed.params.get("text") == UNKNOWN_TOAST.format(number=3)

            # D's own card, and A's (in the backup), still work.
            for name, card in (("D", card_d), ("A", card_a)):
                staff_says(api, f"答复{name}：请带户口本来。", card.result["message_id"])
                await until(functools.partial(to_resident, api, RESIDENTS[name]), f"{name}'s reply")
                assert (await api.wait_for_reply(STAFF)).text.startswith("✅")

        for suffix in ("", "-wal", "-shm"):  # deleted while the bot was stopped
            Path(f"{db}{suffix}").unlink(missing_ok=True)
        async with running(api, settings):
            _, card_e = await open_ticket(api, "E家的疫苗本丢了怎么补办", RESIDENTS["E"])
            assert number_in(card_e.text) == 1
            staff_says(api, "答复A：第二次答复。", card_a.result["message_id"])  # A's card shows #1 too
            note = await api.wait_for_reply(STAFF)
            assert UNKNOWN in note.text and "#1" in note.text
            staff_says(api, "答复E：请带户口本来。", card_e.result["message_id"])
            await until(lambda: to_resident(api, RESIDENTS["E"]), "E's reply")
            await api.expect_no_call(relayed, within=0.5, since=api.mark())

        got = {name: [c.text.split("\n")[0] for c in to_resident(api, user)] for name, user in RESIDENTS.items()}
        assert got == {
            "A": [replies.STAFF_REPLY_PREFIX + "答复A：请带户口本来。"],
            "B": [],
            "C": [],
            "D": [replies.STAFF_REPLY_PREFIX + "答复D：请带户口本来。"],
            "E": [replies.STAFF_REPLY_PREFIX + "答复E：请带户口本来。"],
        }


async def test_a_log_deleted_while_the_bot_runs_is_started_afresh_and_reported(settings):
    """Tickets and the web chat's outbox go to the new file (they used to go on into the
    deleted one and vanish at the next start); an old card reaches nobody; `health` says so."""
    sessions = {"W1": "1" * 32, "W2": "2" * 32}

    async def post(http, port, path, doc):
        async with http.post(f"http://127.0.0.1:{port}{path}", json=doc) as response:
            assert response.status == 200, await response.text()
            return await response.json()

    async def hand_off(http, port, session: str, question: str) -> int:
        asked = await post(http, port, "/api/ask", {"session": session, "text": question})
        handoff = next(c for c in asked["messages"][0]["choices"] if c["label"] == replies.HANDOFF_LABEL)
        tapped = await post(http, port, "/api/tap", {"session": session, "data": handoff["data"]})
        return number_in(tapped["messages"][0]["body"])

    async with FakeBotApi() as api, aiohttp.ClientSession() as http, running(api, settings, web=True) as (_, port):
        assert await hand_off(http, port, sessions["W1"], "W1的护照在哪里办") == 1
        card_w1 = await api.wait_for_reply(STAFF)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{settings.db_path}{suffix}").unlink(missing_ok=True)
        assert await hand_off(http, port, sessions["W2"], "W2的护照在哪里办") == 1
        card_w2 = await api.wait_for_reply(STAFF)
        assert key_of(card_w2.text) != key_of(card_w1.text)

        staff_says(api, "答复W1", card_w1.result["message_id"])
        note = await api.wait_for_reply(STAFF)
        assert UNKNOWN in note.text
        staff_says(api, "答复W2", card_w2.result["message_id"])
        await api.wait_for_reply(STAFF)  # ✅ kept for the resident
        inbox = {
            name: await post(http, port, "/api/inbox", {"session": session, "after": 0})
            for name, session in sessions.items()
        }
        assert [m["body"] for m in inbox["W2"]["messages"]] == [replies.STAFF_REPLY_PREFIX + "答复W2"]
        assert inbox["W1"]["messages"] == []
        with contextlib.closing(sqlite3.connect(settings.db_path)) as conn:  # the file at the path has it all
            assert conn.execute("SELECT question FROM tickets").fetchall() == [("W2的护照在哪里办",)]
        with_api = dataclasses.replace(settings, base_url=api.base_url)  # health asks the (fake) Bot API too
        problems = await asyncio.to_thread(check_health, with_api)
        assert len(problems) == 1 and "deleted or replaced while the bot ran" in problems[0]
