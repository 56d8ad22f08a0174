"""The web chat's HTTP API and pages, against the real server (Starlette on uvicorn, started
by `channels.server.serve`) on 127.0.0.1, with a real interaction log under tmp_path.
Requests go over the network with httpx, as a browser's would."""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from pathlib import Path

import httpx
import pytest

from servicebot.answering import replies
from servicebot.answering.replies import Reply
from servicebot.answering.text import MAX_INPUT_CHARS
from servicebot.channels.web import MAX_BODY, MAX_REQUEST_CHARS
from servicebot.conversation.events import Resident, Said
from servicebot.records import Channel, Status, Via

from support.fakes import Recorded
from support.webserver import ServerThread, new_session

pytestmark = pytest.mark.slow

STATIC = Path(__file__).resolve().parents[1] / "src" / "servicebot" / "channels" / "static"
SINCE = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)


@pytest.fixture
def settings(mini_faq, make_settings):
    return make_settings(mini_faq, reload_interval=0, flood_messages=50, web_address_messages=500)


@pytest.fixture
def recorded():
    return Recorded()


@pytest.fixture
def server(settings, recorded):
    with ServerThread(settings, sink=recorded) as running:
        yield running


def ask(http: httpx.Client, session: str, text: str) -> httpx.Response:
    return http.post("/api/ask", json={"session": session, "text": text})


def tap(http: httpx.Client, session: str, data: str) -> httpx.Response:
    return http.post("/api/tap", json={"session": session, "data": data})


def choice(message: dict, label_part: str) -> dict:
    return next(c for c in message["choices"] if label_part in c["label"])


# --- pages --------------------------------------------------------------------------------------


def test_page_and_assets_are_served_with_security_headers(http):
    page = http.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert 'lang="zh-CN"' in page.text and 'role="log"' in page.text and 'aria-live="polite"' in page.text
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'self'" in csp
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["referrer-policy"] == "no-referrer"
    for asset, kind in (("static/app.js", "javascript"), ("static/style.css", "text/css")):
        response = http.get("/" + asset)
        assert response.status_code == 200 and kind in response.headers["content-type"]
        assert response.headers["x-content-type-options"] == "nosniff"
    privacy = http.get("/privacy")
    assert privacy.status_code == 200 and "180 天" in privacy.text and "清除记录" in privacy.text


def test_the_page_loads_nothing_from_other_hosts():
    """No CDN, font or script from elsewhere: every URL in the assets is relative."""
    for asset in STATIC.iterdir():
        text = asset.read_text(encoding="utf-8")
        assert not re.search(r"(src|href)\s*=\s*[\"'](https?:)?//", text), asset.name
        assert "@import" not in text and "url(" not in text, asset.name
    assert "<script>" not in (STATIC / "index.html").read_text(encoding="utf-8")  # no inline script


def test_health_answers_ok_once_serving(http):
    response = http.get("/healthz")
    assert (response.status_code, response.text) == (200, "ok")


# --- conversation -------------------------------------------------------------------------------


def test_welcome_lists_the_topics(http, server):
    doc = http.get("/api/welcome").json()
    [message] = doc["messages"]
    assert "凤凰办事处" in message["body"]
    assert [c["label"] for c in message["choices"]] == [t.name for t in server.core.service.snapshot.faq.topics]
    assert {c["kind"] for c in message["choices"]} == {"topic"}  # the page lays a topic menu out as a grid


def test_question_is_answered_with_links_related_questions_and_feedback(http, server, recorded):
    session = new_session()
    response = ask(http, session, "养老保险怎么交")
    assert response.status_code == 200 and response.headers["cache-control"] == "no-store"
    [message] = response.json()["messages"]
    entry = server.core.service.snapshot.faq.by_id["pension-insurance"]
    assert message["title"] == entry.question and message["body"] == entry.answer
    assert message["footer"].startswith("资料来源：") and message["status"] == Status.ANSWERED
    assert message["links"] == [{"label": f"🔗 {link.title}", "url": link.url} for link in entry.links]
    assert [f["label"] for f in message["feedback"]] == ["👍 有帮助", "👎 没帮助"]

    dibao = ask(http, session, "低保怎么申请").json()["messages"][0]
    related = choice(dibao, "为什么我家的低保被取消了")
    answer = tap(http, session, related["data"]).json()["messages"][0]
    assert answer["body"] == server.core.service.snapshot.faq.by_id["dibao-removal"].answer

    rows = recorded.interactions
    assert [(r.channel, r.status, r.via) for r in rows] == [
        (Channel.WEB, Status.ANSWERED, Via.QUESTION),
        (Channel.WEB, Status.ANSWERED, Via.QUESTION),
        (Channel.WEB, Status.TAP, Via.RELATED),
    ]
    assert rows[2].origin_ref == rows[1].ref
    residents = {r.resident for r in rows}
    assert len(residents) == 1 and session not in residents and None not in residents  # hashed, one resident


def test_feedback_is_recorded_in_the_interaction_log(mini_faq, make_settings):
    settings = make_settings(mini_faq, reload_interval=0)
    with ServerThread(settings) as server, httpx.Client(base_url=server.base_url, timeout=10) as http:
        session = new_session()
        message = ask(http, session, "低保怎么申请").json()["messages"][0]
        response = tap(http, session, message["feedback"][0]["data"])
        assert response.json() == {"messages": [], "ack": replies.FEEDBACK_THANKS["+"]}
        log = server.core.log
        assert log is not None
        assert log.flush()
        assert [(r.entry_id, r.positive) for r in log.rated(SINCE)] == [("dibao-apply", True)]
        assert [row.via for row in log.followups(SINCE)] == []


def test_off_topic_question_gets_the_honest_fallback_and_the_topic_menu(http, server):
    session = new_session()
    message = ask(http, session, "今天天气怎么样").json()["messages"][0]
    assert message["body"] == replies.unanswered_reply("").body and message["status"] == Status.UNANSWERED
    menu = tap(http, session, message["choices"][0]["data"]).json()["messages"][0]
    assert [c["label"] for c in menu["choices"]] == [t.name for t in server.core.service.snapshot.faq.topics]
    listing = tap(http, session, menu["choices"][0]["data"]).json()["messages"][0]
    assert listing["body"].startswith("「")


def test_typed_commands_and_long_questions_behave_as_on_telegram(http, server):
    session = new_session()
    assert ask(http, session, "/help").json()["messages"][0]["body"] == replies.HELP_TEXT
    text = "低保怎么申请\n" + "我家的情况比较复杂，" * 300
    long = ask(http, session, text).json()["messages"][0]
    expected = server.core.service.answer(text[:MAX_INPUT_CHARS], channel=Channel.ASK).reply
    assert long["notice"] == replies.TOO_LONG_TEXT and (long["title"], long["body"]) == (expected.title, expected.body)


def test_invalid_code_points_are_repaired_at_the_edge(http, caplog):
    body = '{"session": "' + new_session() + '", "text": "\\ud800低保怎么申请\\u0000"}'
    with caplog.at_level(logging.WARNING):
        response = http.post("/api/ask", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 200
    assert response.json()["messages"][0]["title"].startswith("低保")
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


# --- refusals -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    ["garbage", "e:s:AAAAAAAAAA:0123456789ab", "t:", "f:*:abc", "e:r:" + "x" * 70, "", "m:extra", "n:ZZZ"],
)
def test_unknown_or_forged_buttons_get_422(http, data):
    response = tap(http, new_session(), data)
    assert response.status_code == 422
    assert response.json() == {"error": "unknown_button", "message": replies.STALE_BUTTON_TEXT}


def test_a_button_of_a_topic_removed_by_a_reload_is_stale(http, server, mini_faq):
    session = new_session()
    menu = http.get("/api/welcome").json()["messages"][0]
    books = choice(menu, "共享书屋")["data"]
    (mini_faq / "books.yaml").unlink()
    assert server.core.service.reload()[0]
    assert tap(http, session, books).status_code == 422


@pytest.mark.parametrize(
    "content, content_type, status, code",
    [
        ("not json", "application/json", 400, "bad_json"),
        ("[1, 2]", "application/json", 400, "bad_json"),
        ('{"text": "低保"}', "application/json", 400, "bad_session"),
        ('{"session": "../../etc", "text": "低保"}', "application/json", 400, "bad_session"),
        ('{"session": "%s", "text": 5}', "application/json", 400, "bad_text"),
        ('{"session": "%s", "text": "低保"}', "text/plain", 415, "not_json"),
        ('{"session": "%s", "text": "低保"}', "application/x-www-form-urlencoded", 415, "not_json"),
    ],
)
def test_malformed_requests_get_the_right_status(http, content, content_type, status, code):
    body = content.replace("%s", new_session()).encode()
    response = http.post("/api/ask", content=body, headers={"Content-Type": content_type})
    assert response.status_code == status
    assert response.json()["error"] == code


def test_a_body_that_is_not_utf8_is_bad_json(http):
    response = http.post("/api/ask", content=b"\xff\xfe{", headers={"Content-Type": "application/json"})
    assert response.status_code == 400 and response.json()["error"] == "bad_json"


def test_wrong_method_and_unknown_path(http):
    response = http.get("/api/ask")
    assert response.status_code == 405 and "POST" in response.headers["allow"]
    assert http.post("/").status_code == 405
    assert http.get("/api/nothing-here").status_code == 404


def test_oversize_bodies_and_texts_get_413(http):
    session = new_session()
    big = json.dumps({"session": session, "text": "低" * (MAX_BODY // 2)}, ensure_ascii=False).encode()
    response = http.post("/api/ask", content=big, headers={"Content-Type": "application/json"})
    assert response.status_code == 413

    def chunks():  # no Content-Length: the limit applies as the body streams in
        yield b'{"session": "' + session.encode() + b'", "text": "'
        for _ in range(MAX_BODY // 1000 + 1):
            yield b"a" * 1000
        yield b'"}'

    response = http.post("/api/ask", content=chunks(), headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    too_long = ask(http, session, "低" * (MAX_REQUEST_CHARS + 1))
    assert too_long.status_code == 413 and too_long.json()["message"] == replies.WEB_TOO_LONG_TEXT
    assert ask(http, session, "低保怎么申请" + "。" * (MAX_REQUEST_CHARS - 6)).status_code == 200


def test_flooding_session_is_slowed_down_and_others_are_not(mini_faq, make_settings):
    settings = make_settings(mini_faq, reload_interval=0, flood_messages=3, flood_window=600.0)
    with ServerThread(settings) as server, httpx.Client(base_url=server.base_url, timeout=10) as http:
        flooder = new_session()
        statuses = [ask(http, flooder, "低保怎么申请").status_code for _ in range(5)]
        assert statuses == [200, 200, 200, 429, 429]
        refused = ask(http, flooder, "低保怎么申请").json()
        assert refused == {"error": "slow_down", "message": replies.SLOW_DOWN_TEXT}
        assert ask(http, new_session(), "书屋在哪").status_code == 200


def test_one_address_is_limited_across_sessions(mini_faq, make_settings):
    settings = make_settings(mini_faq, reload_interval=0, web_address_messages=4, flood_window=600.0)
    with ServerThread(settings) as server, httpx.Client(base_url=server.base_url, timeout=10) as http:
        statuses = [ask(http, new_session(), "低保怎么申请").status_code for _ in range(6)]
        assert statuses == [200, 200, 200, 200, 429, 429]


def test_rejected_requests_do_not_flood_the_log(http, caplog):
    with caplog.at_level(logging.WARNING, logger="servicebot"):
        for _ in range(40):
            http.post("/api/ask", content=b"not json", headers={"Content-Type": "application/json"})
            tap(http, new_session(), "garbage")
    lines = [r.getMessage() for r in caplog.records if r.name == "servicebot.channels.web"]
    assert 1 <= len(lines) <= 2, lines  # one line per kind of refusal per minute
    assert all("session" not in line for line in lines)


# --- cross-origin -----------------------------------------------------------------------------------


def test_cross_origin_calls_are_refused_unless_configured(http, server):
    body = {"session": new_session(), "text": "低保怎么申请"}
    same = http.post("/api/ask", json=body, headers={"Origin": server.base_url})
    assert same.status_code == 200
    other = http.post("/api/ask", json=body, headers={"Origin": "https://evil.example"})
    assert other.status_code == 403 and "access-control-allow-origin" not in other.headers
    assert other.headers["x-content-type-options"] == "nosniff"
    preflight = http.options("/api/ask", headers={"Origin": "https://evil.example"})
    assert preflight.status_code == 403


def test_configured_origin_may_call_and_embed(mini_faq, make_settings):
    site = "https://www.example.gov.cn"
    settings = make_settings(mini_faq, reload_interval=0, web_origins=[site], web_frame_ancestors=f"'self' {site}")
    with ServerThread(settings) as server, httpx.Client(base_url=server.base_url, timeout=10) as http:
        preflight = http.options("/api/ask", headers={"Origin": site, "Access-Control-Request-Method": "POST"})
        assert preflight.status_code == 204
        assert preflight.headers["access-control-allow-origin"] == site
        assert "content-type" in preflight.headers["access-control-allow-headers"].lower()
        response = http.post("/api/ask", json={"session": new_session(), "text": "低保"}, headers={"Origin": site})
        assert response.status_code == 200 and response.headers["access-control-allow-origin"] == site
        page = http.get("/")
        assert f"frame-ancestors 'self' {site}" in page.headers["content-security-policy"]
        assert "x-frame-options" not in page.headers


# --- late messages ----------------------------------------------------------------------------------


def test_a_message_delivered_later_reaches_the_page_once(http, server):
    session = new_session()
    empty = http.post("/api/inbox", json={"session": session, "after": 0})
    assert empty.status_code == 200 and empty.json() == {"messages": []}
    resident = Resident(Channel.WEB, session)
    assert server.call(server.core.delivery.deliver(resident, Said(Reply("工作人员回复：请带户口簿到社区。"))))
    [message] = http.post("/api/inbox", json={"session": session, "after": 0}).json()["messages"]
    assert message["body"] == "工作人员回复：请带户口簿到社区。" and message["id"] > 0
    assert http.post("/api/inbox", json={"session": session, "after": message["id"]}).json() == {"messages": []}
    assert http.post("/api/inbox", json={"session": new_session(), "after": 0}).json() == {"messages": []}
    assert http.post("/api/inbox", json={"session": session, "after": "x"}).status_code == 400


def test_every_page_asset_is_installed_with_the_package():
    """pip install . (and so the Docker image) must carry the page: pyproject's package-data
    globs cover every file in static/."""
    import fnmatch
    import tomllib

    config = tomllib.loads((STATIC.parents[3] / "pyproject.toml").read_text(encoding="utf-8"))
    globs = config["tool"]["setuptools"]["package-data"]["servicebot.channels"]
    files = [f"static/{path.name}" for path in STATIC.iterdir()]
    assert files and all(any(fnmatch.fnmatch(name, glob) for glob in globs) for name in files), (files, globs)
