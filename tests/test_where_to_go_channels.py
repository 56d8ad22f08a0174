"""The referral and item replies as each channel renders them: the terminal, Telegram, the web
page and WeChat, with the 转人工 offer a staff desk adds and the official link buttons."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from servicebot.answering import replies
from servicebot.answering.service import Service
from servicebot.channels import terminal, tg_render, wechat_text
from servicebot.channels.web import message_json
from servicebot.conversation.chat import Conversation
from servicebot.conversation.events import Resident, Said, Text
from servicebot.records import ButtonKind, Channel, Status

from conftest import FIXTURES, PINNED_FAQ
from support.fakes import converse


@pytest.fixture(scope="module")
def service(tmp_path_factory) -> Service:
    from servicebot.config import load_settings

    root = tmp_path_factory.mktemp("channels")
    shutil.copytree(PINNED_FAQ, root / "faq")
    shutil.copy(FIXTURES / "garbage-items.yaml", root / "faq" / "garbage-items.yaml")
    return Service.from_settings(load_settings(env={}, overrides={"faq_dir": root / "faq", "data_dir": root / "d"}))


def vote_tag(ref: str) -> str:
    """Stands in for the web session's tag that binds a 👍/👎 to the session it is shown to."""
    return "session-tag"


def referral(service: Service) -> Said:
    """What a resident reads for 路灯 where a desk runs: the reply with 转人工 added."""
    outcome = service.answer("路灯不亮找谁", channel=Channel.WEB)
    assert outcome.status == Status.REFERRAL
    return Said(replies.with_handoff(outcome.reply), ref=outcome.ref, status=Status.REFERRAL)


def test_the_conversation_passes_a_referral_through_with_its_status(service):
    said = converse(Conversation(service), Resident(Channel.TERMINAL, "1"), Text("停水了找谁"))
    assert said.status == Status.REFERRAL and said.reply is not None
    assert "供水公司" in said.reply.body and said.ref


def test_terminal_shows_where_to_go_the_handoff_and_the_official_link(service):
    said = referral(service)
    assert said.reply is not None
    text = terminal.render(said.reply)
    assert "城市管理和市政部门" in text and "12345" in text
    assert f"[1] {replies.HANDOFF_LABEL}" in text
    assert "https://" in text or "http://" in text
    assert replies.TERMINAL_FEEDBACK_HINT in text


def test_telegram_renders_the_referral_as_html_with_its_keyboard(service):
    said = referral(service)
    assert said.reply is not None
    [html] = tg_render.render_html(said.reply)
    assert "城市管理和市政部门" in html and "来源：" in html
    keyboard = tg_render.keyboard(said)
    assert keyboard is not None
    buttons = [b for row in keyboard.inline_keyboard for b in row]
    assert any(b.url and ".gov.cn/" in b.url for b in buttons)
    assert buttons[0].text == replies.HANDOFF_LABEL and buttons[0].callback_data


def test_the_web_page_gets_the_referral_with_its_status_links_and_choices(service):
    doc = message_json(referral(service), vote_tag)
    assert doc is not None and doc["status"] == "referral"
    assert "城市管理和市政部门" in doc["body"] and doc["footer"].startswith("来源：")
    assert [c["label"] for c in doc["choices"]] == [replies.HANDOFF_LABEL]
    assert doc["links"] and doc["feedback"]
    assert all(f["data"].endswith(":session-tag") for f in doc["feedback"])


def test_wechat_renders_the_referral_as_numbered_plain_text(service):
    said = referral(service)
    assert said.reply is not None
    rendered = wechat_text.render(said.reply)
    assert "城市管理和市政部门" in rendered.text and "<a href=" in rendered.text
    assert f"[1] {replies.HANDOFF_LABEL}" in rendered.text
    assert [b.kind for b in rendered.choices] == [ButtonKind.HANDOFF]


@pytest.mark.parametrize("question", ["塑料瓶是什么垃圾", "电池扔哪个桶", "榴莲壳是什么垃圾"])
def test_every_channel_renders_item_answers(service, question):
    outcome = service.answer(question, channel=Channel.TERMINAL)
    reply = outcome.reply
    said = Said(reply, ref=outcome.ref, status=Status(outcome.status))
    first_line = reply.title or reply.body.splitlines()[0]
    assert first_line in terminal.render(reply)
    assert all(len(part) <= tg_render.MAX_MESSAGE for part in tg_render.render_html(reply))
    doc = message_json(said, vote_tag)
    assert doc is not None and doc["status"] == outcome.status
    assert first_line in wechat_text.render(reply).text
    assert Path(FIXTURES / "garbage-items.yaml").exists()
