"""Setting the bot up for the office: `/id` gives the ids the settings need (a staff
member's user id for SERVICEBOT_ADMIN_IDS, a group's id for SERVICEBOT_STAFF_CHAT_ID and
SERVICEBOT_ADMIN_CHAT_ID), from the bot itself, so it works in webhook mode too (where
Telegram's getUpdates recipe cannot be used). The real bot against the fake Bot API."""

from __future__ import annotations

import logging

import pytest

from servicebot.channels.tg_render import ID_GROUP_TEXT, ID_PRIVATE_TEXT

from support.botapi import DEFAULT_GROUP_ID, DEFAULT_USER_ID, TOKEN, FakeBotApi
from support.tgbot import telegram_bot

pytestmark = [pytest.mark.slow, pytest.mark.anyio]


async def test_id_tells_a_person_their_user_id_and_a_group_its_id(mini_faq, make_settings, caplog):
    settings = make_settings(mini_faq, token=TOKEN, reload_interval=0)

    with caplog.at_level(logging.DEBUG):
        async with FakeBotApi() as api, telegram_bot(settings, api):
            api.command("id")
            private = (await api.wait_for_reply(DEFAULT_USER_ID)).text
            api.command("id", at_bot=True, chat_id=DEFAULT_GROUP_ID, chat_type="supergroup")
            group = (await api.wait_for_reply(DEFAULT_GROUP_ID)).text
    assert private == ID_PRIVATE_TEXT.format(id=DEFAULT_USER_ID)
    assert group == ID_GROUP_TEXT.format(id=DEFAULT_GROUP_ID)
    ours = [r.getMessage() for r in caplog.records if r.name.startswith("servicebot")]
    assert ours and not [m for m in ours if str(DEFAULT_USER_ID) in m]  # told to the person, never logged
