"""Notices without Telegram: "新的人工咨询 #N" to a 企业微信 group robot, tested against a local
fake of its webhook on 127.0.0.1 (tests/support/deskclient.py's FakeRobot), never the real one."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging

import pytest

from servicebot.config import load_settings
from servicebot.errors import ConfigError
from servicebot.records import Channel, TicketStatus
from servicebot.staffdesk.notify import NEW_TICKET, NoticeError, WecomRobot, post_json
from servicebot.storage.tickets import BotSaid, TicketRow

from support.deskclient import UNANSWERABLE, FakeRobot, open_ticket
from support.waiting import until
from support.webserver import ServerThread, free_port

pytestmark = pytest.mark.anyio


def ticket(number: int, channel: Channel = Channel.WEB) -> TicketRow:
    now = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    return TicketRow(
        number, "K7QX2M", now, channel, "key", "session", None, UNANSWERABLE, BotSaid(), TicketStatus.OPEN,
        now, False, None, None, False, None, None, None, None,
    )  # fmt: skip


async def test_a_new_ticket_is_announced_with_its_number_and_channel_only():
    with FakeRobot() as robot:
        notices = WecomRobot(robot.url, min_interval=0, retries=(0.01,))
        await notices.start()
        notices.ticket_opened(ticket(7))
        notices.ticket_opened(ticket(8, Channel.WECHAT))
        await notices.stop()
    assert robot.posts == [
        {"msgtype": "text", "text": {"content": NEW_TICKET.format(number=7, channel="网页聊天")}},
        {"msgtype": "text", "text": {"content": NEW_TICKET.format(number=8, channel="微信公众号")}},
    ]
    assert robot.paths[0] == "/cgi-bin/webhook/send?key=test-robot-key-0123456789"
    assert all("狗" not in str(p) and "1391234" not in str(p) for p in robot.posts)
    assert notices.sent == 2 and notices.failed == 0


async def test_a_refused_notice_is_tried_again_then_given_up_with_a_warning(caplog):
    caplog.set_level(logging.WARNING, logger="servicebot")
    with FakeRobot() as robot:
        robot.failures = [500, 0]  # an HTTP error, then WeCom's "too many messages" (errcode 45009)

        async def scenario(count: int):
            notices = WecomRobot(robot.url, min_interval=0, retries=(0.01, 0.01))
            await notices.start()
            notices.ticket_opened(ticket(count))
            await until(lambda: notices.sent + notices.failed == 1, "the notice settled")
            await notices.stop()
            return notices

        assert (await scenario(1)).sent == 1  # third time lucky
        assert len(robot.posts) == 1
        robot.failures = [500, 500, 500]
        assert (await scenario(2)).failed == 1
    text = caplog.text
    assert "HTTP 500" in text and "errcode 45009" in text and "gave up announcing ticket #2" in text
    assert "test-robot-key" not in text and "key=" not in text


def test_an_unreachable_robot_is_named_without_its_url():
    port = free_port()
    with pytest.raises(NoticeError) as failure:
        post_json(f"http://127.0.0.1:{port}/cgi-bin/webhook/send?key=secret-robot-key", {"msgtype": "text"})
    assert "secret-robot-key" not in str(failure.value) and str(port) not in str(failure.value)


def test_the_running_bot_announces_a_web_chat_ticket(desk_settings):
    import httpx

    with FakeRobot() as robot:
        settings = dataclasses.replace(desk_settings, wecom_webhook_url=robot.url)
        with ServerThread(settings) as server, httpx.Client(base_url=server.base_url, timeout=30) as resident:
            number = open_ticket(resident)
            (post,) = robot.wait_for(1)
    assert post["text"]["content"] == NEW_TICKET.format(number=number, channel="网页聊天")


def test_the_webhook_setting_is_checked_and_kept_secret(mini_faq):
    def load(**overrides):
        return load_settings(env={}, overrides={"faq_dir": mini_faq, **overrides})

    url = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa"
    settings = load(wecom_webhook_url=url, desk_port=8090)
    assert settings.wecom_webhook_key == "693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa"
    assert url not in repr(settings)
    for bad in ("http://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=abc", "qyapi.weixin.qq.com/send?key=abc"):
        with pytest.raises(ConfigError, match="wecom_webhook_url") as error:
            load(wecom_webhook_url=bad, desk_port=8090)
        assert "abc" not in str(error.value)
    with pytest.raises(ConfigError, match="desk_port"):
        load(wecom_webhook_url=url)  # no desk to announce tickets for
    assert load(wecom_webhook_url="http://127.0.0.1:9/send?key=k", desk_port=8090).wecom_webhook_url
