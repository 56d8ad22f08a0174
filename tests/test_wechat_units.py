"""The WeChat channel's small pieces alone: what menu keys mean (and docs/wechat.md's example menu
against the shipped FAQ), the per-resident shelves, the numbered choices WeChat keeps, and
the settings."""

from __future__ import annotations

import json
import re

import pytest

from servicebot.answering import replies
from servicebot.answering.replies import Reply
from servicebot.answering.service import Service
from servicebot.channels.wechat import (
    More,
    Shelf,
    WechatChoices,
    asks_for_more,
    menu_event,
    said_text,
    spoken_event,
)
from servicebot.channels.wechat_text import render
from servicebot.config import load_settings
from servicebot.conversation.events import Ask, Command, NonText, Pick, Said, Text
from servicebot.errors import ConfigError
from servicebot.faq import load_faq
from servicebot.records import ButtonKind, Via

from conftest import PINNED_FAQ, REPO
from support.fakes import Clock
from support.wechat_sim import TEST_AES_KEY, TEST_APP_ID, TEST_TOKEN


@pytest.fixture
def service(mini_faq, make_settings):
    return Service.from_settings(make_settings(mini_faq, reload_interval=0))


# --- menu keys -----------------------------------------------------------------------------


def tapped(event):
    assert isinstance(event, Pick), event
    return event.tap


@pytest.mark.parametrize("key", ["dibao-apply", "entry:dibao-apply", " entry:dibao-apply "])
def test_a_key_naming_an_entry_answers_it_as_a_topic_menu_tap(service, key):
    tap = tapped(menu_event(key, service.snapshot.faq))
    assert (tap.kind, tap.value, tap.via, tap.ref) == (ButtonKind.ENTRY, "dibao-apply", Via.TOPIC, None)


@pytest.mark.parametrize("key", ["民生保障", "topic:民生保障"])
def test_a_key_naming_a_topic_lists_its_questions(service, key):
    tap = tapped(menu_event(key, service.snapshot.faq))
    assert (tap.kind, tap.value) == (ButtonKind.TOPIC, "民生保障")


@pytest.mark.parametrize(
    "key, command", [("topics", Command.TOPICS), ("HELP", Command.HELP), ("privacy", Command.PRIVACY)]
)
def test_a_key_naming_a_command_runs_it(service, key, command):
    assert menu_event(key, service.snapshot.faq) == Ask(command)


@pytest.mark.parametrize("key", ["", "entry:民生保障", "topic:dibao-apply", "entry:gone", "topic:", "menu"])
def test_a_key_naming_nothing_or_the_wrong_kind_is_none(service, key):
    assert menu_event(key, service.snapshot.faq) is None


def readme_menu() -> dict:
    text = (REPO / "docs" / "wechat.md").read_text(encoding="utf-8")
    section = text[text.index("## Custom menu") :]
    block = re.search(r"```json\n(.*?)```", section, re.DOTALL)
    assert block is not None
    return json.loads(block.group(1))


def test_the_readme_menu_fits_wechats_limits_and_every_key_names_something_in_the_shipped_faq():
    faq = load_faq(PINNED_FAQ)
    menu = readme_menu()
    assert 1 <= len(menu["button"]) <= 3
    for top in menu["button"]:
        assert len(top["name"].encode()) <= 16 and 1 <= len(top["sub_button"]) <= 5
        for button in top["sub_button"]:
            assert len(button["name"].encode()) <= 60
            if button["type"] == "click":
                assert len(button["key"].encode()) <= 128
                assert menu_event(button["key"], faq) is not None, button["key"]
            else:
                assert button["type"] == "view" and button["url"].startswith("https://")
    topics = {b["key"].removeprefix("topic:") for top in menu["button"] for b in top["sub_button"] if "key" in b}
    assert {t.name for t in faq.topics} <= topics  # every topic of the shipped FAQ is in the menu


# --- per-resident shelves ----------------------------------------------------------------------


def test_a_shelf_keeps_texts_per_resident_in_order_and_take_empties_it():
    shelf = Shelf(60)
    shelf.put("a", ["1", "2"])
    shelf.put("a", ["3"])
    shelf.put("b", ["x"])
    assert shelf.pop("a") == "1"
    shelf.put("a", ["0"], first=True)
    assert shelf.peek("a") == ["0", "2", "3"]
    assert shelf.take("a") == ["0", "2", "3"] and shelf.take("a") == [] and shelf.pop("a") is None
    shelf.set("b", ["y"])
    assert shelf.peek("b") == ["y"]
    shelf.set("b", [])
    assert shelf.peek("b") == [] and len(shelf) == 0


def test_a_shelf_forgets_after_its_ttl_and_stays_bounded():
    clock = Clock(0.0)
    shelf = Shelf(60, residents=3, per_resident=2, clock=clock)
    shelf.put("a", ["1", "2", "3"])
    assert shelf.peek("a") == ["2", "3"]  # the oldest dropped
    for key in "bcd":
        shelf.put(key, [key])
    assert len(shelf) == 3 and shelf.peek("a") == []  # the least recently used resident forgotten
    clock.now = 60.5
    assert shelf.peek("b") == [] and shelf.take("c") == []


# --- the choices WeChat numbers ------------------------------------------------------------------


def test_the_numbers_remembered_are_the_numbers_shown(service):
    faq = service.snapshot.faq
    memory = WechatChoices()
    for reply in (
        replies.answer_reply(faq.by_id["pension-insurance"], faq),  # a link, no related question
        replies.answer_reply(faq.by_id["dibao-apply"], faq),
        replies.topics_reply(faq),
        replies.suggest_reply((), faq),
    ):
        memory.remember("k", Said(reply, ref="abc"))
        shown = memory.get("k")
        assert shown is not None
        assert shown.choices == render(reply).choices
        assert all(b.kind != ButtonKind.URL for b in shown.choices)
        assert shown.rated_ref == ("abc" if any(b.kind == ButtonKind.FEEDBACK for b in reply.buttons) else "")


def test_what_wechat_shows_for_a_said():
    assert said_text(Said(Reply("正文", title="标题"), notice="提示")) == "提示\n\n【标题】\n\n正文"
    assert said_text(Said(ack="谢谢您的评价！")) == "谢谢您的评价！"
    assert said_text(Said()) is None  # a quiet refusal: answer "success"


@pytest.mark.parametrize(
    "text, more", [("更多", True), (" 更多。", True), ("更多！", True), ("更多内容", False), ("多", False)]
)
def test_more_is_recognised_with_trailing_punctuation(text, more):
    assert asks_for_more(text) is more


@pytest.mark.parametrize(
    "heard, event",
    [
        ("低保怎么申请。", Text("低保怎么申请", via=Via.VOICE)),
        (" 2。", Text("2", via=Via.VOICE)),  # picks numbered choice 2, as typed
        ("我想问低保。电池是什么垃圾？", Text("我想问低保。电池是什么垃圾？", via=Via.VOICE)),
        ("更多。", More),
        ("", NonText()),
        (" 。", NonText()),
    ],
)
def test_a_voice_message_is_what_was_heard_or_the_hint_to_type(heard, event):
    got = spoken_event(heard)
    assert isinstance(got, More) if event is More else got == event


# --- settings ----------------------------------------------------------------------------------


def test_good_wechat_settings_load_and_secrets_stay_out_of_repr():
    settings = load_settings(
        env={
            "SERVICEBOT_WEB_PORT": "8080",
            "SERVICEBOT_WECHAT_TOKEN": TEST_TOKEN,
            "SERVICEBOT_WECHAT_APP_ID": TEST_APP_ID,
            "SERVICEBOT_WECHAT_APP_SECRET": "0123456789abcdef0123456789ABCDEF",
            "SERVICEBOT_WECHAT_AES_KEY": TEST_AES_KEY,
        }
    )
    assert (settings.wechat_token, settings.wechat_app_id, settings.wechat_aes_key) == (
        TEST_TOKEN,
        TEST_APP_ID,
        TEST_AES_KEY,
    )
    for secret in (TEST_TOKEN, TEST_AES_KEY, "0123456789abcdef0123456789ABCDEF"):
        assert secret not in repr(settings)
    assert TEST_APP_ID in repr(settings)


def test_a_bad_aes_key_from_the_config_file_is_refused_with_its_value_hidden(tmp_path):
    config = tmp_path / "servicebot.toml"
    config.write_text(f'web_port = 8080\nwechat_token = "{TEST_TOKEN}"\nwechat_aes_key = "secret=key"\n')
    with pytest.raises(ConfigError, match="invalid wechat_aes_key") as caught:
        load_settings(env={}, config_file=config)
    assert "secret=key" not in str(caught.value)
