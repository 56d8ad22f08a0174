"""The tests' own fakes and helpers, imported as `from support.botapi import FakeBotApi` (pytest puts
tests/ on sys.path, beside conftest.py) and, by the benchmarks, as `tests.support.…`: modules here
import each other relatively, so both work.

- `botapi`: a fake Telegram Bot API server on 127.0.0.1, for the real python-telegram-bot client;
  `tg_chats` holds its chats and messages and makes residents' updates, `tg_entities` applies
  Telegram's text rules (HTML parse_mode, entities, UTF-16 lengths);
- `wechat_sim`: a simulated WeChat server, written from WeChat's documentation;
- `webserver`: the bot's real web server on a thread of its own, free ports, web chat sessions;
- `deskclient`: a staff member's browser at the staff desk over HTTP, and a fake 企业微信 robot;
- `browser`: a headless Chromium driven by selenium, for the page tests;
- `personal`: residents' personal numbers written every way, as hypothesis strategies;
- `review_traffic`: a fortnight of residents' questions for the review tests;
- `wording`: a message's pattern from the constant that owns its wording;
- `fakes`: a clock a test moves, a recording interaction sink, a recording reload callback;
- `waiting`: `until`, a bounded poll on the running event loop;
- `tgbot`: the bot's Telegram channel polling a `FakeBotApi` in the test's event loop;
- `processes`: `servicebot` in a process of its own, as operators start it;
- `operations`: docs/operations.md's backup and restore commands, run as written;
- `disk`: filling the small disk of conftest's `small_disk` to the last byte.
"""
