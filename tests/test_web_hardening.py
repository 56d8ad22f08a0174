"""Faults at the web server's edge (issue 22): a JSON body nested too deep, an error inside a
handler, X-Forwarded-For from an address that is not a configured proxy, `/api/inbox` asked in
a loop, 👍/👎 for a made-up or another session's reference, and text a resident types with
direction controls or a number split across lines. Real HTTP with httpx against the real
server (`channels.server.serve` on uvicorn) on 127.0.0.1, a real SQLite log under tmp_path;
settings validation and compose.yaml checked as operators meet them."""

from __future__ import annotations

import dataclasses
import json
import logging
import sqlite3
from pathlib import Path

import aiohttp
import httpx
import pytest
import yaml
from starlette.routing import Route

from servicebot.answering import replies
from servicebot.channels.web import INBOX_POLLS
from servicebot.config import load_settings
from servicebot.conversation.events import Resident, Said
from servicebot.errors import ConfigError
from servicebot.records import Channel
from servicebot.tools.report_commands import run_review

from support.webserver import ServerThread, free_port, new_session
from support.wechat_sim import TEST_TOKEN, WechatSim

pytestmark = pytest.mark.anyio

REPO = Path(__file__).resolve().parents[1]
SECURITY_HEADERS = ("content-security-policy", "x-content-type-options", "referrer-policy")


def has_security_headers(response: httpx.Response) -> bool:
    return all(name in response.headers for name in SECURITY_HEADERS)


@pytest.fixture
def settings(mini_faq, make_settings):
    return make_settings(mini_faq, reload_interval=0, flood_messages=50, web_address_messages=500)


@pytest.fixture
def server(settings):
    with ServerThread(settings) as running:
        yield running


def db_rows(settings, sql: str) -> list[tuple]:
    with sqlite3.connect(settings.db_path) as db:
        return db.execute(sql).fetchall()


# --- item 6: errors are short, clear and carry the security headers -------------------------------


@pytest.mark.slow
def test_json_nested_a_thousand_deep_is_a_400_with_the_headers_and_no_traceback(http, caplog):
    body = json.dumps({"session": new_session(), "text": ""}).replace('""', "[" * 1500 + "]" * 1500)  # 3 KB
    with caplog.at_level(logging.DEBUG):
        responses = [http.post("/api/ask", content=body, headers={"Content-Type": "application/json"})]
        responses += [http.post("/api/tap", content=body, headers={"Content-Type": "application/json"})]
    for response in responses:
        assert (response.status_code, response.json()["error"]) == (400, "bad_json")
        assert has_security_headers(response)
    lines = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(lines) == 1 and "bad_json" in lines[0] and len(lines[0]) < 200  # one line a minute, per kind
    assert not any(r.exc_info for r in caplog.records) and "Traceback" not in caplog.text


class Broken:
    """A channel whose one route fails the way a bug would: an error of any kind, raised deep."""

    name = Channel.WEB  # its route is served on the web server

    def routes(self):
        async def fail(request):
            def deeper(n: int) -> None:
                if n:
                    deeper(n - 1)
                raise KeyError("a resident's text that must not be logged")

            deeper(200)

        return [Route("/broken", fail, methods=["GET"])]

    async def start(self) -> None:
        pass

    async def stop(self) -> None:
        pass


@pytest.mark.slow
def test_an_error_in_a_handler_is_a_json_500_with_the_headers_and_one_short_log_line(settings, caplog):
    running = ServerThread(settings)
    running.channels.append(Broken())
    with running, httpx.Client(base_url=running.base_url, timeout=10) as http, caplog.at_level(logging.DEBUG):
        responses = [http.get("/broken") for _ in range(3)]
        assert http.get("/healthz").status_code == 200  # still serving
    for response in responses:
        assert response.status_code == 500 and has_security_headers(response)
        assert response.json() == {"error": "internal", "message": replies.ERROR_TEXT}
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and errors[0].startswith("error while answering GET /broken: KeyError at")
    assert len(errors[0]) < 200 and "resident" not in caplog.text and "Traceback" not in caplog.text


@pytest.mark.slow
def test_not_found_and_wrong_method_carry_the_headers_too(http):
    for response in (http.get("/nowhere"), http.get("/api/ask"), http.post("/api/ask", content=b"x")):
        assert response.status_code in (404, 405, 415) and has_security_headers(response)


# --- item 5: only configured proxies are believed ----------------------------------------------------


@pytest.mark.parametrize("value", ["*", "0.0.0.0/0", "::/0", "127.0.0.1, *", "172.18.0.1:80", "localhost", "proxy"])
def test_a_trusted_proxy_list_that_would_believe_anyone_or_is_not_addresses_stops_startup(value, tmp_path):
    with pytest.raises(ConfigError, match="web_trusted_proxies") as caught:
        load_settings(env={"SERVICEBOT_WEB_TRUSTED_PROXIES": value, "SERVICEBOT_DATA_DIR": str(tmp_path)})
    assert str(caught.value).count("\n") == 0


def test_addresses_and_networks_are_accepted(tmp_path):
    value = "127.0.0.1, 172.31.250.1, 10.0.0.0/8, ::1"
    settings = load_settings(env={"SERVICEBOT_WEB_TRUSTED_PROXIES": value, "SERVICEBOT_DATA_DIR": str(tmp_path)})
    assert settings.web_trusted_proxies == value


def test_compose_trusts_only_the_gateway_of_its_own_network():
    """Docker's port publishing (docker-proxy, or its NAT rule for the host's loopback) connects
    to the container from the gateway of the compose network: that is the only proxy to believe.
    compose.yaml sets it in compose.env, the env file read before the operator's servicebot.env."""
    compose = yaml.safe_load((REPO / "compose.yaml").read_text(encoding="utf-8"))
    *defaults, last = compose["services"]["bot"]["env_file"]
    assert last == "servicebot.env"
    env: dict[str, str] = {}
    for name in defaults:
        lines = (REPO / name).read_text(encoding="utf-8").splitlines()
        env.update(line.split("=", 1) for line in lines if line.strip() and not line.startswith("#"))
    trusted = env["SERVICEBOT_WEB_TRUSTED_PROXIES"]
    [network] = compose["networks"]["default"]["ipam"]["config"]
    assert trusted == network["gateway"]
    load_settings(env={"SERVICEBOT_WEB_TRUSTED_PROXIES": trusted})  # valid: not *


def ask_as(http: httpx.Client, forwarded_for: str) -> int:
    body = {"session": new_session(), "text": "低保怎么申请"}
    return http.post("/api/ask", json=body, headers={"X-Forwarded-For": forwarded_for}).status_code


@pytest.mark.slow
def test_a_client_that_is_not_a_trusted_proxy_cannot_pick_its_flood_control_key(settings, caplog):
    untrusted = dataclasses.replace(settings, web_trusted_proxies="10.9.8.7", web_address_messages=5)
    with (
        ServerThread(untrusted) as running,
        httpx.Client(base_url=running.base_url, timeout=10) as http,
        caplog.at_level(logging.WARNING),
    ):
        statuses = [ask_as(http, f"203.0.113.{n}") for n in range(8)]
    assert statuses == [200] * 5 + [429] * 3  # one address, one budget, whatever the header says
    said = [r.getMessage() for r in caplog.records if "X-Forwarded-For" in r.getMessage()]
    assert len(said) == 1 and "web_trusted_proxies" in said[0] and "127.0.0.1" not in said[0]


@pytest.mark.slow
def test_behind_a_trusted_proxy_the_address_it_saw_counts_not_what_the_client_wrote(settings):
    trusted = dataclasses.replace(settings, web_trusted_proxies="127.0.0.1", web_address_messages=5)
    with ServerThread(trusted) as running, httpx.Client(base_url=running.base_url, timeout=10) as http:
        # A proxy that appends: the client's own X-Forwarded-For first, the address the proxy saw last.
        spoofed = [ask_as(http, f"198.51.100.{n}, 203.0.113.9") for n in range(7)]
        other = ask_as(http, "203.0.113.10")
    assert spoofed == [200] * 5 + [429] * 2 and other == 200


# --- item 14: /api/inbox is rate-limited, and 👍/👎 only for one's own answers -------------------------


@pytest.mark.slow
def test_inbox_asked_in_a_loop_is_slowed_down_and_the_page_pace_is_not(http):
    session = new_session()
    statuses = [http.post("/api/inbox", json={"session": session, "after": 0}).status_code for _ in range(50)]
    assert statuses[:INBOX_POLLS] == [200] * INBOX_POLLS and set(statuses[INBOX_POLLS:]) == {429}
    assert http.post("/api/inbox", json={"session": new_session(), "after": 0}).status_code == 200  # others unaffected
    asked = http.post("/api/ask", json={"session": session, "text": "低保怎么申请"})
    assert asked.status_code == 200  # polling never uses up the session's questions


def vote(http: httpx.Client, session: str, data: str) -> httpx.Response:
    return http.post("/api/tap", json={"session": session, "data": data})


@pytest.mark.slow
def test_feedback_is_stored_only_for_an_answer_shown_to_that_session(http, server, settings):
    mine, theirs = new_session(), new_session()
    [message] = http.post("/api/ask", json={"session": mine, "text": "低保怎么申请"}).json()["messages"]
    up = message["feedback"][0]["data"]
    ref = up.split(":")[2]
    made_up = vote(http, mine, "f:+:0123456789ab")
    made_up_tagged = vote(http, mine, f"f:+:0123456789ab:{up.rsplit(':', 1)[1]}")
    stolen = vote(http, theirs, up)  # another session replaying my button
    untagged = vote(http, mine, f"f:+:{ref}")  # a page from before the tags
    for refused in (made_up, made_up_tagged, stolen, untagged):
        assert (refused.status_code, refused.json()["error"]) == (422, "unknown_button")
        assert refused.json()["message"] == replies.STALE_BUTTON_TEXT and has_security_headers(refused)
    accepted = vote(http, mine, up)
    assert accepted.status_code == 200 and accepted.json()["ack"] == replies.FEEDBACK_THANKS["+"]
    server.stop()
    assert db_rows(settings, "SELECT ref, positive FROM feedback") == [(ref, 1)]


@pytest.mark.slow
def test_a_late_message_rated_from_the_inbox_after_a_restart_is_stored(settings):
    session = new_session()
    late = Said(replies.staff_reply(7, "材料已收到。"), ref="a1b2c3d4e5f6")
    with ServerThread(settings) as running:
        running.call(running.core.delivery.deliver(Resident(Channel.WEB, session), late))
    with ServerThread(settings) as running, httpx.Client(base_url=running.base_url, timeout=10) as http:
        [message] = http.post("/api/inbox", json={"session": session, "after": 0}).json()["messages"]
        assert vote(http, session, message["feedback"][0]["data"]).status_code == 200
    assert db_rows(settings, "SELECT ref, positive FROM feedback") == [("a1b2c3d4e5f6", 1)]


# --- items 12 and 15 over the wire: what the web chat and WeChat store ----------------------------


@pytest.mark.slow
async def test_direction_controls_and_numbers_across_lines_never_reach_the_log_or_review(
    mini_faq, make_settings, tmp_path
):
    settings = make_settings(mini_faq, reload_interval=0, web_port=free_port(), wechat_token=TEST_TOKEN)
    asked = [
        "\u202e公积金怎么查\u202c，我的手机\n139\n1234\n5678",
        "公积金\u2067怎么查\u2069，电话139  1234  5678",
        "公积金怎么查，身份证341122_19900101_123X",
    ]
    with ServerThread(settings) as running, httpx.Client(base_url=running.base_url, timeout=10) as http:
        for text in asked[:2]:
            assert http.post("/api/ask", json={"session": new_session(), "text": text}).status_code == 200

        sim = WechatSim(running.base_url + "/wechat")
        async with aiohttp.ClientSession() as session:
            for n, text in enumerate(asked):
                assert (await sim.post(session, sim.text(f"oWx3Q5resident00000000000{n}", text))).status == 200
    stored = [q for (q,) in db_rows(settings, "SELECT question FROM interactions")]
    assert len(stored) == 5 and all(q.startswith("公积金怎么查，") for q in stored)
    out = tmp_path / "review.json"
    assert run_review(settings, since="1d", fmt="json", suggest_yaml=True, output=out) == 0
    everything = "\n".join([*stored, out.read_text(encoding="utf-8"), json.dumps(stored)])
    for leaked in ("\u202e", "\u2067", "1234", "5678", "19900101"):
        assert leaked not in everything
