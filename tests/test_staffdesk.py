"""The staff desk over real HTTP: the bot's servers (`channels.server.serve`: the web chat on
one port, the desk on its own) on 127.0.0.1, a real SQLite file, residents on the web chat's
JSON API, staff through `DeskClient` (a browser's cookie handling, tests/support/deskclient.py).

Sign-in and its faults (wrong passwords, a stolen cookie after sign-out, forged forms, a
disabled account), tickets from the web chat answered at the desk, a reply to a ticket closed
elsewhere, and the residents' port never serving any of it.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import sqlite3

import pytest
from starlette.applications import Starlette

from servicebot import cli
from servicebot.answering import replies
from servicebot.channels.http_shared import SecurityMiddleware
from servicebot.channels.server import LastResort, build_app
from servicebot.records import Channel
from servicebot.staffdesk import pages
from servicebot.staffdesk.guard import PER_ADDRESS, PER_NAME, SESSION_COOKIE
from servicebot.staffdesk.site import ticket_key
from servicebot.storage.ticket_store import TicketStore

from support.deskclient import (
    MASKED,
    OTHER_SESSION,
    PASSWORD,
    DeskClient,
    csrf_in,
    inbox,
    open_ticket,
    signed_in,
    text_of,
    ticket_keys,
)
from support.wording import wording

pytestmark = pytest.mark.slow

# --- signing in and out ---------------------------------------------------------------------------


def test_sign_in_sets_a_strict_cookie_and_sign_out_makes_a_stolen_copy_useless(desk_server, staff, desk_settings):
    assert staff.get("/desk/").headers["location"] == "/desk/signin"
    response = staff.sign_in()
    (set_cookie,) = [c for c in response.headers.get_list("set-cookie") if c.startswith(SESSION_COOKIE + "=")]
    flags = {part.strip().lower() for part in set_cookie.split(";")[1:]}
    assert {"httponly", "secure", "samesite=strict", "path=/"} <= flags
    assert not [f for f in flags if f.startswith(("max-age", "expires", "domain"))]  # this host, this browser session
    page = staff.follow(response)
    assert page.status_code == 200 and pages.TICKETS_EMPTY in text_of(page.text)

    session_value = staff.cookies[SESSION_COOKIE]
    conn = sqlite3.connect(desk_settings.db_path)
    rows = conn.execute("SELECT id FROM staff_sessions").fetchall()
    assert len(rows) == 1 and session_value not in rows[0][0]  # only its sha256 is stored

    stolen = dict(staff.cookies)
    out = staff.form("/desk/signout", page)
    assert out.headers["location"] == "/desk/signin?m=bye" and SESSION_COOKIE not in staff.cookies
    assert conn.execute("SELECT count(*) FROM staff_sessions").fetchone() == (0,)
    conn.close()

    thief = DeskClient(staff.http.base_url.__str__())
    thief.cookies = stolen
    assert thief.get("/desk/").headers["location"] == "/desk/signin"
    assert thief.get("/desk/api/version").status_code == 401
    assert thief.get("/desk/tools/review").headers["location"].startswith("/desk/signin")
    assert thief.form("/desk/signout", page).headers["location"] == "/desk/signin"  # the old CSRF token opens nothing
    thief.close()


def test_wrong_passwords_are_rate_limited_and_logged_without_the_password(desk_server, staff, caplog):
    caplog.set_level(logging.INFO, logger="servicebot")
    for n in range(PER_NAME):
        wrong = staff.sign_in("张三", f"guess-number-{n}")
        assert wrong.status_code == 401 and pages.SIGNIN_WRONG in text_of(wrong.text)
    locked = staff.sign_in("张三", PASSWORD)  # even the right one, now
    assert locked.status_code == 429
    assert wording(pages.SIGNIN_LOCKED).search(text_of(locked.text))
    assert SESSION_COOKIE not in staff.cookies

    other = DeskClient(str(staff.http.base_url), address="10.0.0.9")  # from elsewhere: the name stays locked
    assert other.sign_in("张三", PASSWORD).status_code == 429
    assert other.sign_in("李四", PASSWORD).status_code == 303  # another account is not
    other.close()

    lines = [r.getMessage() for r in caplog.records if r.name.startswith("servicebot.staffdesk")]
    failed = [line for line in lines if "failed sign-in for staff account '张三'" in line]
    assert len(failed) == PER_NAME
    assert any("too many failed attempts" in line for line in lines)
    assert not any("guess-number" in line or PASSWORD in line for line in caplog.text.splitlines())


def test_many_names_from_one_address_are_stopped_too(desk_server, staff):
    for n in range(PER_ADDRESS):
        assert staff.sign_in(f"user{n}", "whatever-123").status_code == 401
    assert staff.sign_in("张三", PASSWORD).status_code == 429  # this address is done for the window


def test_unknown_accounts_are_not_named_in_the_log(desk_server, staff, caplog):
    caplog.set_level(logging.INFO, logger="servicebot")
    assert staff.sign_in("my-secret-password", "x" * 9).status_code == 401  # typed into the wrong box
    assert "failed sign-in for an unknown account" in caplog.text
    assert "my-secret-password" not in caplog.text


def test_a_forged_form_changes_nothing(desk_server, staff, resident, desk_settings):
    number = open_ticket(resident)
    page = signed_in(staff)
    key = ticket_keys(page.text)[0]
    ticket = staff.get(f"/desk/t/{key}")

    no_token = staff.post(f"/desk/t/{key}/resolve", {})
    assert no_token.status_code == 403 and pages.FORM_EXPIRED in text_of(no_token.text)
    wrong = staff.post(f"/desk/t/{key}/reply", {"csrf": "forged", "text": "钓鱼链接"})
    assert wrong.status_code == 403
    other = DeskClient(str(staff.http.base_url))
    signed_in(other, "李四")
    theirs = staff.post(f"/desk/t/{key}/reply", {"csrf": csrf_in(other.last.text), "text": "别人的令牌"})
    assert theirs.status_code == 403  # a token is good for its own session only
    other.close()
    cross = staff.post(
        f"/desk/t/{key}/resolve", {"csrf": csrf_in(ticket.text)}, headers={"origin": "http://evil.example"}
    )
    assert cross.status_code == 403  # a page on another site, even with the right token
    signin_forged = DeskClient(str(staff.http.base_url)).post(
        "/desk/signin", {"csrf": "x", "name": "张三", "password": PASSWORD}
    )
    assert signin_forged.status_code == 403

    store = TicketStore(desk_settings.db_path)
    row = store.ticket(number)
    assert row is not None and row.status == "open" and row.replies == 0
    store.close()
    assert inbox(resident) == []


def test_a_disabled_account_is_signed_out_at_once(desk_server, staff, desk_settings, capsys):
    signed_in(staff)
    assert cli.main(["staff", "disable", "张三", "--data-dir", str(desk_settings.data_dir)]) == 0
    assert "1 个已登录的会话已结束" in capsys.readouterr().out
    assert staff.get("/desk/").headers["location"] == "/desk/signin"
    assert staff.sign_in().status_code == 401
    assert cli.main(["staff", "enable", "张三", "--data-dir", str(desk_settings.data_dir)]) == 0
    signed_in(staff)


# --- the residents' port ---------------------------------------------------------------------------


def test_no_resident_facing_route_serves_desk_data(desk_server, staff, resident):
    open_ticket(resident)
    page = signed_in(staff)
    key = ticket_keys(page.text)[0]
    cookie = {"cookie": staff.last.request.headers["cookie"]}
    desk_paths = [
        "/desk",
        "/desk/",
        f"/desk/t/{key}",
        "/desk/api/version",
        "/desk/tools/review",
        "/desk/tools/stats",
        "/desk/tools/faq",
        "/desk/signin",
        "/desk/static/desk.js",
    ]
    for path in desk_paths:
        answer = resident.get(path, headers=cookie)
        assert answer.status_code == 404, path
        assert MASKED not in answer.text and "狗走丢了" not in answer.text
    assert resident.post(f"/desk/t/{key}/resolve", data={"csrf": csrf_in(page.text)}, headers=cookie).status_code in (
        404,
        405,
    )
    app = build_app(desk_server.core, desk_server.channels)
    while not isinstance(app, Starlette):  # inside the security headers and the last-resort handler
        assert isinstance(app, SecurityMiddleware | LastResort), app
        app = app.app
    paths = [getattr(route, "path", "") for route in app.routes]
    assert paths and not [p for p in paths if p.startswith("/desk")]
    assert not [r for r in app.routes if "staffdesk" in getattr(getattr(r, "endpoint", None), "__module__", "")]
    # and the desk's port serves nothing of the residents'
    assert staff.get("/api/welcome").status_code == 404 and staff.get("/").status_code == 404


# --- tickets ----------------------------------------------------------------------------------------


def test_a_web_ticket_is_answered_once_marked_and_resolved_at_the_desk(desk_server, staff, resident, desk_settings):
    first = open_ticket(resident)
    second = open_ticket(resident, "小区门口的路灯坏了找谁修", session=OTHER_SESSION)
    page = signed_in(staff)
    shown = text_of(page.text)
    assert wording(pages.TICKETS_HEADING, count=2).search(shown)
    assert shown.index(f"#{first} · 网页聊天") < shown.index(f"#{second} · 网页聊天")  # oldest first
    assert MASKED in shown and "13912345678" not in shown and "刚刚" in shown
    assert pages.BOT_SAID[replies.Status.UNANSWERED] in shown or "机器人给出了建议" in shown

    key = ticket_keys(page.text)[0]
    ticket = staff.get(f"/desk/t/{key}")
    assert f"人工咨询 #{first}" in text_of(ticket.text) and pages.WHERE_SEEN[Channel.WEB] in text_of(ticket.text)
    sent = staff.form(f"/desk/t/{key}/reply", ticket, text="狗走丢了请联系社区网格员。")
    assert sent.headers["location"] == f"/desk/t/{key}?done=kept"
    after = staff.follow(sent)
    assert pages.DONE["kept"] in text_of(after.text)
    assert "张三 回复" in text_of(after.text) and "狗走丢了请联系社区网格员。" in text_of(after.text)
    assert inbox(resident) == [replies.STAFF_REPLY_PREFIX + "狗走丢了请联系社区网格员。"]
    assert inbox(resident, OTHER_SESSION) == []  # never another resident's

    again = staff.form(f"/desk/t/{key}/reply", ticket, text="狗走丢了请联系社区网格员。")  # the same form twice
    assert again.headers["location"].endswith("done=again")
    assert len(inbox(resident)) == 1

    marked = staff.form(f"/desk/t/{key}/faq", after)
    assert marked.headers["location"].endswith("done=faq")
    store = TicketStore(desk_settings.db_path)
    opened = store.ticket(first)
    assert opened is not None
    (answer,) = store.staff_answers(opened.opened_at)
    assert (answer.ticket, answer.answer, answer.staff_name) == (first, "狗走丢了请联系社区网格员。", "张三")

    resolved = staff.form(f"/desk/t/{key}/resolve", after)
    assert resolved.headers["location"].endswith("done=resolved")
    assert inbox(resident)[-1] == replies.TICKET_CLOSED_TEXT.format(number=first)
    row = store.ticket(first)
    assert row is not None
    assert row.status == "closed" and row.closed_by == "张三" and row.address is None
    store.close()
    assert f"#{first} · " not in text_of(staff.get("/desk/").text)  # off the open list
    closed = staff.follow(staff.form(f"/desk/t/{key}/resolve", after))
    assert pages.DONE["already"] in text_of(closed.text)


def test_a_reply_to_a_ticket_closed_elsewhere_is_refused_with_a_note(desk_server, staff, resident):
    number = open_ticket(resident)
    signed_in(staff)
    colleague = DeskClient(str(staff.http.base_url), address="10.0.0.2")
    signed_in(colleague, "李四")
    key = ticket_keys(colleague.last.text)[0]
    mine = staff.get(f"/desk/t/{key}")  # 张三 opens the ticket and starts typing
    colleague.form(f"/desk/t/{key}/resolve", colleague.get(f"/desk/t/{key}"))
    colleague.close()

    refused = staff.form(f"/desk/t/{key}/reply", mine, text="我查了一下，请您……")
    assert refused.status_code == 409
    shown = text_of(refused.text)
    assert pages.DONE["closed"] in shown
    assert wording(pages.CLOSED_NOTE, who="李四").search(shown)
    assert "我查了一下，请您……" in shown  # what they wrote is not lost
    assert inbox(resident) == [replies.TICKET_CLOSED_TEXT.format(number=number)]


def test_a_form_from_before_a_reset_cannot_reach_a_new_ticket_of_its_number(
    desk_server, staff, resident, desk_settings
):
    number = open_ticket(resident)
    page = signed_in(staff)
    old_key = ticket_keys(page.text)[0]
    ticket = staff.get(f"/desk/t/{old_key}")
    conn = sqlite3.connect(desk_settings.db_path)  # the file restored or reset: a new #1, another key
    conn.execute("UPDATE tickets SET key = 'ZZZZZZ' WHERE number = ?", (number,))
    conn.commit()
    conn.close()
    gone = staff.form(f"/desk/t/{old_key}/reply", ticket, text="给原来那位居民的回复")
    assert gone.status_code == 404 and pages.NOT_FOUND in text_of(gone.text)
    assert inbox(resident) == []
    store = TicketStore(desk_settings.db_path)
    row = store.ticket(number)
    store.close()
    assert row is not None
    assert ticket_key(row) != old_key and staff.get(f"/desk/t/{ticket_key(row)}").status_code == 200
    for malformed in ("1-zz", "1-ZZZZZ", f"{number}-{row.key.lower()}", "abc"):
        assert staff.get(f"/desk/t/{malformed}").status_code == 404


def test_the_version_changes_when_the_tickets_do(desk_server, staff, resident):
    signed_in(staff)

    def version() -> str:
        return staff.get("/desk/api/version").json()["version"]

    before = version()
    if version() != before:  # the minute turned (ages are part of it): once at most
        before = version()
    open_ticket(resident)
    after = version()
    assert after != before
    page = staff.get("/desk/")  # a page starts from the version it shows
    version_attribute = re.search(r'data-version="([0-9a-f]{16})"', page.text)
    assert version_attribute, page.text
    shown = version_attribute[1]
    assert shown == after or shown == version()  # (or the minute turned meanwhile)


def test_an_empty_reply_and_an_unknown_ticket_are_told_apart(desk_server, staff, resident):
    open_ticket(resident)
    key = ticket_keys(signed_in(staff).text)[0]
    ticket = staff.get(f"/desk/t/{key}")
    empty = staff.follow(staff.form(f"/desk/t/{key}/reply", ticket, text="   "))
    assert pages.DONE["empty"] in text_of(empty.text)
    assert inbox(resident) == []


def test_the_desk_alone_turns_hand_off_on_without_telegram(desk_settings):
    assert desk_settings.handoff and not desk_settings.telegram_staff
    plain = dataclasses.replace(desk_settings, desk_port=None)
    assert not plain.handoff


def test_a_residents_markup_is_shown_as_text_under_a_strict_policy(desk_server, staff, resident):
    open_ticket(resident, '<script>alert("desk")</script><img src=x onerror=alert(1)>我家的狗走丢了')
    page = signed_in(staff)
    assert "<script>alert" not in page.text and "<img src=x" not in page.text
    assert "&lt;script&gt;alert(&quot;desk&quot;)&lt;/script&gt;" in page.text
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy and "unsafe-inline" not in policy
    assert page.headers["x-frame-options"] == "DENY" and page.headers["cache-control"] == "no-store"
    assert page.headers["referrer-policy"] == "same-origin"


def test_a_long_queue_lists_the_oldest_and_says_so():
    import datetime as dt

    from servicebot.conversation.ticket_view import Card
    from servicebot.records import TicketId, TicketStatus
    from servicebot.storage.tickets import BotSaid, TicketRow

    now = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    row = TicketRow(
        1, "K7QX2M", now, Channel.WEB, "k", "s", None, "问题", BotSaid(), TicketStatus.OPEN, now,
        False, None, None, False, None, None, None, None,
    )  # fmt: skip
    card = Card(TicketId(1, "K7QX2M"), Channel.WEB, "问题", None, None, (), 0, now)
    views = [pages.TicketView("1-K7QX2M", row, card, "", False)] * pages.LISTED
    viewer = pages.Viewer("张三", "token")
    shown = text_of(pages.tickets_page(views, viewer, now, version="v", total=pages.LISTED + 5))
    assert wording(pages.TICKETS_HEADING, count=pages.LISTED + 5).search(shown)
    assert wording(pages.TICKETS_MORE, shown=pages.LISTED).search(shown)


def test_signing_in_again_ends_the_session_before(desk_server, staff, desk_settings):
    old_form = staff.get("/desk/signin")  # a sign-in form left open in another tab
    old_token = dict(staff.cookies)
    signed_in(staff)
    assert staff.get("/desk/signin").headers["location"] == "/desk/"  # signed in: no form
    first = staff.cookies[SESSION_COOKIE]
    staff.cookies.update(old_token)
    again = staff.post("/desk/signin", {"csrf": csrf_in(old_form.text), "name": "张三", "password": PASSWORD})
    assert again.status_code == 303 and staff.cookies[SESSION_COOKIE] != first
    conn = sqlite3.connect(desk_settings.db_path)
    assert conn.execute("SELECT count(*) FROM staff_sessions").fetchone() == (1,)
    conn.close()
    stale = DeskClient(str(staff.http.base_url))
    stale.cookies = {SESSION_COOKIE: first}
    assert stale.get("/desk/").headers["location"] == "/desk/signin"
    stale.close()
