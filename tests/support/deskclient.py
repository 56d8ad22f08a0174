"""A staff member's browser, as far as the staff desk's tests need one, over real HTTP.

The desk's cookies are `Secure`; a browser sends them to http://127.0.0.1 (a secure context),
but httpx's cookie jar, like Python's http.cookiejar, sends a Secure cookie over https only.
So `DeskClient` keeps the cookies itself, as a browser on the loopback address does: it
remembers what `Set-Cookie` says (and forgets what it expires) and sends them back.

Also here: `FakeRobot`, a local stand-in for a 企业微信 group robot's webhook on 127.0.0.1,
which records what it is sent and answers as WeCom does.
"""

from __future__ import annotations

import html
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

from servicebot.answering import replies
from servicebot.staffdesk.accounts import Accounts

from .wording import wording

PASSWORD = "correct horse 1"
SESSION, OTHER_SESSION = "a" * 32, "b" * 32  # two residents' web chat sessions
UNANSWERABLE = "我家的狗走丢了能帮忙找吗，我电话13912345678"
MASKED = "[手机号]"  # how the desk shows that number
_CSRF_RE = re.compile(r'name="csrf" value="([^"]*)"')
_NONCE_RE = re.compile(r'name="nonce" value="([^"]*)"')
_KEY_RE = re.compile(r'href="/desk/t/([0-9]+-[0-9A-Z]+)"')


def add_account(settings, name: str = "张三", password: str = PASSWORD, *, admin: bool = False) -> None:
    accounts = Accounts(settings.db_path)
    try:
        accounts.add(name, password, admin=admin)
    finally:
        accounts.close()


def text_of(page: str) -> str:
    """A page's visible text, tags dropped, entities decoded."""
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


class DeskClient:
    def __init__(self, base_url: str, *, address: str | None = None):
        headers = {"x-forwarded-for": address} if address else {}
        self.http = httpx.Client(base_url=base_url, timeout=60, follow_redirects=False, headers=headers)
        self.cookies: dict[str, str] = {}
        self._last: httpx.Response | None = None

    def close(self) -> None:
        self.http.close()

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = dict(kwargs.pop("headers", {}))
        if self.cookies:
            headers["cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        response = self.http.request(method, path, headers=headers, **kwargs)
        for line in response.headers.get_list("set-cookie"):
            name, _, rest = line.partition("=")
            value = rest.split(";")[0]
            if "max-age=0" in line.lower():
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value
        self._last = response
        return response

    @property
    def last(self) -> httpx.Response:
        """The response to the latest request (there must have been one)."""
        assert self._last is not None, "no request sent yet"
        return self._last

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self._send("GET", path, **kwargs)

    def post(self, path: str, data: dict[str, str], **kwargs: Any) -> httpx.Response:
        return self._send("POST", path, data=data, **kwargs)

    def follow(self, response: httpx.Response) -> httpx.Response:
        """Follow a 303 as a browser would."""
        assert response.status_code == 303, response.status_code
        return self.get(response.headers["location"])

    def sign_in(self, name: str = "张三", password: str = PASSWORD) -> httpx.Response:
        page = self.get("/desk/signin")
        return self.post("/desk/signin", {"csrf": csrf_in(page.text), "name": name, "password": password})

    def form(self, path: str, page: httpx.Response | str, **fields: str) -> httpx.Response:
        """Submit one of the page's forms (its CSRF token, and its nonce if it has one)."""
        text = page if isinstance(page, str) else page.text
        data = {"csrf": csrf_in(text), **fields}
        nonce = _NONCE_RE.search(text)
        if nonce and "nonce" not in fields:
            data["nonce"] = nonce.group(1)
        return self.post(path, data)


def csrf_in(page: str) -> str:
    found = _CSRF_RE.search(page)
    assert found, "the page has no form with a CSRF token"
    return html.unescape(found.group(1))


def ticket_keys(page: str) -> list[str]:
    return _KEY_RE.findall(page)


def signed_in(staff: DeskClient, name: str = "张三") -> httpx.Response:
    """Sign in; the ticket list it lands on."""
    response = staff.sign_in(name)
    assert response.status_code == 303 and response.headers["location"] == "/desk/", response.status_code
    return staff.follow(response)


# --- the resident's side: the web chat's JSON API ------------------------------------------------


def open_ticket(resident: httpx.Client, question: str = UNANSWERABLE, session: str = SESSION) -> int:
    """Ask on the web chat, press 转人工 (after 都不是 if the bot offered choices); the ticket's number."""
    message = resident.post("/api/ask", json={"session": session, "text": question}).json()["messages"][0]
    labels = {c["label"]: c["data"] for c in message["choices"]}
    if replies.HANDOFF_LABEL not in labels:
        none = resident.post("/api/tap", json={"session": session, "data": labels[replies.NONE_OF_THESE_LABEL]})
        labels = {c["label"]: c["data"] for c in none.json()["messages"][0]["choices"]}
    opened = resident.post("/api/tap", json={"session": session, "data": labels[replies.HANDOFF_LABEL]})
    found = wording(replies.TICKET_OPENED_TEXT).search(opened.json()["messages"][0]["body"])
    assert found, opened.json()
    return int(found["number"])


def inbox(resident: httpx.Client, session: str = SESSION) -> list[str]:
    """What waits for the resident's page (staff replies, notes), as the page fetches it."""
    return [m["body"] for m in resident.post("/api/inbox", json={"session": session, "after": 0}).json()["messages"]]


# --- 企业微信 group robot, local ---------------------------------------------------------------


class FakeRobot:
    """A WeCom group robot's webhook on 127.0.0.1: records each JSON post; `fail` answers the
    next posts with an error (an HTTP status, or WeCom's errcode in a 200)."""

    def __init__(self) -> None:
        self.posts: list[dict[str, Any]] = []
        self.paths: list[str] = []
        self.failures: list[int] = []  # HTTP status, or 0 for {"errcode": 45009}
        self.received = threading.Condition()
        robot = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                with robot.received:
                    failure = robot.failures.pop(0) if robot.failures else None
                    if failure is None:
                        robot.posts.append(json.loads(body))
                        robot.paths.append(self.path)
                    robot.received.notify_all()
                if failure:
                    self.send_response(failure)
                    self.end_headers()
                    return
                answer = {"errcode": 45009, "errmsg": "api freq out of limit"} if failure == 0 else {"errcode": 0}
                data = json.dumps(answer).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:  # quiet
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, name="fake-wecom", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/cgi-bin/webhook/send?key=test-robot-key-0123456789"

    def wait_for(self, count: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        with self.received:
            assert self.received.wait_for(lambda: len(self.posts) >= count, timeout), f"{len(self.posts)} posts"
            return list(self.posts)

    def __enter__(self) -> FakeRobot:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
