"""Telegram updates coming in, over the real paths: the real PTB Application of `channels.tg`
polling the fake Bot API (tests/support/botapi.py) over HTTP, or its webhook on the bot's own web
server; the update journal a real SQLite file; `servicebot run` a real process for kill -9.

What must hold: an update is in the journal before Telegram is told it was delivered; it is
answered once, whatever arrives twice; what a killed or stopped bot left unanswered is
answered at the next start, in order per chat; a clean stop takes bounded time; a journal
that cannot be written never stops the bot answering.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import html
import json
import logging
import os
import signal
import sqlite3
import sys
import time
from collections.abc import Callable
from pathlib import Path

import aiohttp
import pytest
import yaml
from telegram import Update

from servicebot.answering.service import Service
from servicebot.channels.server import SHUTDOWN_GRACE
from servicebot.channels.tg_ingest import (
    CANCEL_AFTER,
    DRAIN_SECONDS,
    ChatOrderedProcessor,
    JournaledQueue,
    suspects_first,
)
from servicebot.channels.tg_net import RetryingRateLimiter
from servicebot.channels.tg_render import render_html
from servicebot.channels.tg_staff import DEAD_LETTERS_TEXT
from servicebot.conversation import tickets
from servicebot.records import Channel
from servicebot.storage.journal import MAX_ATTEMPTS, UpdateJournal, dead_letter_count
from servicebot.storage.writer import CLOSE_TIMEOUT
from servicebot.tools.health import Verdict, journal_finding

from conftest import REPO
from support.botapi import TOKEN, FakeBotApi
from support.disk import fill
from support.tgbot import telegram_bot
from support.waiting import until
from support.webserver import free_port

pytestmark = [pytest.mark.slow, pytest.mark.anyio, pytest.mark.deadline(60)]

QUESTIONS = ("低保怎么申请", "书屋在哪", "养老保险怎么交", "体验馆", "低保被停了", "今天天气怎么样")
FIRST_USER = 300_000
SECRET = "s3cret-token_A"


@pytest.fixture
def settings(mini_faq, make_settings):
    # Flood control would drop a burst from one resident; it is not what these tests are about.
    return make_settings(mini_faq, token=TOKEN, reload_interval=0, flood_messages=1000)


def expected_replies(settings, questions) -> list[list[str]]:
    service = Service.from_settings(settings, None, "expected")
    return [render_html(service.answer(q, channel=Channel.TELEGRAM).reply) for q in questions]


def journal_rows(settings) -> dict[int, tuple]:
    with contextlib.closing(sqlite3.connect(settings.journal_path)) as conn:
        return {r[0]: r[1:] for r in conn.execute("SELECT update_id, done, payload FROM updates")}


def replies_by_chat(api: FakeBotApi) -> dict[int, list[str]]:
    got: dict[int, list[str]] = {}
    for call in api.calls("sendMessage"):
        got.setdefault(int(call.chat_id), []).append(call.text)
    return got


def more_faults(api: FakeBotApi, seen: int) -> Callable[[], bool]:
    """A condition for `until`: a fault struck since `seen` had."""
    return lambda: len(api.faults) > seen


def queued_update(queue: JournaledQueue) -> Update:
    """The next item of the queue, which holds only Telegram updates here."""
    item = queue.get_nowait()
    assert isinstance(item, Update), item
    return item


def private_update(update_id: int, text: str, user: int) -> dict:
    chat = {"id": user, "type": "private", "first_name": "居民"}
    message = {"message_id": update_id, "date": 1700000000, "chat": chat, "from": {**chat, "is_bot": False}}
    return {"update_id": update_id, "message": {**message, "text": text}}


# --- the queue and the processor ---------------------------------------------------------------


async def test_an_update_put_twice_is_queued_once_and_unfinished_ones_come_first_after_a_restart(tmp_path):
    path = tmp_path / "updates.sqlite3"

    queue = JournaledQueue(UpdateJournal(path))
    await queue.open(None)
    first = Update.de_json(private_update(5, "低保", 42), None)
    await queue.put(first)
    await queue.put(Update.de_json(private_update(5, "低保", 42), None))  # a re-post
    await queue.put(Update.de_json(private_update(6, "书屋在哪", 42), None))
    await queue.finished(6)
    assert queue.qsize() == 2
    await queue.close()  # 5 was never finished: the process stopped

    again = JournaledQueue(UpdateJournal(path))
    assert await again.open(None) == 1
    await again.put(Update.de_json(private_update(5, "低保", 42), None))  # Telegram sends it again
    await again.put(Update.de_json(private_update(6, "书屋在哪", 42), None))  # answered already
    await again.put(Update.de_json(private_update(7, "体验馆", 42), None))
    queued = [queued_update(again) for _ in range(again.qsize())]
    assert [u.update_id for u in queued] == [5, 7]
    assert queued[0].to_dict() == first.to_dict()  # read back whole
    await again.close()


class Ledger:
    """The journal's side of the processor (`JournaledQueue`), recording what it is told."""

    def __init__(self, suspects=()):
        self.suspects = set(suspects)
        self.events: list[tuple[str, int]] = []

    async def started(self, update_id: int) -> None:
        self.events.append(("started", update_id))

    async def released(self, update_id: int) -> None:
        self.events.append(("released", update_id))

    async def cleared(self, update_id: int) -> None:
        self.suspects.discard(update_id)
        self.events.append(("cleared", update_id))

    async def finished(self, update_id: int) -> None:
        self.suspects.discard(update_id)
        self.events.append(("finished", update_id))

    def of(self, kind: str) -> list[int]:
        return [u for k, u in self.events if k == kind]


async def test_an_update_that_cannot_be_read_back_is_a_dead_letter_not_dropped(tmp_path, caplog):
    path = tmp_path / "updates.sqlite3"
    journal = UpdateJournal(path)
    journal.open()
    journal.admit(5, '{"update_id": 5, "message": "damaged"}')
    journal.admit(6, json.dumps(private_update(6, "书屋在哪", 42)))
    journal.close()

    queue = JournaledQueue(UpdateJournal(path))
    assert await queue.open(None) == 1
    assert queued_update(queue).update_id == 6
    await queue.close()
    assert dead_letter_count(path)[0] == 1
    assert any("cannot be read back" in r.getMessage() for r in caplog.records if r.levelname == "ERROR")


@pytest.mark.deadline(10)
async def test_a_stop_cancels_what_has_sent_nothing_and_leaves_what_never_started():
    """After the drain deadline: an update waiting for the outgoing rate limit is cancelled
    (nothing of it reached Telegram) and released (a stop is no attempt at it), one whose
    request is out is let finish, and one still queued behind it in the same chat does not
    start. Only the finished one is marked done."""

    ledger = Ledger()
    processor = ChatOrderedProcessor(8, ledger=ledger)
    limiter = RetryingRateLimiter(overall_max_rate=0, group_max_rate=0)
    on_the_wire, reply_arrives, never = asyncio.Event(), asyncio.Event(), asyncio.Event()

    async def request() -> dict:
        on_the_wire.set()
        await reply_arrives.wait()
        return {"ok": True}

    async def sending() -> None:
        await limiter.process_request(request, (), {}, "sendMessage", {"chat_id": 1}, None)

    async def waiting_for_the_limit() -> None:
        await never.wait()

    async def queued() -> None:
        raise AssertionError("started after the deadline")

    tasks = [
        asyncio.create_task(processor.process_update(Update.de_json(private_update(1, "a", 1), None), sending())),
        asyncio.create_task(
            processor.process_update(Update.de_json(private_update(2, "b", 2), None), waiting_for_the_limit())
        ),
        asyncio.create_task(processor.process_update(Update.de_json(private_update(3, "c", 1), None), queued())),
    ]
    await on_the_wire.wait()
    processor.stop_starting(time.monotonic())
    assert processor.cancel_running(unsent_only=True) == 1
    reply_arrives.set()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert [type(r).__name__ for r in results] == ["NoneType", "CancelledError", "NoneType"]
    assert ledger.of("finished") == [1]
    assert sorted(ledger.of("started")) == [1, 2] and ledger.of("released") == [2]
    assert (processor.left, processor.cancelled) == (1, 1)


@pytest.mark.deadline(10)
async def test_an_update_a_run_died_processing_runs_alone_at_the_next_start():
    """A suspect waits for what is running to finish, and nothing starts beside it while it
    does its own work: until its first Bot API call (which clears its attempts), or until it
    has run alone for `alone_for` seconds."""

    limiter = RetryingRateLimiter(overall_max_rate=0, group_max_rate=0)
    never = asyncio.Event()

    def bot_api(n: int):
        async def request() -> dict:
            asking.add(n)
            await never.wait()  # Telegram is slow: waiting for it is no fault of the update
            return {"ok": True}

        return request

    def harness(suspects, alone_for):
        ledger = Ledger(suspects)
        processor = ChatOrderedProcessor(8, ledger=ledger, alone_for=alone_for)
        gates = {n: asyncio.Event() for n in range(1, 8)}
        running: set[int] = set()

        async def work(n: int, calls_api: bool) -> None:
            running.add(n)
            await gates[n].wait()
            if calls_api:
                await limiter.process_request(bot_api(n), (), {}, "sendMessage", {"chat_id": n}, None)
            running.discard(n)

        def submit(n: int, calls_api: bool = False) -> asyncio.Task:
            update = Update.de_json(private_update(n, "问", 100 + n), None)
            return asyncio.create_task(processor.process_update(update, work(n, calls_api)))

        return ledger, gates, running, submit

    def limiter_waits(n: int) -> bool:
        return n in asking

    asking: set[int] = set()

    ledger, gates, running, submit = harness({2, 4}, alone_for=60)
    tasks = [submit(1), submit(2, calls_api=True), submit(3)]
    await until(lambda: running == {1}, "the first update running, the suspect waiting for it")
    gates[1].set()
    await until(lambda: running == {2}, "the suspect running alone; the third waits behind it")
    for _ in range(50):  # turns of the event loop: nothing may start meanwhile
        await asyncio.sleep(0)
    assert running == {2} and ledger.of("cleared") == []
    gates[2].set()  # its own work done, it asks the Bot API (and waits for it)
    await until(lambda: running == {2, 3}, "the third beside it, once it asks Telegram")
    assert ledger.of("cleared") == [2]
    gates[3].set()
    await tasks[2]
    tasks[1].cancel()  # still waiting for Telegram
    assert [type(r).__name__ for r in await asyncio.gather(*tasks, return_exceptions=True)] == [
        "NoneType",
        "CancelledError",
        "NoneType",
    ]

    ledger, gates, running, submit = harness({7}, alone_for=60)
    waiting = submit(6, calls_api=True)  # an update waiting for Telegram...
    gates[6].set()
    await until(lambda: limiter_waits(6), "the update waiting for the Bot API")
    suspect = submit(7)
    await until(lambda: 7 in running, "...does not hold up a suspect")
    gates[7].set()
    await suspect
    waiting.cancel()
    await asyncio.gather(waiting, return_exceptions=True)

    ledger, gates, running, submit = harness({4}, alone_for=0.2)  # a suspect that hangs
    tasks = [submit(4), submit(5)]
    await until(lambda: running == {4}, "the suspect alone")
    await until(lambda: running == {4, 5}, "the others, once it has had its time alone", timeout=5)
    assert ledger.of("cleared") == []  # it never got through its own work: still a suspect
    gates[4].set()
    gates[5].set()
    await asyncio.gather(*tasks)
    assert ledger.of("finished") == [4, 5]


# --- polling -------------------------------------------------------------------------------------


class CheckingBotApi(FakeBotApi):
    """The fake Bot API, which at each confirmation (a getUpdates offset) looks into the bot's
    journal file: every update being confirmed must be there already."""

    def __init__(self, journal_path: Path):
        super().__init__()
        self.journal_path = journal_path
        self.confirmed_unjournaled: list[int] = []
        self.confirmations = 0

    def _confirm(self, offset: int) -> None:
        being_confirmed = [r.update_id for r in self._pending if offset > 0 and r.update_id < offset]
        if being_confirmed:
            self.confirmations += 1
            with contextlib.closing(sqlite3.connect(self.journal_path)) as conn:
                known = {row[0] for row in conn.execute("SELECT update_id FROM updates")}
            self.confirmed_unjournaled += [u for u in being_confirmed if u not in known]
        super()._confirm(offset)


async def test_polling_confirms_an_update_only_once_it_is_in_the_journal(settings):
    async with CheckingBotApi(settings.journal_path) as api, telegram_bot(settings, api):
        for n in range(40):  # batches of several updates per getUpdates
            api.user_message(QUESTIONS[n % len(QUESTIONS)], user_id=FIRST_USER + n)
        await until(lambda: len(api.calls("sendMessage")) >= 40, "every question answered", 20)
        await until(lambda: all(r.confirmed_at for r in api.update_records), "every update confirmed", 10)
        assert api.confirmations >= 1 and api.confirmed_unjournaled == []
        await until(lambda: all(row[0] for row in journal_rows(settings).values()), "all marked done", 5)
        assert all(row[1] is None for row in journal_rows(settings).values())  # no text kept


# --- webhook -------------------------------------------------------------------------------------


async def test_a_webhook_re_post_is_answered_once_also_after_a_restart(settings, caplog):
    port = free_port()
    hooked = dataclasses.replace(
        settings,
        webhook_url=f"http://127.0.0.1:{port}/telegram-hook",
        webhook_secret=SECRET,
        web_listen="127.0.0.1",
        web_port=port,
    )
    user = FIRST_USER + 1

    async def post(http: aiohttp.ClientSession, update: dict) -> int:
        headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
        async with http.post(hooked.webhook_url, json=update, headers=headers) as response:
            return response.status

    async with FakeBotApi() as api, aiohttp.ClientSession() as http:
        async with telegram_bot(hooked, api):
            delivered = api.user_message("书屋在哪", user_id=user)  # sent by the fake's webhook loop
            await api.wait_for_reply(user)
            same = private_update(900_001, "低保怎么申请", user)
            statuses = await asyncio.gather(*(post(http, same) for _ in range(3)))  # Telegram retrying
            assert statuses == [200, 200, 200]
            assert await post(http, delivered) == 200
            await until(lambda: len(api.calls("sendMessage", chat_id=user)) >= 2, "the re-posted question", 10)
            await api.expect_no_call(lambda c: c.method == "sendMessage", within=0.5, since=api.mark())

        async with telegram_bot(hooked, api):  # a restart: the journal file remembers
            assert [await post(http, u) for u in (same, delivered)] == [200, 200]
            api.user_message("体验馆", user_id=user)
            await until(lambda: len(api.calls("sendMessage", chat_id=user)) >= 3, "a new question", 10)
            await api.expect_no_call(lambda c: c.method == "sendMessage", within=0.5, since=api.mark())
        texts = [c.text for c in api.calls("sendMessage", chat_id=user)]
        assert texts == [r for q in ("书屋在哪", "低保怎么申请", "体验馆") for r in expected_replies(settings, [q])[0]]


# --- a clean stop ---------------------------------------------------------------------------------


async def test_a_clean_stop_with_a_backlog_is_bounded_and_the_next_start_answers_the_rest_in_order(settings, caplog):
    """Replies go out at Telegram's 30 a second; 3 residents send 40 questions each at once.
    The replies are held until the stop begins, which drains for 1 s (the bot's default is 5):
    it returns within that plus CANCEL_AFTER, and the next start answers everything else, once, in each chat's order."""
    residents = [FIRST_USER + n for n in range(3)]
    plan = {user: [QUESTIONS[(n + k) % len(QUESTIONS)] for n in range(40)] for k, user in enumerate(residents)}
    expected = {user: [r for replies in expected_replies(settings, qs) for r in replies] for user, qs in plan.items()}

    with caplog.at_level(logging.INFO):
        async with FakeBotApi() as api:
            async with telegram_bot(settings, api, drain=1.0) as telegram:
                # Replies wait until the stop begins, so the backlog does not depend on how long
                # the bot took to fetch and journal the 120 updates on a busy machine.
                api.hold("sendMessage")
                for n in range(40):
                    for user in residents:
                        last = api.user_message(plan[user][n], user_id=user)
                await api.wait_confirmed(last["update_id"], timeout=10)  # all of them are the bot's now
                assert not api.calls("sendMessage")
                api.release("sendMessage")
                began = time.monotonic()
            stopped = time.monotonic() - began
            assert stopped < 1.0 + CANCEL_AFTER + 1.0  # the stop (1 s), its grace, and shutting down
            left = telegram.processor.left + telegram.processor.cancelled
            answered = len(api.calls("sendMessage"))
            assert left > 0 and answered < 120  # the test has a backlog to leave behind
            pending = [row for row in journal_rows(settings).values() if row[0] is None]
            assert len(pending) == 120 - answered

            async with telegram_bot(settings, api):
                await until(lambda: len(api.calls("sendMessage")) >= 120, "the rest answered", 30)
                await api.expect_no_call(lambda c: c.method == "sendMessage", within=0.5, since=api.mark())
            assert replies_by_chat(api) == expected
    stops = [r.getMessage() for r in caplog.records if r.getMessage().startswith("telegram: stopped in")]
    assert "updates wait in the journal for the next start" in stops[0]


def test_compose_gives_a_stop_more_time_than_its_own_bounds_add_up_to():
    """Docker sends SIGKILL at the end of stop_grace_period: it must outlast the web server's
    grace, Telegram's drain and grace, the hand-off desk's worker and notices, and the
    interaction log's last write, one after another."""
    service = yaml.safe_load((REPO / "compose.yaml").read_text(encoding="utf-8"))["services"]["bot"]
    grace = service["stop_grace_period"]
    assert grace.endswith("s")
    bounds = SHUTDOWN_GRACE + DRAIN_SECONDS + CANCEL_AFTER + 2 * tickets.STOP_GRACE + CLOSE_TIMEOUT
    assert float(grace[:-1]) > bounds


# --- kill -9 ----------------------------------------------------------------------------------------


class BotProcess:
    """`servicebot run` as a real process, its stderr in a file."""

    def __init__(self, settings, api: FakeBotApi, log_path: Path):
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("SERVICEBOT_")}
        self.env.update(
            SERVICEBOT_TOKEN=TOKEN,
            SERVICEBOT_BASE_URL=api.base_url,
            SERVICEBOT_FAQ_DIR=str(settings.faq_dir),
            SERVICEBOT_DATA_DIR=str(settings.data_dir),
            SERVICEBOT_RELOAD_INTERVAL="0",
            SERVICEBOT_FLOOD_MESSAGES="1000",
        )
        self.api = api
        self.log_path = log_path
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> BotProcess:
        mark = self.api.mark()
        with self.log_path.open("ab") as log:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "servicebot", "run", env=self.env, stdin=asyncio.subprocess.DEVNULL, stderr=log
            )
        await self.api.wait_for("setMyCommands", since=mark, timeout=90)  # a loaded CI machine starts slowly
        return self

    async def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        await self.process.wait()

    async def stop(self) -> int:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        return await asyncio.wait_for(self.process.wait(), 20)

    def ensure_gone(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.kill()


def confirmed_unanswered(api: FakeBotApi) -> int:
    answered = replies_by_chat(api)
    return sum(1 for r in api.update_records if r.confirmed_at and r.update["message"]["chat"]["id"] not in answered)


async def quiet(api: FakeBotApi, seconds: float, timeout: float = 10) -> None:
    """Until the fake Bot API has accepted no sendMessage for `seconds`."""
    seen = {"count": -1, "since": 0.0}

    def settled() -> bool:
        count = len(api.calls("sendMessage"))
        if count != seen["count"]:
            seen.update(count=count, since=time.monotonic())
        return time.monotonic() - seen["since"] >= seconds

    await until(settled, f"{seconds:g} s without a sendMessage", timeout)


@pytest.mark.deadline(150)
async def test_three_kills_in_a_row_with_a_backlog_lose_nothing_and_answer_each_question_once(settings, tmp_path):
    """SIGKILL, three times in a row, to a real `servicebot run` that has confirmed 150
    questions to Telegram and is in the middle of answering them: the fourth run answers each
    of them, once, with the right answer, and gives up none (issue 22: each start used to
    count as a replay of every waiting update, and after three they were erased).

    Telegram refuses every reply until the last run (429, "retry after 60 s"), so the bot is
    always mid-answer when it dies and no reply is on its way at a kill: a reply that reached
    Telegram in the last milliseconds before a kill can come twice, which no bot can rule
    out (docs/operations.md, "Stops, crashes and restarts"), and that is bench/faults/kill.py's to count."""
    count = 150
    plan = [QUESTIONS[n % len(QUESTIONS)] for n in range(count)]
    expected = expected_replies(settings, plan)
    log_path = tmp_path / "bot.log"

    async with FakeBotApi() as api:
        processes = [BotProcess(settings, api, log_path) for _ in range(4)]
        try:
            api.fail_next("sendMessage", "429", times=100_000, retry_after=60)  # every reply, for now
            seen = len(api.faults)
            bot = await processes[0].start()
            for n, question in enumerate(plan):
                api.user_message(question, user_id=FIRST_USER + n)
            await api.wait_confirmed(api.update_records[-1].update_id, timeout=20)  # all in the journal
            for run in processes[1:]:
                await until(more_faults(api, seen), "a reply attempted: answering is under way", 20)
                await bot.kill()
                if run is processes[-1]:
                    api.disarm_faults()
                seen = len(api.faults)
                bot = await run.start()
            await until(lambda: len(replies_by_chat(api)) >= count, "every question answered", 40)
            await api.expect_no_call(lambda c: c.method == "sendMessage", within=1.0, since=api.mark())
            assert await bot.stop() == 0
        finally:
            for process in processes:
                process.ensure_gone()
        replies = replies_by_chat(api)
        assert [replies.get(FIRST_USER + n) for n in range(count)] == expected
    with contextlib.closing(sqlite3.connect(settings.db_path)) as conn:  # and logged once, replayed or not
        assert conn.execute("SELECT count(*), count(DISTINCT resident) FROM interactions").fetchone() == (count, count)
    assert dead_letter_count(settings.journal_path) == (0, None)
    log = log_path.read_text(encoding="utf-8")
    assert "were being processed when it stopped: they are processed one at a time" in log
    assert "Traceback" not in log and " ERROR " not in log
    assert str(FIRST_USER) not in log and "低保怎么申请" not in log


@pytest.mark.deadline(90)
async def test_three_clean_restarts_in_a_row_lose_nothing_and_log_only_what_was_sent(settings):
    """Three clean stops, each while every update is being answered (Telegram answers 429) and
    more wait behind them: a stop cancels them, which is no attempt at them, so the fourth
    start answers every question once, and the interaction log holds exactly the questions
    that were answered (issue 22: 59 were logged as answered and never sent)."""
    residents = [FIRST_USER + n for n in range(80)]
    plan = {user: QUESTIONS[n % len(QUESTIONS)] for n, user in enumerate(residents)}

    async with FakeBotApi() as api:
        api.fail_next("sendMessage", "429", times=100_000, retry_after=60)
        for user, question in plan.items():
            api.user_message(question, user_id=user)
        for _ in range(3):
            seen = len(api.faults)
            async with telegram_bot(settings, api, drain=0.2, max_concurrent=16) as telegram:
                await until(more_faults(api, seen), "replies attempted", 10)
            assert telegram.processor.cancelled > 0  # it was in the middle of answering
        api.disarm_faults()
        async with telegram_bot(settings, api):
            await until(lambda: len(replies_by_chat(api)) >= len(residents), "every question answered", 30)
            await api.expect_no_call(lambda c: c.method == "sendMessage", within=0.5, since=api.mark())
        got = replies_by_chat(api)
        assert {user: got.get(user) for user in residents} == {
            user: replies for user, replies in zip(residents, expected_replies(settings, plan.values()))
        }
    assert dead_letter_count(settings.journal_path) == (0, None)
    service = Service.from_settings(settings, secret="bot-secret")
    with contextlib.closing(sqlite3.connect(settings.db_path)) as conn:
        logged = [r[0] for r in conn.execute("SELECT resident FROM interactions")]
    assert sorted(logged) == sorted(service.resident_key(user) for user in residents)


async def test_an_update_the_bot_died_on_again_and_again_is_a_dead_letter_staff_and_health_hear_of(
    mini_faq, make_settings
):
    """An update three runs died while processing (a poison update) is not processed again:
    it becomes a dead letter, the staff group is told once, and `servicebot health` lists it;
    the update that waited beside it is answered."""
    staff = -1005000000001
    settings = make_settings(mini_faq, token=TOKEN, reload_interval=0, staff_chat_id=staff)
    poison, innocent = FIRST_USER + 77, FIRST_USER + 78
    journal = UpdateJournal(settings.journal_path)
    journal.open()
    journal.admit(77, json.dumps(private_update(77, "低保怎么申请", poison)))
    journal.admit(78, json.dumps(private_update(78, "书屋在哪", innocent)))
    for _ in range(MAX_ATTEMPTS):
        journal.start(77)  # processing began, and the process died, three times
    journal._disconnect()

    async with FakeBotApi() as api:
        async with telegram_bot(settings, api):
            await api.wait_for_reply(innocent, timeout=10)
            note = await api.wait_for_reply(staff, timeout=10)
            assert note.text == html.escape(DEAD_LETTERS_TEXT.format(count=1), quote=False)
            await api.expect_no_call(lambda c: c.chat_id == poison, within=0.5)
        mark = api.mark()
        async with telegram_bot(settings, api):  # told once
            await api.expect_no_call(lambda c: c.chat_id == staff, within=0.5, since=mark)
    finding = journal_finding(settings)  # (the rest of `health` would ask the fake Bot API, gone now)
    assert finding.verdict == Verdict.PROBLEM and "1 Telegram update(s) were given up unanswered" in finding.text
    assert dead_letter_count(settings.journal_path)[0] == 1


# --- a journal that cannot be written -------------------------------------------------------------


async def test_a_removed_journal_never_stops_the_bot_answering_and_recovers(settings, caplog):
    with caplog.at_level(logging.INFO):
        async with FakeBotApi() as api:
            journal = UpdateJournal(settings.journal_path, retry_every=0.2)
            async with telegram_bot(settings, api, journal=journal):
                assert "低保" in (await ask(api, "低保怎么申请", FIRST_USER)).text
                # Removed, and its place taken by a directory: it cannot be re-created.
                for suffix in ("", "-wal", "-shm"):
                    Path(f"{settings.journal_path}{suffix}").unlink(missing_ok=True)
                settings.journal_path.mkdir()
                for n in range(1, 6):
                    assert (await ask(api, QUESTIONS[n], FIRST_USER + n)).text
                assert not journal.healthy
                settings.journal_path.rmdir()
                await until(lambda: journal.healthy, "the journal is back", 10)
                await ask(api, "体验馆", FIRST_USER + 9)
                # Protected again: the new file holds that update (and none from the outage).
                assert list(journal_rows(settings)) == [api.update_records[-1].update_id]
    journal_lines = [r for r in caplog.records if r.name == "servicebot.storage.journal"]
    assert [r.levelname for r in journal_lines] == ["ERROR", "ERROR", "INFO"]  # deleted; cannot be used; back
    assert "answering without it" in journal_lines[1].getMessage()
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert str(FIRST_USER) not in logged and "低保怎么申请" not in logged


async def test_a_full_disk_never_stops_the_bot_answering_and_the_journal_recovers(settings, small_disk, caplog):
    on_small_disk = dataclasses.replace(settings, data_dir=small_disk / "data")

    with caplog.at_level(logging.INFO):
        async with FakeBotApi() as api:
            journal = UpdateJournal(on_small_disk.journal_path, retry_every=0.2)
            async with telegram_bot(on_small_disk, api, journal=journal):
                await ask(api, "低保怎么申请", FIRST_USER)
                filler = fill(small_disk)
                try:
                    for n in range(1, 200):  # until the journal needs space it cannot get
                        reply = await ask(api, QUESTIONS[n % len(QUESTIONS)] + "。" * 400, FIRST_USER + n)
                        assert reply.text
                        if not journal.healthy:
                            break
                    assert not journal.healthy
                    for n in range(200, 205):  # still answering
                        assert (await ask(api, QUESTIONS[n % len(QUESTIONS)], FIRST_USER + n)).text
                finally:
                    filler.unlink()
                await until(lambda: journal.healthy, "the journal is back", 10)
                await ask(api, "体验馆", FIRST_USER + 999)
                assert api.update_records[-1].update_id in journal_rows(on_small_disk)
    journal_lines = [r for r in caplog.records if r.name == "servicebot.storage.journal"]
    assert [r.levelname for r in journal_lines] == ["ERROR", "INFO"]
    assert "full" in journal_lines[0].getMessage()
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert str(FIRST_USER) not in logged and "低保怎么申请" not in logged


async def ask(api: FakeBotApi, text: str, user: int):
    api.user_message(text, user_id=user)
    return await api.wait_for_reply(user, timeout=10)


def test_suspects_are_replayed_first_and_each_chat_keeps_its_order():
    """A suspect queued behind updates that are not suspects would start its solo work whenever
    one of them calls Telegram, in every run alike: a crash loop timed by replies would catch the
    same innocent suspect each time and dead-letter it. Chats whose next update is a suspect go
    first; within a chat nothing is reordered."""
    updates = [
        Update.de_json(private_update(1, "低保", user=10), None),
        Update.de_json(private_update(2, "书屋", user=20), None),
        Update.de_json(private_update(3, "体验馆", user=10), None),
        Update.de_json(private_update(4, "临时救助", user=30), None),
        Update.de_json(private_update(5, "养老保险", user=20), None),
    ]
    order = [u.update_id for u in suspects_first(updates, suspects={2, 4, 3})]
    assert order == [2, 4, 5, 1, 3]  # chats 20 and 30 first; 3 waits behind 1 in chat 10
    assert [u.update_id for u in suspects_first(updates, suspects=set())] == [1, 2, 3, 4, 5]
