"""The web chat page in a real headless Chromium (Debian's `chromium` + `chromium-driver`,
driven by selenium; nothing is downloaded), against the real server on 127.0.0.1 with the
shipped FAQ.

A resident's visit: the welcome, a question typed and answered, a related question tapped,
👍, an off-topic question and the honest fallback, a reload that keeps the history. Along
the way: labels, the live region, focus after a tap, links opening in a new tab, a phone's
360 px width without sideways scrolling, 200% zoom. And a hand-off: 转人工 pressed in the
page, a staff member's reply (through the fake Bot API's staff group) appearing in it.
Screenshots for people to look at are written to tests/artifacts/ (git-ignored):
web-360.png, web-360-full.png, web-1280.png, web-1280-zoom200.png, web-handoff.png.

Without chromium and chromedriver the test is skipped, saying so — except under CI
(CI=true), where that is a failure: .ci/run installs them.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from servicebot import replies

from conftest import ARTIFACTS, wording
from webserver import ServerThread

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
WAIT = 15.0  # seconds any one thing on the page may take


@pytest.fixture
def server(make_settings):
    settings = make_settings(REPO / "faq", reload_interval=0)
    with ServerThread(settings) as running:
        yield running


def until(check: Callable[[], Any], what: str, timeout: float = WAIT) -> Any:
    """Poll the page for a condition with a bounded deadline."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = check()
        except Exception:  # the element is being redrawn
            value = None
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(0.05)


def bot_messages(driver) -> list:
    return driver.find_elements("css selector", "#log .msg.bot")


def entries(driver) -> list:
    return driver.find_elements("css selector", "#log .msg")


def type_question(driver, text: str) -> None:
    from selenium.webdriver.common.keys import Keys

    box = driver.find_element("id", "q")
    box.send_keys(text)
    box.send_keys(Keys.ENTER)


def wait_for_new_bot_message(driver, before: int, what: str):
    return until(lambda: len(bot_messages(driver)) > before and bot_messages(driver)[before], what)


def button(message, label_part: str):
    return next(b for b in message.find_elements("css selector", "button") if label_part in b.text)


def press(driver, element) -> None:
    """Scroll an element to the middle of the screen, as a resident would, and tap it."""
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", element)
    element.click()


def screenshot(driver, name: str, full_page: bool = False) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    if full_page:
        shot = driver.execute_cdp_cmd("Page.captureScreenshot", {"captureBeyondViewport": True, "format": "png"})
        path.write_bytes(base64.b64decode(shot["data"]))
    else:
        driver.save_screenshot(str(path))
    print(f"screenshot: {path}")
    return path


def viewport(driver, width: int, height: int, scale: float, mobile: bool) -> None:
    """Emulate a screen: CSS pixels wide and high, at a pixel density (2 = a phone, or 200% zoom)."""
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": scale, "mobile": mobile},
    )
    until(lambda: driver.execute_script("return window.innerWidth") == width, f"a {width} px wide viewport")


def no_sideways_scroll(driver) -> bool:
    return driver.execute_script("return document.documentElement.scrollWidth <= window.innerWidth")


def test_a_resident_asks_taps_rates_and_finds_the_history_after_a_reload(browser, server):
    driver = browser
    faq = server.core.service.snapshot.faq
    driver.get(server.base_url + "/")
    viewport(driver, 360, 780, 2, mobile=True)  # a small Android phone

    # The welcome, with the topic menu.
    welcome = until(lambda: bot_messages(driver), "the welcome")[0]
    assert "凤凰办事处" in welcome.text
    assert [b.text for b in welcome.find_elements("css selector", "button.choice")] == [t.name for t in faq.topics]
    assert driver.find_element("css selector", "label[for=q]").get_attribute("textContent") == "您的问题"
    log = driver.find_element("id", "log")
    assert (log.get_attribute("role"), log.get_attribute("aria-live")) == ("log", "polite")

    # A typed question and its answer, with its source line and a related question.
    entry = faq.by_id[server.core.service.answer("垃圾分类体验馆在哪里", channel="check").entry_id]
    type_question(driver, "垃圾分类体验馆在哪里")
    answer = wait_for_new_bot_message(driver, 1, "the answer")
    assert answer.find_element("css selector", ".title").text == entry.question
    assert answer.find_element("css selector", ".source").text.startswith("资料来源：")
    assert driver.switch_to.active_element.get_attribute("id") == "q"  # typing can go on
    mine = driver.find_elements("css selector", "#log .msg.me")
    assert [m.find_element("css selector", ".body").text for m in mine] == ["垃圾分类体验馆在哪里"]

    # A related question tapped: its answer arrives and takes the focus.
    related = faq.by_id[entry.related[0]]
    press(driver, button(answer, related.question))
    follow = wait_for_new_bot_message(driver, 2, "the related answer")
    assert follow.find_element("css selector", ".title").text == related.question
    until(lambda: driver.switch_to.active_element == follow, "focus on the new answer")

    # 👍 on it: pressed, thanked, recorded.
    thumbs = button(follow, "👍")
    press(driver, thumbs)
    until(lambda: thumbs.get_attribute("aria-pressed") == "true", "👍 pressed")
    until(lambda: driver.find_element("id", "status").text == replies.FEEDBACK_THANKS["+"], "the thanks in the status")
    assert server.core.log.flush()
    assert [(r.entry_id, r.positive) for r in server.core.log.rated(_since())] == [(related.id, True)]

    # Off-topic: the honest fallback (after "都不是" if the matcher offered choices).
    count = len(bot_messages(driver))
    type_question(driver, "护照在哪里办")
    reply = wait_for_new_bot_message(driver, count, "the reply to an off-topic question")
    if replies.SUGGEST_TEXT in reply.text:
        press(driver, button(reply, replies.NONE_OF_THESE_LABEL))
        reply = wait_for_new_bot_message(driver, count + 1, "the fallback after 都不是")
    assert replies.UNANSWERED_TEXT.partition("\n")[0] in reply.text
    assert "转人工" not in reply.text and "转给" not in reply.text  # no staff desk here: no promise of one
    assert button(reply, replies.TOPICS_BUTTON_LABEL)
    assert no_sideways_scroll(driver)
    screenshot(driver, "web-360.png")
    screenshot(driver, "web-360-full.png", full_page=True)

    # A reload keeps the conversation, the pressed 👍 included, and asks the server for nothing new.
    before = [e.text for e in entries(driver)]
    driver.refresh()
    until(lambda: [e.text for e in entries(driver)] == before, "the history after the reload")
    restored = next(
        m
        for m in bot_messages(driver)
        if m.find_elements("css selector", ".title")
        and m.find_element("css selector", ".title").text == related.question
    )
    assert button(restored, "👍").get_attribute("aria-pressed") == "true"

    # A desktop screen, then the same screen at 200% zoom (640 CSS pixels at twice the density).
    viewport(driver, 1280, 900, 1, mobile=False)
    driver.execute_script("window.scrollTo(0, document.body.scrollHeight)")
    screenshot(driver, "web-1280.png")
    viewport(driver, 640, 450, 2, mobile=False)
    assert no_sideways_scroll(driver)
    driver.execute_script("window.scrollTo(0, document.body.scrollHeight)")
    screenshot(driver, "web-1280-zoom200.png")


def test_links_open_in_a_new_tab_and_a_late_message_appears_in_the_open_page(browser, server):
    from servicebot.conversation import Resident, Said
    from servicebot.records import Channel
    from servicebot.replies import Reply

    driver = browser
    driver.get(server.base_url + "/")
    until(lambda: bot_messages(driver), "the welcome")
    entry = next(e for e in server.core.service.snapshot.faq.entries if e.links)
    type_question(driver, entry.question)
    answer = wait_for_new_bot_message(driver, 1, "an answer with links")
    link = answer.find_element("css selector", ".links a")
    assert link.get_attribute("href").rstrip("/") == entry.links[0].url.rstrip("/")
    assert link.get_attribute("target") == "_blank" and "noopener" in link.get_attribute("rel")
    assert "在新窗口打开" in link.get_attribute("textContent")

    # A message delivered later (as a staff reply will be) shows up while the page is open.
    session = driver.execute_script("return localStorage.getItem('servicebot.session')")
    resident = Resident(Channel.WEB, session)
    assert server.call(server.core.delivery.deliver(resident, Said(Reply("工作人员回复：测试消息。"))))
    late = until(lambda: driver.find_elements("css selector", "#log .msg.bot.late"), "the late message")
    assert "工作人员回复：测试消息。" in late[0].text


def _since():
    import datetime as dt

    return dt.datetime(2000, 1, 1, tzinfo=dt.UTC)


def test_a_resident_hands_off_and_the_staff_reply_appears_in_the_open_page(browser, make_settings):
    """转人工 on the page, with Telegram and a staff group behind the same server (the fake Bot
    API on its own thread): the ticket's message, then a staff member's reply, in the page."""
    import asyncio
    import threading

    from botapi import TOKEN, FakeBotApi

    staff = -1005000000001
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="fake-bot-api", daemon=True)
    thread.start()

    def on_api_loop(coroutine, timeout: float = WAIT):
        return asyncio.run_coroutine_threadsafe(coroutine, loop).result(timeout)

    async def make_api():
        return await FakeBotApi().start()

    api = on_api_loop(make_api())
    try:
        settings = make_settings(
            REPO / "faq", token=TOKEN, base_url=api.base_url, staff_chat_id=staff, reload_interval=0
        )
        with ServerThread(settings) as server:
            driver = browser
            driver.get(server.base_url + "/")
            viewport(driver, 360, 780, 2, mobile=True)
            until(lambda: bot_messages(driver), "the welcome")
            type_question(driver, "我家的狗走丢了能帮忙找吗")
            reply = wait_for_new_bot_message(driver, 1, "the reply")
            if replies.SUGGEST_TEXT in reply.text:
                press(driver, button(reply, replies.NONE_OF_THESE_LABEL))
                reply = wait_for_new_bot_message(driver, 2, "the fallback after 都不是")
            count = len(bot_messages(driver))
            press(driver, button(reply, replies.HANDOFF_LABEL))
            opened = wait_for_new_bot_message(driver, count, "the ticket's message")
            assert wording(replies.TICKET_OPENED_TEXT, number=1).search(opened.text)
            assert button(opened, replies.BACK_LABEL)

            async def staff_answers():
                card = await api.wait_for(lambda c: c.method == "sendMessage" and c.chat_id == staff, timeout=WAIT)
                api.user_message(
                    "狗走丢了请联系社区网格员，我们帮您在居民群里发寻狗启事。",
                    user_id=3001,
                    chat_id=staff,
                    chat_type="supergroup",
                    first_name="张三",
                    reply_to_message_id=card.result["message_id"],
                )
                return card

            card = on_api_loop(staff_answers())
            assert "网页聊天" in card.text and "狗走丢了" in card.text
            late = until(lambda: driver.find_elements("css selector", "#log .msg.bot.late"), "the staff reply")
            assert replies.STAFF_REPLY_PREFIX + "狗走丢了请联系社区网格员" in late[0].text
            assert button(late[0], "👍") and button(late[0], "👎")
            screenshot(driver, "web-handoff.png")
    finally:
        on_api_loop(api.stop())
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
