"""The staff desk in a real headless Chromium (tests/support/browser.py), beside a resident's web chat
page in another tab of the same browser, against the real servers on 127.0.0.1.

A staff member signs in (typing, as at an office PC), waits on the empty list; a resident on
the web chat hands a question off; the ticket appears in the staff member's list without a
reload; they open it, type a reply and send it; the reply appears in the resident's open page.
Along the way: the session cookie's flags as the browser stored them, the tab's title counting
the waiting ticket, a phone's 360 px width without sideways scrolling, sign-out.
Screenshots in tests/artifacts/: desk-signin.png, desk-tickets.png, desk-ticket.png,
desk-reply-in-chat.png, desk-review.png, desk-360.png.
"""

from __future__ import annotations

import pytest

from servicebot.answering import replies
from servicebot.staffdesk import pages
from servicebot.staffdesk.guard import SESSION_COOKIE

from support.browser import (
    bot_messages,
    button,
    no_sideways_scroll,
    press,
    screenshot,
    type_question,
    until,
    viewport,
    wait_for_new_bot_message,
)
from support.deskclient import PASSWORD
from support.wording import wording

pytestmark = pytest.mark.slow

REPLY = "狗走丢了请联系社区网格员，我们帮您在居民群里发寻狗启事。"


def test_a_ticket_from_the_web_chat_is_answered_at_the_desk_and_the_reply_appears_in_the_chat(browser, desk_server):
    driver = browser
    desk_url = f"http://127.0.0.1:{desk_server.settings.desk_port}/desk/"

    # The staff member signs in.
    driver.get(desk_url)
    viewport(driver, 1280, 900, 1, mobile=False)
    until(lambda: driver.find_element("id", "name"), "the sign-in form")
    assert pages.SIGNIN_INSECURE not in driver.find_element("tag name", "main").text  # 127.0.0.1 is secure
    screenshot(driver, "desk-signin.png")
    driver.find_element("id", "name").send_keys("张三")
    driver.find_element("id", "password").send_keys(PASSWORD)
    driver.find_element("css selector", "form.signin button").click()
    until(lambda: pages.TICKETS_EMPTY in driver.find_element("tag name", "main").text, "the empty list")
    cookie = next(
        c for c in driver.execute_cdp_cmd("Network.getAllCookies", {})["cookies"] if c["name"] == SESSION_COOKIE
    )
    assert (cookie["httpOnly"], cookie["secure"], cookie["sameSite"]) == (True, True, "Strict")
    assert driver.execute_script("return document.cookie") == ""  # no script can read it
    desk_tab = driver.current_window_handle
    driver.execute_script("window.stillTheSamePage = true")

    # A resident, in another tab, hands a question off on the web chat.
    driver.switch_to.new_window("tab")
    chat_tab = driver.current_window_handle
    driver.get(desk_server.base_url + "/")
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
    opened_line = wording(replies.TICKET_OPENED_TEXT).search(opened.text)
    assert opened_line, opened.text
    number = int(opened_line["number"])

    # The ticket appears at the desk without a reload; the tab's title counts it.
    driver.switch_to.window(desk_tab)
    item = until(lambda: driver.find_elements("css selector", f"#t-{number}"), "the ticket in the list")[0]
    assert driver.execute_script("return window.stillTheSamePage") is True
    assert "网页聊天" in item.text and "狗走丢了" in item.text
    until(lambda: driver.title.startswith("(1) "), "the title counting the waiting ticket")
    screenshot(driver, "desk-tickets.png")

    # Opened, answered.
    item.find_element("css selector", "a.open").click()
    box = until(lambda: driver.find_element("id", "text"), "the reply box")
    box.send_keys(REPLY)
    driver.find_element("css selector", "form.reply button").click()
    until(lambda: pages.DONE["kept"] in driver.find_element("tag name", "main").text, "the reply kept for the page")
    assert "张三 回复" in driver.find_element("id", "ticket").text
    screenshot(driver, "desk-ticket.png")

    # The reply in the resident's open page.
    driver.switch_to.window(chat_tab)
    late = until(lambda: driver.find_elements("css selector", "#log .msg.bot.late"), "the staff reply in the chat")
    assert replies.STAFF_REPLY_PREFIX + REPLY in late[0].text
    screenshot(driver, "desk-reply-in-chat.png")

    # The week's review, as a page.
    driver.get(desk_url + "tools/review")
    viewport(driver, 1280, 900, 1, mobile=False)
    until(lambda: "需要补充的问题" in driver.find_element("tag name", "main").text, "the review")
    screenshot(driver, "desk-review.png", full_page=True)

    # The desk on a phone, then sign-out.
    driver.switch_to.window(desk_tab)
    driver.get(desk_url)
    viewport(driver, 360, 780, 2, mobile=True)
    until(lambda: driver.find_elements("css selector", f"#t-{number}"), "the list on a phone")
    assert no_sideways_scroll(driver)
    screenshot(driver, "desk-360.png", full_page=True)
    driver.find_element("css selector", "header .signout button").click()
    until(lambda: pages.SIGNIN_BYE in driver.find_element("tag name", "main").text, "signed out")
    driver.get(desk_url)
    until(lambda: driver.find_elements("id", "password"), "the sign-in form again")
