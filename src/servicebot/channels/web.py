"""The web chat: a page residents open in any browser (WeChat's included), and its JSON API.

Telegram is blocked in mainland China; a web page from the office's site, a QR code or a
WeChat menu link is not. This adapter serves the page (plain HTML, CSS and a small script
shipped in `static/`, nothing from other hosts) and a small JSON API, and hands every
question and button press to the same `Conversation` as Telegram.

API (all JSON, `POST` bodies at most `MAX_BODY` bytes, `Content-Type: application/json`):

- `GET  /api/welcome` → the greeting with the topic menu.
- `POST /api/ask  {"session", "text"}` → the answer.
- `POST /api/tap  {"session", "data"}` → a button pressed (a question, a topic, 👍/👎...).
- `POST /api/inbox {"session", "after"}` → messages delivered later (a staff reply after
  转人工), with ids; `after` is the last id the page has seen, which also acknowledges it.

Answers are `{"messages": [message...], "ack": text}`; errors `{"error": code, "message":
text}` with 400 (not JSON, missing or wrong fields), 413 (body or text too long), 415 (not
JSON content), 422 (a button that does not exist, or no longer), 429 (too many questions
from one session or one address; `/api/inbox` has its own, larger allowance). The `session`
is a random id the page keeps in the browser (32 hex digits); like a Telegram id it is only
ever hashed. A 👍/👎 button's data carries a keyed hash binding it to the session it was
shown to (`vote_tag`): a made-up reference, or another session's, rates nothing (422).

Late messages wait in the durable outbox (`storage.outbox`, in the log's SQLite file) until
the page fetches them: a staff reply reaches a resident whose page was closed, or whose bot
restarted meanwhile, the next time they open the page.

The security headers on every response, and the refusal of cross-origin API calls unless the
origin is configured (`web_origins`), are the whole web server's: `channels.http_shared`.
"""

from __future__ import annotations

import asyncio
import functools
import hmac
import html
import json
import logging
import re
from collections.abc import Callable, Sequence
from importlib import resources as package_files
from typing import Any
from urllib.parse import urlparse

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from servicebot.answering import replies
from servicebot.channels import Core
from servicebot.channels.http_shared import BodyTooLarge, read_body
from servicebot.conversation.chat import Conversation
from servicebot.conversation.delivery import Delivered
from servicebot.conversation.events import Press, Refusal, Resident, Said, Text
from servicebot.conversation.throttle import ALLOW, FloodGate
from servicebot.logs import LogThrottle
from servicebot.records import ButtonKind, Channel
from servicebot.storage.outbox import Outbox

log = logging.getLogger(__name__)

MAX_BODY = 32 * 1024  # bytes of a JSON request: a 4096-character question, even \u-escaped
MAX_REQUEST_CHARS = (
    4096  # characters of a question the web API accepts, as Telegram does (MAX_INPUT_CHARS of it are read)
)
# /api/inbox requests per session per window: the page asks every 5 s while it is shown, and
# again when it is shown after being hidden; an address may send as many for as many residents
# as its questions allowance assumes (web_address_messages / flood_messages).
INBOX_POLLS = 30
INBOX_WINDOW = 60.0
VOTE_PREFIX = "f:"  # a 👍/👎 button's data (conversation.buttons.encode_button)
VOTE_TAG_DIGITS = 10
SESSION_RE = re.compile(r"[0-9a-f]{32}")
STATIC = "static"


class BadRequest(Exception):
    """A request the API refuses; carries the status, a code and the resident-facing text."""

    def __init__(self, status: int, code: str, message: str = ""):
        super().__init__(code)
        self.status, self.code, self.message = status, code, message


# --- rendering ------------------------------------------------------------------------------


def message_json(said: Said, vote_tag: Callable[[str], str]) -> dict[str, Any] | None:
    """A reply as the page draws it: title, body, links, choice buttons, 👍/👎, source line.
    A choice carries its `kind` (`topic`, `entry`, …): the page lays a menu of topics out as a
    grid, so it fits a phone's screen. A 👍/👎 button's data ends with `vote_tag(ref)`, which
    binds it to the session it is shown to."""
    reply = said.reply
    if reply is None:
        return None
    links, choices, feedback = [], [], []
    for button in reply.buttons:
        data = said.button_data(button)
        if button.kind == ButtonKind.URL:
            if urlparse(button.value).scheme in ("http", "https"):
                links.append({"label": button.label, "url": button.value})
        elif data is None:
            continue  # 👍/👎 with nothing to rate
        elif button.kind == ButtonKind.FEEDBACK:
            feedback.append({"label": button.label, "data": f"{data}:{vote_tag(said.ref)}"})
        else:
            choices.append({"label": button.label, "data": data, "kind": str(button.kind)})
    return {
        "notice": said.notice,
        "title": reply.title,
        "body": reply.body,
        "footer": reply.footer,
        "links": links,
        "choices": choices,
        "feedback": feedback,
        "status": str(said.status or ""),
    }


def said_json(said: Said, vote_tag: Callable[[str], str]) -> dict[str, Any]:
    message = message_json(said, vote_tag)
    return {"messages": [message] if message else [], "ack": said.ack}


def _error(status: int, code: str, message: str = "") -> JSONResponse:
    return JSONResponse({"error": code, "message": message}, status_code=status, headers={"Cache-Control": "no-store"})


# --- the channel ------------------------------------------------------------------------------


class WebChannel:
    """The web chat page and its API, on the bot's web server."""

    name = Channel.WEB

    def __init__(self, core: Core):
        settings = core.settings
        self.core = core
        self.conversation = Conversation(
            core.service, gate=FloodGate(settings.flood_messages, settings.flood_window), desk=core.desk
        )
        self.addresses = FloodGate(settings.web_address_messages, settings.flood_window)
        # /api/inbox has gates of its own: the page asks it every few seconds, which must not
        # use up the questions a session or an address may send.
        self.inbox_sessions = FloodGate(INBOX_POLLS, INBOX_WINDOW)
        residents_per_address = max(1, settings.web_address_messages // settings.flood_messages)
        self.inbox_addresses = FloodGate(INBOX_POLLS * residents_per_address, INBOX_WINDOW)
        self.outbox = Outbox(core.db, keep_days=settings.ticket_days)
        self.rejections = LogThrottle(log)
        self._page = _asset("index.html")
        core.delivery.register(self.name, self)

    def routes(self) -> Sequence[BaseRoute]:
        return [
            Route("/", self.page, methods=["GET"]),
            Route("/privacy", self.privacy, methods=["GET"]),
            Route("/api/welcome", self.welcome, methods=["GET"]),
            Route("/api/ask", self.ask, methods=["POST"]),
            Route("/api/tap", self.tap, methods=["POST"]),
            Route("/api/inbox", self.inbox, methods=["POST"]),
            Mount("/static", StaticFiles(packages=[("servicebot.channels", STATIC)]), name="static"),
        ]

    async def start(self) -> None:
        settings = self.core.settings
        log.info("web chat: http://%s:%s/", settings.web_listen, settings.web_port)

    async def stop(self) -> None:
        await asyncio.to_thread(self.outbox.close)

    async def deliver(self, resident: Resident, said: Said) -> Delivered:
        """Into the resident's outbox, where the page picks it up (KEPT), durably; a message
        with a reference (a staff reply) once, however often it is delivered."""
        message = message_json(said, functools.partial(self.vote_tag, str(resident.id))) or {"body": said.ack}
        key = self.conversation.key(resident)
        await asyncio.to_thread(functools.partial(self.outbox.put, once=said.ref or None), self.name, key, message)
        return Delivered.KEPT

    # -- pages -----------------------------------------------------------------------------

    async def page(self, request: Request) -> Response:
        return HTMLResponse(self._page, headers={"Cache-Control": "no-cache"})

    async def privacy(self, request: Request) -> Response:
        settings = self.core.settings
        text = replies.privacy_text(settings.retention_days, settings.ticket_days if self.core.desk else None)
        paragraphs = "".join(f"<p>{html.escape(line)}</p>" for line in text.split("\n") if line.strip())
        paragraphs += f"<p>{html.escape(replies.WEB_PRIVACY_TEXT)}</p>"
        page = _asset("privacy.html").replace("<!--TEXT-->", paragraphs)
        return HTMLResponse(page, headers={"Cache-Control": "no-cache"})

    # -- API -------------------------------------------------------------------------------

    async def welcome(self, request: Request) -> Response:
        greeting = said_json(self.conversation.greeting(), lambda ref: "")  # no 👍/👎 in a greeting
        return JSONResponse(greeting, headers={"Cache-Control": "no-store"})

    async def ask(self, request: Request) -> Response:
        return await self._answer(request, "text")

    async def tap(self, request: Request) -> Response:
        return await self._answer(request, "data")

    async def inbox(self, request: Request) -> Response:
        try:
            doc = await self._json(request)
            resident = self._resident(doc)
            after = doc.get("after", 0)
            if not isinstance(after, int) or isinstance(after, bool) or after < 0:
                raise BadRequest(400, "bad_after")
            if self.inbox_sessions.check(self.conversation.key(resident)) != ALLOW:
                raise BadRequest(429, "slow_down", replies.SLOW_DOWN_TEXT)
            self._check_address(request, self.inbox_addresses)
        except BadRequest as exc:
            return self._refuse(request, exc)
        messages = await asyncio.to_thread(self.outbox.after, self.name, self.conversation.key(resident), after)
        return JSONResponse({"messages": messages}, headers={"Cache-Control": "no-store"})

    async def _answer(self, request: Request, field: str) -> Response:
        try:
            doc = await self._json(request)
            resident = self._resident(doc)
            value = doc.get(field)
            if not isinstance(value, str):
                raise BadRequest(400, f"bad_{field}")
            if field == "text" and len(value) > MAX_REQUEST_CHARS:
                raise BadRequest(413, "text_too_long", replies.WEB_TOO_LONG_TEXT)
            if field == "data" and value.startswith(VOTE_PREFIX):
                value = self._vote(resident, value)
            self._check_address(request, self.addresses)
        except BadRequest as exc:
            return self._refuse(request, exc)
        event = Text(value) if field == "text" else Press(value)
        said = await self.conversation.handle(resident, event)
        if said.refused in (Refusal.SLOW_DOWN, Refusal.DROPPED):
            return self._refuse(request, BadRequest(429, "slow_down", replies.SLOW_DOWN_TEXT))
        if said.refused == Refusal.STALE:
            return self._refuse(request, BadRequest(422, "unknown_button", said.ack))
        vote_tag = functools.partial(self.vote_tag, str(resident.id))
        return JSONResponse(said_json(said, vote_tag), headers={"Cache-Control": "no-store"})

    async def _json(self, request: Request) -> dict[str, Any]:
        kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if kind != "application/json":
            raise BadRequest(415, "not_json")
        try:
            body = await read_body(request, MAX_BODY)
        except BodyTooLarge:
            raise BadRequest(413, "too_large", replies.WEB_TOO_LONG_TEXT) from None
        try:
            doc = json.loads(body)
        except (ValueError, RecursionError):  # also UnicodeDecodeError; RecursionError: [[[[… nested too deep
            raise BadRequest(400, "bad_json") from None
        if not isinstance(doc, dict):
            raise BadRequest(400, "bad_json")
        return doc

    def _resident(self, doc: dict[str, Any]) -> Resident:
        session = doc.get("session")
        if not isinstance(session, str) or SESSION_RE.fullmatch(session) is None:
            raise BadRequest(400, "bad_session")
        return Resident(Channel.WEB, session)

    def vote_tag(self, session: str, ref: str) -> str:
        """What a 👍/👎 button's data ends with: a keyed hash of the session and the reference,
        so that only the session an answer was shown to can rate it, however the page is
        rebuilt, also after a restart of the bot, and a made-up reference rates nothing."""
        return (self.core.service.resident_key(f"vote:{session}:{ref}") or "")[:VOTE_TAG_DIGITS]

    def _vote(self, resident: Resident, data: str) -> str:
        """The 👍/👎 data for the conversation, once its tag is checked; 422 if it does not fit."""
        button, _, tag = data.rpartition(":")
        ref = button.rpartition(":")[2]
        expected = self.vote_tag(str(resident.id), ref)
        if not ref or not hmac.compare_digest(tag.encode(), expected.encode()):
            raise BadRequest(422, "unknown_button", replies.STALE_BUTTON_TEXT)
        return button

    def _check_address(self, request: Request, gate: FloodGate) -> None:
        address = request.client.host if request.client else "unknown"
        forwarded = request.headers.get("x-forwarded-for")
        if forwarded and address not in (part.strip() for part in forwarded.split(",")):
            self.rejections.warning(
                "forwarded",
                "web: a request carries X-Forwarded-For, but comes from an address not in web_trusted_proxies: "
                "flood control counts the proxy's address for everyone behind it (list the proxy there)",
            )
        key = self.core.service.resident_key(f"address:{address}") or ""
        if gate.check(key) != ALLOW:
            raise BadRequest(429, "slow_down", replies.SLOW_DOWN_TEXT)

    def _refuse(self, request: Request, exc: BadRequest) -> JSONResponse:
        self.rejections.warning(
            exc.code, "web: refused %s %s with %d (%s)", request.method, request.url.path, exc.status, exc.code
        )
        return _error(exc.status, exc.code, exc.message)


def _asset(name: str) -> str:
    return (package_files.files("servicebot.channels") / STATIC / name).read_text(encoding="utf-8")


__all__ = ["MAX_BODY", "MAX_REQUEST_CHARS", "WebChannel", "message_json"]
