"""The WeChat channel end to end: the simulated WeChat server (tests/support/wechat_sim.py, which signs,
encrypts and retries exactly as WeChat does) talking over HTTP on 127.0.0.1 to the bot's real
web server (`channels.server.serve` on uvicorn, tests/support/webserver.py), with the real SQLite
interaction log under tmp_path."""

from __future__ import annotations

import asyncio
import dataclasses
import io
import json
import logging
import re
import signal
import sqlite3
import time
from pathlib import Path

import aiohttp
import pytest

from servicebot.answering import replies
from servicebot.answering.replies import Reply
from servicebot.answering.text import MAX_INPUT_CHARS
from servicebot.channels.splitter import utf8_len
from servicebot.channels.wechat import WechatChannel
from servicebot.channels.wechat_text import MAX_TEXT_BYTES, MORE_HINT
from servicebot.cli import main as cli_main
from servicebot.conversation.delivery import Delivered
from servicebot.conversation.events import Resident, Said
from servicebot.conversation.memory import choice_hint
from servicebot.logs import setup_logging
from servicebot.privacy import pseudonym
from servicebot.records import Channel, Status, Via
from servicebot.tools.report_commands import run_review, run_stats

from support.processes import process_env, servicebot_process
from support.webserver import ServerThread, free_port
from support.wechat_sim import TEST_AES_KEY, TEST_APP_ID, TEST_TOKEN, SimReply, WechatSim, sha1_signature
from support.wording import wording

pytestmark = [pytest.mark.slow, pytest.mark.anyio]

OPENID = "oWx3Q5resident0000000000001"
OTHER = "oWx3Q5resident0000000000002"
SECRET = "web-test-secret"  # ServerThread's pseudonym secret
CHOICE_AND_FEEDBACK_HINT = f"（{replies.WECHAT_CHOICE_HINT}；{replies.WECHAT_FEEDBACK_HINT}）"


@pytest.fixture
def settings(mini_faq, make_settings):
    return make_settings(
        mini_faq,
        web_port=free_port(),
        web_listen="127.0.0.1",
        wechat_token=TEST_TOKEN,
        reload_interval=0,
        flood_messages=50,
    )


@pytest.fixture
def server(settings):
    with ServerThread(settings, secret=SECRET) as running:
        yield running


def channel_of(server: ServerThread) -> WechatChannel:
    return next(c for c in server.channels if isinstance(c, WechatChannel))


def endpoint(server: ServerThread) -> str:
    return server.base_url + "/wechat"


async def conversation(server: ServerThread, *steps, aes_key: str | None = None, **sim_options) -> list[SimReply]:
    """Send each step (a function sim → xml) in order, as WeChat would; the replies."""
    sim = WechatSim(endpoint(server), aes_key=aes_key, **sim_options)
    async with aiohttp.ClientSession() as session:
        return [await sim.post(session, step(sim)) for step in steps]


def say(text: str, openid: str = OPENID):
    return lambda sim: sim.text(openid, text)


def speak(recognition: str | None, openid: str = OPENID):
    """A voice message; `recognition` is what WeChat's speech recognition heard (None: it is off)."""
    return lambda sim: sim.voice(openid, recognition)


def event(name: str, key: str | None = None, openid: str = OPENID):
    return lambda sim: sim.event(openid, name, key)


def logged(settings) -> list[sqlite3.Row]:
    """Every interaction row, once the server has stopped (and the log has written them)."""
    with sqlite3.connect(settings.db_path) as db:
        db.row_factory = sqlite3.Row
        return db.execute("SELECT * FROM interactions ORDER BY id").fetchall()


def feedback_rows(settings) -> list[tuple]:
    with sqlite3.connect(settings.db_path) as db:
        return db.execute("SELECT ref, positive FROM feedback").fetchall()


def poll(condition, timeout: float = 10.0) -> None:
    """Wait for `condition()` to hold, failing after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.02)


# --- the URL check -------------------------------------------------------------------------


async def test_url_verification_echoes_echostr_only_when_signed(server):
    sim = WechatSim(endpoint(server))
    async with aiohttp.ClientSession() as session:
        assert await sim.verify_url(session, "5837397520832701") == (200, "5837397520832701")
        stamp = str(int(time.time()))
        forged = {"signature": sha1_signature("guessed", stamp, "1"), "timestamp": stamp, "nonce": "1"}
        assert (await sim.verify_url(session, query=forged | {"echostr": "x"}))[0] == 403
        assert (await sim.verify_url(session, query={"echostr": "x"}))[0] == 403
        stale = WechatSim(endpoint(server), clock=lambda: time.time() - 3600)
        assert (await stale.verify_url(session, "x"))[0] == 403


# --- questions -----------------------------------------------------------------------------


async def test_a_text_question_is_answered_with_the_right_entry_and_logged_with_the_openid_hashed(server, settings):
    (reply,) = await conversation(server, say("低保怎么申请"))
    assert (reply.status, reply.tries, reply.fields["ToUserName"], reply.fields["MsgType"]) == (200, 1, OPENID, "text")
    assert reply.content == (
        "【低保怎么申请？】\n\n低保申请请到户籍所在社区居委会咨询。\n办事处会按规定审核。\n\n"
        "资料来源：测试资料（2026-11-01 核对）\n\n"
        "[1] ❓ 为什么我家的低保被取消了？\n（回复数字选择；回复 + 或 - 评价这个回答）"
    )
    server.stop()
    (row,) = logged(settings)
    assert (row["channel"], row["chat_type"], row["status"], row["entry_id"]) == (
        "wechat",
        "private",
        Status.ANSWERED,
        "dibao-apply",
    )
    assert row["question"] == "低保怎么申请" and row["resident"] == pseudonym(SECRET, OPENID)
    for path in settings.data_dir.glob("interactions.sqlite3*"):
        assert OPENID.encode() not in path.read_bytes(), path.name


async def test_numbers_pick_the_choices_each_resident_last_saw_and_plus_rates_the_answer(server, settings):
    asked, other_one, out_of_range, picked, rated = await conversation(
        server, say("低保怎么申请"), say("1", OTHER), say("9"), say("1"), say("+")
    )
    assert asked.content.endswith(f"[1] ❓ 为什么我家的低保被取消了？\n{CHOICE_AND_FEEDBACK_HINT}")
    assert out_of_range.content == choice_hint(1)
    assert picked.content.startswith("【为什么我家的低保被取消了？】")
    assert rated.content == replies.FEEDBACK_THANKS["+"]
    # The other resident saw no choices: their "1" is not a pick.
    assert not other_one.content.startswith("【为什么我家的低保被取消了？】")
    server.stop()
    rows = logged(settings)
    tap = next(r for r in rows if r["status"] == Status.TAP)
    assert (tap["entry_id"], tap["via"], tap["resident"]) == ("dibao-removal", Via.RELATED, pseudonym(SECRET, OPENID))
    assert tap["origin_ref"] == rows[0]["ref"]
    assert feedback_rows(settings) == [(tap["ref"], 1)]  # "+" rates the answer last shown: the picked one


async def test_links_are_links_and_are_not_numbered(server):
    asked, one = await conversation(server, say("养老保险怎么交"), say("1"))
    assert '<a href="https://gjzwfw.www.gov.cn">🔗 国家政务服务平台</a>' in asked.content
    assert "[1]" not in asked.content
    assert not one.content.startswith("请在浏览器中打开")  # "1" picks nothing: no numbered link behind it


async def test_a_question_over_the_limit_is_read_in_part_and_the_reply_fits(server, settings):
    (reply,) = await conversation(server, say("低保怎么申请" + "啊" * 49_994))
    assert reply.status == 200 and reply.content.startswith(replies.TOO_LONG_TEXT)
    assert utf8_len(reply.content) <= MAX_TEXT_BYTES
    server.stop()
    (row,) = logged(settings)
    assert len(row["question"]) == MAX_INPUT_CHARS


# --- retries -----------------------------------------------------------------------------


class HeldChannel(WechatChannel):
    """The real channel, except that answering waits until `release` is set — on the first
    retry's arrival (`release_on_retry`), or by the test."""

    def __init__(self, core, *, release_on_retry: bool = False, **options):
        super().__init__(core, **options)
        self.release = asyncio.Event()
        self.release_on_retry = release_on_retry
        self.arrivals = 0

    async def receive(self, request):
        self.arrivals += 1
        if self.release_on_retry and self.arrivals > 1:
            self.release.set()
        return await super().receive(request)

    async def answer(self, message):
        await self.release.wait()
        return await super().answer(message)


def held(settings, **options) -> tuple[ServerThread, HeldChannel]:
    server = ServerThread(settings, secret=SECRET)
    channel = HeldChannel(server.core, **options)
    server.channels = [c for c in server.channels if c.name != Channel.WECHAT] + [channel]
    return server, channel


async def test_a_retried_message_is_answered_and_logged_once(settings):
    server, channel = held(settings, release_on_retry=True)
    with server:
        sim = WechatSim(endpoint(server), deadline=0.5)
        async with aiohttp.ClientSession() as session:
            xml = sim.text(OPENID, "低保怎么申请", msg_id="6054768590064713728")
            first = await sim.post(session, xml)  # WeChat gives up on the first try and retries
            again = await sim.post(session, xml)  # the same message once more, already answered
    assert first.tries >= 2 and channel.arrivals == first.tries + again.tries
    assert first.content.startswith("【低保怎么申请？】") and again.content == first.content
    assert [row["question"] for row in logged(settings)] == ["低保怎么申请"]


@pytest.mark.deadline(60)  # two runs of the server, 30 s each
async def test_a_message_retried_after_a_restart_is_answered_again_and_logged_once(settings):
    """WeChat retries a message it got no answer to; the bot restarted meanwhile, so it no longer
    holds the answer: it answers again, and the log, keyed by the message, keeps one row."""

    async def send(server: ServerThread) -> SimReply:
        sim = WechatSim(endpoint(server))
        async with aiohttp.ClientSession() as session:
            return await sim.post(session, sim.text(OPENID, "低保怎么申请", msg_id="6054768590064719999"))

    replies_ = []
    for _ in range(2):
        with ServerThread(settings, secret=SECRET) as server:
            replies_.append(await send(server))
    assert replies_[0].content == replies_[1].content and replies_[0].content.startswith("【低保怎么申请？】")
    assert [row["question"] for row in logged(settings)] == ["低保怎么申请"]


async def test_an_event_sent_twice_is_answered_and_logged_once(server, settings):
    created = int(time.time())

    sim = WechatSim(endpoint(server))
    async with aiohttp.ClientSession() as session:
        xml = sim.event(OPENID, "CLICK", "dibao-apply", create_time=created)
        first, second = [await sim.post(session, xml) for _ in range(2)]
    assert first.content == second.content and first.content.startswith("【低保怎么申请？】")
    server.stop()
    assert [(r["status"], r["entry_id"], r["via"]) for r in logged(settings)] == [
        (Status.TAP, "dibao-apply", Via.TOPIC)
    ]


@pytest.mark.deadline(60)
async def test_on_the_last_try_a_slow_answer_says_so_and_comes_with_the_next_message(settings):
    server, channel = held(settings, deadline=1.0)  # WeChat's 5 s, shortened; the simulator waits 1.5 s
    with server:
        (slow,) = await conversation(server, say("低保怎么申请"), deadline=1.5)
        assert (slow.status, slow.tries, slow.content) == (200, 3, replies.WECHAT_SLOW_TEXT)

        server.loop.call_soon_threadsafe(channel.release.set)
        key = channel.conversation.key(Resident(Channel.WECHAT, OPENID))
        poll(lambda: waiting(settings) == [key])  # in the outbox, on disk
        nxt, after = await conversation(server, say("为什么低保被取消"), say("养老保险怎么交"))
    assert nxt.content.startswith(replies.WECHAT_LATE_PREFIX + "\n\n【低保怎么申请？】")
    assert f"\n\n{replies.WECHAT_SEPARATOR}\n\n【为什么我家的低保被取消了？】" in nxt.content
    assert after.content.startswith("【城乡居民养老保险怎么参保？】")  # shown once only
    assert waiting(settings) == []
    assert [row["question"] for row in logged(settings)] == ["低保怎么申请", "为什么低保被取消", "养老保险怎么交"]


def waiting(settings) -> list[str]:
    """The hashed keys of the residents a message waits for in WeChat's outbox, one per message."""
    with sqlite3.connect(settings.db_path) as db:
        return [key for (key,) in db.execute("SELECT resident FROM outbox WHERE channel = 'wechat' ORDER BY id")]


# --- events and other messages ---------------------------------------------------------------


async def test_subscribe_welcomes_with_the_topic_list_and_a_number_opens_a_topic(server):
    welcome, picked, entry = await conversation(server, event("subscribe"), say("2"), say("1"))
    assert wording(replies.GREETING_TEXT, topics="共享书屋、民生保障").match(welcome.content)
    assert welcome.content.endswith(f"[1] 共享书屋\n[2] 民生保障\n（{replies.WECHAT_CHOICE_HINT}）")
    assert picked.content.startswith(replies.TOPIC_TEXT.format(name="民生保障") + "\n\n[1] 低保怎么申请？")
    assert entry.content.startswith("【低保怎么申请？】")


@pytest.mark.parametrize(
    "key, start",
    [
        ("topic:民生保障", replies.TOPIC_TEXT.format(name="民生保障")),
        ("共享书屋", replies.TOPIC_TEXT.format(name="共享书屋")),
        ("entry:pension-insurance", "【城乡居民养老保险怎么参保？】"),
        ("dibao-apply", "【低保怎么申请？】"),
        ("topics", replies.TOPICS_TEXT),
        ("help", replies.HELP_TEXT.splitlines()[0]),
    ],
)
async def test_menu_click_keys_name_a_topic_an_entry_or_a_command(server, key, start):
    (reply,) = await conversation(server, event("CLICK", key))
    assert reply.content.startswith(start)


async def test_an_unknown_menu_key_shows_the_topics_and_warns_the_operator(server, caplog):
    caplog.set_level(logging.WARNING, logger="servicebot")
    (reply,) = await conversation(server, event("CLICK", "topic:已删除的主题"))
    assert reply.content.startswith(replies.TOPICS_TEXT)
    assert "names no entry, topic or command" in caplog.text and "已删除的主题" in caplog.text


async def test_images_and_other_media_get_please_send_text(server):
    def media(kind: str, extra: str = ""):
        return lambda sim: sim.media(OPENID, kind, extra)

    answers = await conversation(
        server,
        lambda sim: sim.image(OPENID),
        media("voice", "<MediaId><![CDATA[m]]></MediaId><Format><![CDATA[amr]]></Format>"),
        media("video", "<MediaId><![CDATA[m]]></MediaId>"),
        media("location", "<Location_X>32.3</Location_X><Location_Y>118.3</Location_Y>"),
        media("link", "<Title><![CDATA[t]]></Title><Url><![CDATA[https://example.org]]></Url>"),
    )
    assert [a.content for a in answers] == [replies.NON_TEXT_TEXT] * 5


async def test_menu_links_location_reports_and_unsubscribe_get_nothing(server, settings):
    answers = await conversation(
        server,
        event("VIEW", "https://example.org/"),
        event("LOCATION"),
        event("SCAN", "1"),
        event("unsubscribe"),
    )
    assert all(a.silent and a.body == "success" for a in answers)
    server.stop()
    assert logged(settings) == []


# --- long replies --------------------------------------------------------------------------


LONG_ENTRY = """
  - id: long-notice
    question: 长篇办事须知是什么？
    alternates: [办事须知全文]
    answer: |
{lines}
    source: 测试资料
    reviewed: 2026-11-01
"""


async def test_a_long_answer_comes_in_pages_and_more_reads_on(mini_faq, make_settings):
    lines = "\n".join(
        f"      第{n}条：请携带身份证和户口本原件，到户籍所在社区居委会窗口咨询和办理相关手续。" for n in range(1, 61)
    )
    with (mini_faq / "welfare.yaml").open("a", encoding="utf-8") as fh:
        fh.write(LONG_ENTRY.format(lines=lines))
    settings = make_settings(
        mini_faq, web_port=free_port(), web_listen="127.0.0.1", wechat_token=TEST_TOKEN, reload_interval=0
    )
    with ServerThread(settings, secret=SECRET) as server:
        first, *more = await conversation(server, say("办事须知全文"), *[say("更多")] * 6)
    pages = [first, *more]
    assert all(utf8_len(p.content) <= MAX_TEXT_BYTES for p in pages)
    assert first.content.startswith("【长篇办事须知是什么？】") and first.content.endswith(MORE_HINT)
    shown = [p.content for p in pages if p.content != replies.WECHAT_NO_MORE_TEXT]
    assert 3 <= len(shown) < len(pages)  # the pages ran out before the "更多"s did
    assert all(p.endswith(MORE_HINT) for p in shown[:-1]) and not shown[-1].endswith(MORE_HINT)
    assert shown[-1].endswith(f"（{replies.WECHAT_FEEDBACK_HINT}）")
    text = "\n".join(p.removesuffix("\n" + MORE_HINT) for p in shown)
    assert [int(n) for n in re.findall(r"第(\d+)条", text)] == list(range(1, 61))  # every line, once, in order


# --- late messages (the hand-off's hook) -------------------------------------------------------


@pytest.mark.deadline(60)
async def test_a_message_delivered_later_is_shown_once_with_the_residents_next_message_also_after_a_restart(settings):
    staff = Said(Reply("工作人员回复：您的低保申请材料已收到。"))
    with ServerThread(settings, secret=SECRET) as server:
        assert server.call(server.core.delivery.deliver(Resident(Channel.WECHAT, OPENID), staff)) == Delivered.KEPT
        assert server.core.delivery.waits_for_resident(Channel.WECHAT)
    assert waiting(settings) == [pseudonym(SECRET, f"wechat:{OPENID}")]  # hashed: no OpenID on disk
    with ServerThread(settings, secret=SECRET) as server:
        (other,) = await conversation(server, say("低保怎么申请", OTHER))
        first, second = await conversation(server, say("低保怎么申请"), say("低保怎么申请"))
    assert "工作人员回复" not in other.content
    assert first.content.startswith(
        f"工作人员回复：您的低保申请材料已收到。\n\n{replies.WECHAT_SEPARATOR}\n\n【低保怎么申请？】"
    )
    assert second.content.startswith("【低保怎么申请？】")
    assert waiting(settings) == []


# --- refused requests ----------------------------------------------------------------------


async def test_forged_stale_malformed_hostile_and_oversized_posts_are_refused(server, settings, tmp_path: Path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-42")

    sim = WechatSim(endpoint(server))
    async with aiohttp.ClientSession() as session:
        xml = sim.text(OPENID, "低保怎么申请")
        _, signed = sim.sign(xml)
        forged = await sim.post(session, xml, query=signed | {"signature": "0" * 40})
        unsigned = await sim.post(session, xml, query={})
        stale_sim = WechatSim(endpoint(server), clock=lambda: time.time() - 3600)
        stale = await stale_sim.post(session, stale_sim.text(OPENID, "低保怎么申请"))
        broken = await sim.post(session, "<xml><oops>", body="<xml><oops>")
        not_wechat = await sim.post(session, "<xml><a>1</a></xml>", body="<xml><a>1</a></xml>")
        xxe = f'<!DOCTYPE xml [<!ENTITY x SYSTEM "{secret.as_uri()}">]>' + xml.replace("低保怎么申请", "&x;")
        hostile = await sim.post(session, xxe, body=xxe)
        huge = "<xml>" + "啊" * 100_000 + "</xml>"
        oversized = await sim.post(session, huge, body=huge)
    assert [r.status for r in (forged, unsigned, stale)] == [403] * 3
    assert [r.status for r in (broken, not_wechat, hostile)] == [400] * 3
    assert oversized.status == 413
    assert all("TOP-SECRET" not in r.body for r in (forged, unsigned, stale, broken, not_wechat, hostile))
    server.stop()
    assert logged(settings) == []


# --- safe mode -----------------------------------------------------------------------------


@pytest.fixture
def safe_settings(mini_faq, make_settings):
    return make_settings(
        mini_faq,
        web_port=free_port(),
        web_listen="127.0.0.1",
        wechat_token=TEST_TOKEN,
        wechat_app_id=TEST_APP_ID,
        wechat_aes_key=TEST_AES_KEY,
        reload_interval=0,
    )


@pytest.mark.deadline(60)
async def test_safe_mode_round_trip_with_a_known_key(safe_settings):
    with ServerThread(safe_settings, secret=SECRET) as server:
        asked, picked, welcome = await conversation(
            server, say("低保怎么申请"), say("1"), event("subscribe"), aes_key=TEST_AES_KEY
        )

        sim = WechatSim(endpoint(server), aes_key=TEST_AES_KEY)
        wrong_key = WechatSim(endpoint(server), aes_key="B" * 43)
        async with aiohttp.ClientSession() as session:
            xml = sim.text(OPENID, "低保怎么申请")
            body, query = sim.sign(xml)
            bad_msg_signature = await sim.post(session, xml, body=body, query=query | {"msg_signature": "0" * 40})
            other_body, other_query = wrong_key.sign(xml)
            undecryptable = await sim.post(session, xml, body=other_body, query=other_query)
    # The simulator decrypted each reply and checked its MsgSignature and AppID.
    assert asked.encrypted and picked.encrypted and welcome.encrypted
    assert asked.content.startswith("【低保怎么申请？】") and picked.content.startswith(
        "【为什么我家的低保被取消了？】"
    )
    assert welcome.content.startswith("您好！")
    assert (bad_msg_signature.status, undecryptable.status) == (403, 400)
    assert [row["status"] for row in logged(safe_settings)] == [Status.ANSWERED, Status.TAP]


# --- voice ---------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["plain", "safe"])
async def test_a_recognised_voice_message_is_answered_as_if_typed_and_logged_as_voice(mode, settings, safe_settings):
    settings = safe_settings if mode == "safe" else settings
    aes_key = TEST_AES_KEY if mode == "safe" else None
    with ServerThread(settings, secret=SECRET) as server:
        typed, spoken, picked, unheard = await conversation(
            server,
            say("低保怎么申请", OTHER),
            speak("低保怎么申请。"),
            speak("1。"),
            speak(None),
            aes_key=aes_key,
        )
    assert spoken.encrypted == (mode == "safe")
    assert spoken.content == typed.content  # the same answer as the typed question, choices and all
    assert picked.content.startswith("【为什么我家的低保被取消了？】")  # a spoken number picks a choice
    assert unheard.content == replies.NON_TEXT_TEXT  # recognition off: the hint, as before
    typed_row, spoken_row, tap_row = logged(settings)
    assert (typed_row["via"], typed_row["question"]) == (Via.QUESTION, "低保怎么申请")
    assert (spoken_row["via"], spoken_row["question"], spoken_row["status"], spoken_row["entry_id"]) == (
        Via.VOICE,
        "低保怎么申请",
        Status.ANSWERED,
        "dibao-apply",
    )
    assert spoken_row["resident"] == pseudonym(SECRET, OPENID)
    assert (tap_row["via"], tap_row["origin_ref"]) == (Via.RELATED, spoken_row["ref"])


async def test_a_spoken_phone_number_is_masked_in_the_log(server, settings):
    (reply,) = await conversation(server, speak("我的电话是13912345678，低保怎么申请？"))
    assert reply.content.startswith("【低保怎么申请？】")
    server.stop()
    (row,) = logged(settings)
    assert row["via"] == Via.VOICE and "13912345678" not in row["question"] and "[手机号]" in row["question"]


# --- review and stats --------------------------------------------------------------------------


async def test_wechat_questions_are_in_review_and_stats(server, settings, capsys):
    await conversation(
        server,
        say("今天天气怎么样"),
        say("低保怎么申请"),
        say("今天天气怎么样", OTHER),
        speak("明天会下雨吗。", OTHER),
    )
    server.stop()
    capsys.readouterr()
    assert run_review(settings, since="1d", fmt="json", suggest_yaml=False, output=None) == 0
    review = json.dumps(json.loads(capsys.readouterr().out), ensure_ascii=False)
    assert "今天天气怎么样" in review and "明天会下雨吗" in review  # a spoken miss is reviewed like a typed one
    assert run_stats(settings, since="1d", as_json=True) == 0
    stats = json.loads(capsys.readouterr().out)
    assert (stats["totals"]["questions"], stats["totals"]["unanswered"], stats["totals"]["residents"]) == (4, 3, 2)


# --- logs ----------------------------------------------------------------------------------


@pytest.fixture
def log_stream():
    """The entry point's logging, into a buffer, at DEBUG; restored afterwards."""
    root = logging.getLogger()
    saved = root.handlers[:], root.level, {n: logging.getLogger(n).level for n in logging.root.manager.loggerDict}
    stream = io.StringIO()
    yield stream
    root.handlers[:] = saved[0]
    root.setLevel(saved[1])
    for name, level in saved[2].items():
        logging.getLogger(name).setLevel(level)


@pytest.mark.deadline(60)
async def test_logs_at_debug_hold_no_openid_message_or_secret(safe_settings, log_stream):
    phone = "13912345678"
    setup_logging(
        "text",
        "DEBUG",
        stream=log_stream,
        secrets=(safe_settings.wechat_token, safe_settings.wechat_aes_key, SECRET),
    )
    with ServerThread(safe_settings, secret=SECRET) as server:
        await conversation(
            server,
            say(f"我的电话{phone}，小狗走丢了怎么办"),
            event("CLICK", "no-such-key"),
            aes_key=TEST_AES_KEY,
        )

        async def forged():
            sim = WechatSim(endpoint(server), aes_key=TEST_AES_KEY)
            async with aiohttp.ClientSession() as session:
                xml = sim.text(OPENID, "小狗走丢了")
                return await sim.post(session, xml, query=sim.sign(xml)[1] | {"signature": "1" * 40})

        assert (await forged()).status == 403
    output = log_stream.getvalue()
    assert "answering on: web, wechat" in output and "wechat: refused a request with 403" in output
    for value in (OPENID, phone, "小狗走丢", TEST_TOKEN, TEST_AES_KEY, SECRET):
        assert value not in output, value


# --- settings ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "env, message",
    [
        ({"SERVICEBOT_WECHAT_TOKEN": "has space"}, "invalid wechat_token: WeChat's Token is 3-32 letters or digits"),
        ({"SERVICEBOT_WECHAT_APP_ID": "wx123"}, "invalid wechat_app_id: 'wx123' is not an AppID"),
        ({"SERVICEBOT_WECHAT_APP_SECRET": "short-secret"}, "invalid wechat_app_secret"),
        ({"SERVICEBOT_WECHAT_AES_KEY": "tooShort0123"}, "invalid wechat_aes_key"),
        (
            {"SERVICEBOT_WECHAT_TOKEN": TEST_TOKEN, "SERVICEBOT_WECHAT_AES_KEY": TEST_AES_KEY},
            "safe mode (wechat_aes_key) needs wechat_app_id",
        ),
        ({"SERVICEBOT_WECHAT_AES_KEY": TEST_AES_KEY, "SERVICEBOT_WECHAT_APP_ID": TEST_APP_ID}, "needs wechat_token"),
        ({"SERVICEBOT_WECHAT_TOKEN": TEST_TOKEN, "SERVICEBOT_WEB_PORT": ""}, "set web_port"),
    ],
)
def test_bad_wechat_settings_stop_startup_with_one_line_and_no_secret(monkeypatch, capsys, mini_faq, env, message):
    monkeypatch.setenv("SERVICEBOT_FAQ_DIR", str(mini_faq))
    monkeypatch.setenv("SERVICEBOT_WEB_PORT", "8080")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert cli_main(["run"]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
    for name in ("SERVICEBOT_WECHAT_TOKEN", "SERVICEBOT_WECHAT_APP_SECRET", "SERVICEBOT_WECHAT_AES_KEY"):
        if name in env:
            assert env[name] not in err


def test_the_channel_runs_only_when_a_wechat_token_is_set(settings):
    from servicebot.answering.service import Service
    from servicebot.channels import Core
    from servicebot.channels.server import build_channels

    with_token = build_channels(Core(settings, Service.from_settings(settings)))
    without = dataclasses.replace(settings, wechat_token="")
    assert [c.name for c in with_token] == [Channel.WEB, Channel.WECHAT]
    assert [c.name for c in build_channels(Core(without, Service.from_settings(without)))] == [Channel.WEB]


async def test_servicebot_run_answers_wechat_in_a_real_process(tmp_path, mini_faq):
    """As operators start it: `servicebot run` with the WeChat settings in the environment."""
    port = free_port()
    env = process_env(
        tmp_path,
        mini_faq,
        SERVICEBOT_WEB_PORT=str(port),
        SERVICEBOT_WECHAT_TOKEN=TEST_TOKEN,
        SERVICEBOT_WECHAT_APP_ID=TEST_APP_ID,
        SERVICEBOT_WECHAT_AES_KEY=TEST_AES_KEY,
    )
    with servicebot_process(env, "run") as process:
        sim = WechatSim(f"http://127.0.0.1:{port}/wechat", aes_key=TEST_AES_KEY)
        async with aiohttp.ClientSession() as session:
            deadline = time.monotonic() + 20
            while True:
                assert process.poll() is None
                try:
                    check = await sim.verify_url(session, "hello-42")
                    break
                except aiohttp.ClientConnectionError:
                    assert time.monotonic() < deadline, "the server did not start"
                    await asyncio.sleep(0.05)
            check, answer = check, await sim.post(session, sim.text(OPENID, "低保怎么申请"))
        assert check == (200, "hello-42")
        assert answer.encrypted and answer.content.startswith("【低保怎么申请？】")
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0
    assert process.stderr is not None
    log = process.stderr.read()
    assert "answering on: web, wechat" in log and "(safe mode)" in log and "Traceback" not in log
    assert TEST_TOKEN not in log and TEST_AES_KEY not in log and OPENID not in log
