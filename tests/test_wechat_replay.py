"""Replayed and downgraded WeChat requests (issue 22, items 10 and 11): the simulated WeChat
server (tests/support/wechat_sim.py) and a forger holding one captured signed request, against the
bot's real web server on 127.0.0.1 with a real SQLite log under tmp_path. `NonceMemory` is
also checked alone, with a fake clock."""

from __future__ import annotations

import dataclasses
import sqlite3

import aiohttp
import pytest

from servicebot.answering.replies import Reply
from servicebot.channels.wechat_replay import NonceMemory
from servicebot.conversation.delivery import Delivered
from servicebot.conversation.events import Resident, Said
from servicebot.errors import ReplayError
from servicebot.records import Channel

from support.fakes import Clock
from support.webserver import ServerThread, free_port
from support.wechat_sim import TEST_AES_KEY, TEST_APP_ID, TEST_TOKEN, WechatSim

pytestmark = pytest.mark.anyio

VICTIM = "oWx3Q5resident0000000000001"
FORGER = "oWx3Q5resident0000000000666"
STAFF_REPLY = "工作人员回复：您的低保申请材料已收到。"


def logged_questions(settings) -> list[str]:
    with sqlite3.connect(settings.db_path) as db:
        return [q for (q,) in db.execute("SELECT question FROM interactions ORDER BY id")]


def waiting(settings) -> int:
    with sqlite3.connect(settings.db_path) as db:
        return db.execute("SELECT count(*) FROM outbox WHERE channel = 'wechat'").fetchone()[0]


@pytest.fixture
def plain_settings(mini_faq, make_settings):
    return make_settings(
        mini_faq, web_port=free_port(), web_listen="127.0.0.1", wechat_token=TEST_TOKEN, reload_interval=0
    )


@pytest.fixture
def safe_settings(plain_settings):
    return dataclasses.replace(plain_settings, wechat_app_id=TEST_APP_ID, wechat_aes_key=TEST_AES_KEY)


async def post_raw(session: aiohttp.ClientSession, url: str, body: str, query: dict[str, str]) -> tuple[int, str]:
    async with session.post(url, params=query, data=body.encode("utf-8"), headers={"Content-Type": "text/xml"}) as r:
        return r.status, await r.text()


# --- item 10: a captured signed URL cannot carry another body ------------------------------------


@pytest.mark.slow
async def test_a_captured_signed_url_cannot_fetch_another_residents_staff_reply(plain_settings):
    """The probe's case: a staff reply waits for the victim; the forger posts a message in the
    victim's name under a signed URL captured from an earlier request of the forger's own."""
    with ServerThread(plain_settings) as server:
        url = server.base_url + "/wechat"
        staff = Said(Reply(STAFF_REPLY))
        assert server.call(server.core.delivery.deliver(Resident(Channel.WECHAT, VICTIM), staff)) == Delivered.KEPT

        sim = WechatSim(url)
        async with aiohttp.ClientSession() as session:
            body, query = sim.sign(sim.text(FORGER, "低保怎么申请"))
            own = sim.read_reply(*await post_raw(session, url, body, query))  # as WeChat sent it
            forged = sim.text(VICTIM, "你好")  # the captured URL, another body
            status, text = await post_raw(session, url, forged, query)
    assert own.status == 200 and own.content.startswith("【低保怎么申请？】")
    assert (status, text) == (403, "")
    assert STAFF_REPLY not in text
    assert waiting(plain_settings) == 1  # still there for the victim
    assert logged_questions(plain_settings) == ["低保怎么申请"]


@pytest.mark.slow
async def test_wechats_own_retries_pass_and_a_fourth_identical_request_is_refused(plain_settings):
    with ServerThread(plain_settings) as server:
        url = server.base_url + "/wechat"

        sim = WechatSim(url)
        async with aiohttp.ClientSession() as session:
            body, query = sim.sign(sim.text(VICTIM, "低保怎么申请"))
            answers = [await post_raw(session, url, body, query) for _ in range(4)]
    assert [status for status, _ in answers] == [200, 200, 200, 403]
    assert answers[0][1] == answers[1][1] == answers[2][1]  # one answer, given to each try
    assert logged_questions(plain_settings) == ["低保怎么申请"]


@pytest.mark.slow
async def test_safe_mode_refuses_an_unencrypted_request_and_answers_an_encrypted_one(safe_settings):
    with ServerThread(safe_settings) as server:
        url = server.base_url + "/wechat"

        async with aiohttp.ClientSession() as session:
            plain = WechatSim(url)  # signed with the right token, but in plain-text mode
            downgraded = await plain.post(session, plain.text(VICTIM, "低保怎么申请"))
            safe = WechatSim(url, aes_key=TEST_AES_KEY)
            encrypted = await safe.post(session, safe.text(VICTIM, "养老保险怎么交"))
    assert (downgraded.status, downgraded.body) == (403, "")
    assert encrypted.status == 200 and encrypted.encrypted and encrypted.content.startswith("【城乡居民养老保险")
    assert logged_questions(safe_settings) == ["养老保险怎么交"]


# --- item 11: the reply cache is per sender --------------------------------------------------------


@pytest.mark.slow
async def test_a_second_sender_reusing_a_msgid_gets_its_own_answer(plain_settings):
    with ServerThread(plain_settings) as server:
        sim = WechatSim(server.base_url + "/wechat")
        async with aiohttp.ClientSession() as session:
            first = await sim.post(session, sim.text(VICTIM, "低保怎么申请", msg_id="6054768590064700001"))
            second = await sim.post(session, sim.text(FORGER, "养老保险怎么交", msg_id="6054768590064700001"))
    assert first.content.startswith("【低保怎么申请？】")
    assert second.content.startswith("【城乡居民养老保险") and second.fields["ToUserName"] == FORGER
    assert logged_questions(plain_settings) == ["低保怎么申请", "养老保险怎么交"]


# --- NonceMemory alone ---------------------------------------------------------------------------


def signed(nonce: str, stamp: str = "1700000000") -> dict[str, str]:
    return {"signature": "ab" * 20, "timestamp": stamp, "nonce": nonce}


def test_a_nonce_is_remembered_for_twice_the_window_then_forgotten():
    clock = Clock(0.0)
    memory = NonceMemory(keep=600, clock=clock)
    memory.admit(signed("1"), b"<xml>a</xml>")
    clock.advance(599)
    with pytest.raises(ReplayError):
        memory.admit(signed("1"), b"<xml>b</xml>")
    clock.advance(2)
    memory.admit(signed("1"), b"<xml>b</xml>")  # its timestamp no longer verifies by now anyway
    assert len(memory) == 1


def test_the_same_nonce_with_another_timestamp_or_signature_is_another_request_or_a_replay():
    memory = NonceMemory(clock=Clock(0.0))
    memory.admit(signed("7", stamp="1700000000"), b"x")
    memory.admit(signed("7", stamp="1700000001"), b"x")  # another timestamp: another request
    with pytest.raises(ReplayError):
        memory.admit(signed("7", stamp="1700000000") | {"signature": "cd" * 20}, b"x")


def test_memory_stays_bounded_dropping_the_oldest():
    memory = NonceMemory(max_entries=100, clock=Clock(0.0))
    for n in range(1000):
        memory.admit(signed(str(n)), b"x")
    assert len(memory) == 100
    memory.admit(signed("0"), b"y")  # long dropped: accepted as new
    with pytest.raises(ReplayError):
        memory.admit(signed("999"), b"y")
