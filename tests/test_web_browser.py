"""The web chat page in a real headless Chromium (Debian's `chromium` + `chromium-driver`,
driven by selenium; nothing is downloaded), against the real server on 127.0.0.1 with the
shipped FAQ.

A resident's visit: the welcome, a question typed and answered, a related question tapped,
👍, an off-topic question and the honest fallback, a reload that keeps the history. Along
the way: labels, the live region, focus after a tap, links opening in a new tab, a phone's
360 px width without sideways scrolling, 200% zoom. And a hand-off: 转人工 pressed in the
page, a staff member's reply (through the fake Bot API's staff group) appearing in it.
长辈模式 (large text): the switch at the top, 24 px text and 60 px tap targets, the topic menu
on one phone screen, the choice remembered across a reload and on the privacy page; clearing
the history asked in the page, never in a dialog. axe-core (vendored, tests/vendor/axe-core)
finds no WCAG 2.1 A/AA violation in either mode, at 360 px and 1280 px.
Screenshots for people to look at are written to tests/artifacts/ (git-ignored):
web-360.png, web-360-full.png, web-1280.png, web-1280-zoom200.png, web-handoff.png,
web-a11y-360.png, web-a11y-1280.png, web-elder-360.png, web-elder-360-answer.png,
web-elder-1280.png, web-elder-privacy-360.png.

Without chromium and chromedriver the test is skipped, saying so — except under CI
(CI=true), where that is a failure: .ci/run installs them.
"""

from __future__ import annotations

import pytest

from servicebot.answering import replies
from servicebot.records import Channel

from conftest import PINNED_FAQ, REPO
from support.browser import (
    WAIT,
    bot_messages,
    button,
    entries,
    no_sideways_scroll,
    press,
    screenshot,
    type_question,
    until,
    viewport,
    wait_for_new_bot_message,
)
from support.webserver import ServerThread
from support.wording import wording

pytestmark = pytest.mark.slow


@pytest.fixture
def server(make_settings):
    settings = make_settings(PINNED_FAQ, reload_interval=0)
    with ServerThread(settings) as running:
        yield running


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
    entry = faq.by_id[server.core.service.answer("垃圾分类体验馆在哪里", channel=Channel.ASK).entry_id]
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

    # Another body's matter: where to go, with the general way in and no promise of staff.
    count = len(bot_messages(driver))
    type_question(driver, "护照在哪里办")
    reply = wait_for_new_bot_message(driver, count, "the referral")
    assert "公安机关出入境管理部门" in reply.text and "12345" in reply.text
    assert "转人工" not in reply.text and "转给" not in reply.text

    # Off-topic: the honest fallback (after "都不是" if the matcher offered choices).
    count = len(bot_messages(driver))
    type_question(driver, "去南京的火车票怎么买")
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
    from servicebot.answering.replies import Reply
    from servicebot.conversation.events import Resident, Said
    from servicebot.records import Channel

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

    from support.botapi import TOKEN, FakeBotApi

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
        settings = make_settings(PINNED_FAQ, token=TOKEN, base_url=api.base_url, staff_chat_id=staff, reload_interval=0)
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


# --- 长辈模式 and accessibility ----------------------------------------------------------------

AXE = REPO / "tests" / "vendor" / "axe-core" / "axe.min.js"  # axe-core 4.14.1, see its README
WCAG21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
ELDER_TEXT_PX = 24  # 18 pt: the main text of an elder-friendly page
ELDER_TARGET_PX = 60  # the MIIT guideline's tap target for elder-friendly screens (60 × 60 dp)


def axe_violations(driver) -> list[str]:
    """The WCAG 2.1 A and AA violations axe-core finds on the page as it is now, one line each."""
    if not driver.execute_script("return !!window.axe"):
        driver.execute_script(AXE.read_text(encoding="utf-8"))
    driver.set_script_timeout(60)
    found = driver.execute_async_script(
        """
        const done = arguments[arguments.length - 1];
        axe.run(document, {runOnly: {type: "tag", values: arguments[0]}, resultTypes: ["violations"]})
          .then(r => done(r.violations.map(v => `${v.id} (${v.impact}): ${v.help} — ` +
                v.nodes.map(n => n.target.join(" ")).join(", "))))
          .catch(e => done([`axe failed: ${e}`]));
        """,
        WCAG21_AA,
    )
    return list(found)


def elder_on(driver) -> bool:
    return driver.execute_script("return document.documentElement.classList.contains('elder')")


def px(driver, element, prop: str) -> float:
    return float(driver.execute_script(f"return parseFloat(getComputedStyle(arguments[0]).{prop})", element))


def small_targets(driver, minimum: int) -> list[str]:
    """Visible buttons, links acting as buttons and the text box smaller than `minimum` px either way."""
    return driver.execute_script(
        """
        const min = arguments[0];
        return [...document.querySelectorAll("button, .tool, textarea, .links a")]
          .filter(e => e.offsetParent !== null)
          .map(e => [e, e.getBoundingClientRect()])
          .filter(([e, r]) => r.width < min || r.height < min)
          .map(([e, r]) => `${e.id || e.className || e.tagName} "${e.textContent.trim().slice(0, 12)}"`
                            + ` ${Math.round(r.width)}×${Math.round(r.height)}`);
        """,
        minimum,
    )


def test_elder_mode_is_large_fits_a_phone_is_remembered_and_passes_axe_in_both_modes(browser, server):
    driver = browser
    faq = server.core.service.snapshot.faq
    driver.get(server.base_url + "/")
    viewport(driver, 360, 780, 2, mobile=True)
    welcome = until(lambda: bot_messages(driver), "the welcome")[0]
    switch = driver.find_element("id", "elder")
    assert (switch.text, switch.get_attribute("aria-pressed"), elder_on(driver)) == ("长辈模式", "false", False)
    assert switch.location["y"] < 120  # at the top, seen first
    topics = welcome.find_elements("css selector", ".choices.topics button.choice")
    assert [b.text for b in topics] == [t.name for t in faq.topics]
    assert topics[0].location["y"] == topics[1].location["y"]  # two a row
    assert axe_violations(driver) == []
    screenshot(driver, "web-a11y-360.png")

    # Switched on: said in the status line, large text, large targets, remembered.
    switch.click()
    until(lambda: elder_on(driver), "长辈模式 on")
    assert switch.get_attribute("aria-pressed") == "true"
    assert driver.find_element("id", "status").text.startswith("已打开长辈模式")
    assert driver.execute_script("return localStorage.getItem('servicebot.elder')") == "1"
    body = welcome.find_element("css selector", ".body p")
    assert px(driver, body, "fontSize") >= ELDER_TEXT_PX
    assert px(driver, body, "lineHeight") >= 1.3 * px(driver, body, "fontSize")
    smallest = driver.execute_script(
        "return Math.min(...[...document.querySelectorAll('body *')].filter(e => e.offsetParent !== null"
        " && [...e.childNodes].some(n => n.nodeType === 3 && n.textContent.trim()))"
        ".map(e => parseFloat(getComputedStyle(e).fontSize)))"
    )
    assert smallest >= 18  # nothing smaller than 18 px anywhere on the page
    assert small_targets(driver, ELDER_TARGET_PX) == []
    assert no_sideways_scroll(driver)
    driver.execute_script("window.scrollTo(0, 0)")
    screenshot(driver, "web-elder-360.png")
    # The topic menu fits the screen above the composer (the header scrolls away), and so does
    # the header with the greeting's first lines.
    menu = welcome.find_element("css selector", ".choices.topics")
    composer, header = driver.find_element("id", "ask"), driver.find_element("css selector", ".bar")
    assert menu.size["height"] <= 780 - composer.size["height"]
    assert header.size["height"] + composer.size["height"] <= 780 / 2
    assert axe_violations(driver) == []

    # An answer in 长辈模式: links, source line, related questions and 👍/👎, all large.
    entry = next(e for e in faq.entries if e.links and e.related)
    type_question(driver, entry.question)
    answer = wait_for_new_bot_message(driver, 1, "the answer")
    assert answer.find_element("css selector", ".title").text == entry.question
    assert small_targets(driver, ELDER_TARGET_PX) == []
    assert axe_violations(driver) == []
    driver.execute_script("arguments[0].scrollIntoView({block: 'start'})", answer)
    screenshot(driver, "web-elder-360-answer.png")

    # Remembered across a reload (applied by mode.js before the page is drawn), and on the desktop.
    driver.refresh()
    until(lambda: bot_messages(driver), "the history after the reload")
    assert elder_on(driver) and driver.find_element("id", "elder").get_attribute("aria-pressed") == "true"
    viewport(driver, 1280, 900, 1, mobile=False)
    assert small_targets(driver, ELDER_TARGET_PX) == []
    assert axe_violations(driver) == []
    driver.execute_script("window.scrollTo(0, 0)")
    screenshot(driver, "web-elder-1280.png")

    # The privacy page keeps the mode too, and passes axe.
    driver.get(server.base_url + "/privacy")
    assert elder_on(driver)
    assert axe_violations(driver) == []
    viewport(driver, 360, 780, 2, mobile=True)
    screenshot(driver, "web-elder-privacy-360.png")

    # Switched off again: normal size, remembered, and axe-clean on the desktop.
    driver.get(server.base_url + "/")
    until(lambda: bot_messages(driver), "the page")
    driver.find_element("id", "elder").click()
    until(lambda: not elder_on(driver), "长辈模式 off")
    assert driver.execute_script("return localStorage.getItem('servicebot.elder')") == "0"
    assert px(driver, bot_messages(driver)[0].find_element("css selector", ".body p"), "fontSize") < ELDER_TEXT_PX
    viewport(driver, 1280, 900, 1, mobile=False)
    assert axe_violations(driver) == []
    screenshot(driver, "web-a11y-1280.png")


def test_clearing_the_history_is_asked_in_the_page_without_a_dialog(browser, server):
    from selenium.common.exceptions import NoAlertPresentException

    driver = browser
    driver.get(server.base_url + "/")
    until(lambda: bot_messages(driver), "the welcome")
    type_question(driver, "低保怎么申请")
    wait_for_new_bot_message(driver, 1, "the answer")
    session = driver.execute_script("return localStorage.getItem('servicebot.session')")
    clear = driver.find_element("id", "clear")
    box = driver.find_element("id", "confirm-clear")
    assert not box.is_displayed()

    press(driver, clear)
    until(box.is_displayed, "the question in the page")
    with pytest.raises(NoAlertPresentException):
        driver.switch_to.alert.text  # noqa: B018 — no browser dialog
    assert clear.get_attribute("aria-expanded") == "true"
    assert driver.switch_to.active_element.get_attribute("id") == "confirm-text"
    assert axe_violations(driver) == []

    press(driver, driver.find_element("id", "clear-no"))  # "不清除": nothing lost
    assert not box.is_displayed() and len(bot_messages(driver)) == 2
    assert driver.find_element("id", "status").text == "聊天记录没有清除。"

    press(driver, clear)
    press(driver, driver.find_element("id", "clear-yes"))
    until(lambda: len(bot_messages(driver)) == 1 and "凤凰办事处" in bot_messages(driver)[0].text, "a fresh welcome")
    assert driver.execute_script("return localStorage.getItem('servicebot.session')") != session
    assert driver.find_element("id", "status").text == "聊天记录已清除。"
