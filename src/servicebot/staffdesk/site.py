"""The staff desk's web server: sign-in, the open tickets, replies, and the staff tools.

A second desk beside the Telegram staff group, for an office where Telegram is blocked: it
reads the tickets from the same store and acts through the hand-off desk's public API
(`Desk.reply`, `resolve`, `mark_faq`), so a reply reaches the resident exactly as one from
the staff group does, and both desks always show the same state. What happens at one is told
to the other: a reply or 已解决 here posts the usual ✅ / ☑️ line under the ticket's card in
the staff group (when there is one).

It is served by a server of its own (`desk_listen:desk_port`), never on the residents' port,
so the office can keep it on its own network; every path is under `/desk`. Pages redraw
their changing parts by short polling (`/desk/api/version`, see `static/desk.js`).

A form addresses a ticket by its `TicketId` (`ticket_key`: its number and its random key, as
the staff group's cards show them), not by its number alone: after the database was restored
or reset, an old page's form cannot reach the new ticket that happens to have the same number.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import secrets
import time
from collections.abc import Awaitable, Callable

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from servicebot.channels import Core
from servicebot.conversation.ticket_view import Notice
from servicebot.conversation.tickets import Desk
from servicebot.logs import LogThrottle
from servicebot.records import TICKET_KEY_RE, Channel, TicketId
from servicebot.staffdesk import pages, tools
from servicebot.staffdesk.accounts import Accounts, Session
from servicebot.staffdesk.guard import (
    SESSION_COOKIE,
    SIGNIN_COOKIE,
    SIGNIN_COOKIE_AGE,
    FormTooLarge,
    SignInGate,
    clear_cookie,
    desk_middleware,
    is_secure_context,
    read_form,
    same_token,
    set_cookie,
)
from servicebot.staffdesk.pages import DONE, PREFIX, TicketView, viewer_of
from servicebot.storage.tickets import TicketRow

log = logging.getLogger(__name__)

_KEY_RE = re.compile(r"([0-9]{1,12})-(" + TICKET_KEY_RE.pattern + ")")
_NONCE_RE = re.compile(r"[0-9a-f]{32}")
NOTICE_DONE = {Notice.SENT: "sent", Notice.KEPT: "kept", Notice.RETRYING: "retrying", Notice.GONE: "gone"}

Handler = Callable[[Request, Session], Awaitable[Response]]


def ticket_key(row: TicketRow) -> str:
    """How the desk's links and forms name a ticket: its `TicketId`, number and random key, as
    the staff group's cards do, so a number reused after a reset (a deleted log, a restored
    backup) names nothing."""
    return f"{row.number}-{row.key}"


def ticket_of(key: str) -> TicketId | None:
    """The ticket a link or form of the desk names (`ticket_key`); None: not one of its names."""
    found = _KEY_RE.fullmatch(key)
    return TicketId(int(found.group(1)), found.group(2)) if found else None


class DeskSite:
    """The staff desk of one process: its app, and `start`/`stop` beside the channels."""

    def __init__(self, core: Core, *, accounts: Accounts | None = None, gate: SignInGate | None = None):
        if core.desk is None:
            raise ValueError("the staff desk needs the hand-off desk (settings.handoff)")
        self.core = core
        self.desk: Desk = core.desk
        self.accounts = accounts or Accounts(core.db)  # the process's one connection to the log's file
        self.gate = gate or SignInGate()
        self.tools = tools.Tools(core)
        self.rejections = LogThrottle(log)
        self.owns_worker = not core.settings.telegram_staff  # else Telegram runs it, with the staff group as room
        self.app = Starlette(routes=self.routes(), middleware=[desk_middleware()])

    def routes(self) -> list[BaseRoute]:
        return [
            Route(PREFIX, lambda request: RedirectResponse(f"{PREFIX}/", 303), methods=["GET"]),
            Route(f"{PREFIX}/", self.page(self.tickets), methods=["GET"]),
            Route(f"{PREFIX}/signin", self.signin_page, methods=["GET"]),
            Route(f"{PREFIX}/signin", self.signin, methods=["POST"]),
            Route(f"{PREFIX}/signout", self.action(self.signout), methods=["POST"]),
            Route(f"{PREFIX}/api/version", self.version, methods=["GET"]),
            Route(f"{PREFIX}/healthz", self.healthz, methods=["GET"]),
            Route(f"{PREFIX}/t/{{key}}", self.page(self.ticket), methods=["GET"]),
            Route(f"{PREFIX}/t/{{key}}/reply", self.action(self.reply), methods=["POST"]),
            Route(f"{PREFIX}/t/{{key}}/resolve", self.action(self.resolve), methods=["POST"]),
            Route(f"{PREFIX}/t/{{key}}/faq", self.action(self.mark_faq), methods=["POST"]),
            Route(f"{PREFIX}/tools/review", self.page(self.tools.review), methods=["GET"]),
            Route(f"{PREFIX}/tools/stats", self.page(self.tools.stats), methods=["GET"]),
            Route(f"{PREFIX}/tools/faq", self.page(self.tools.faq), methods=["GET"]),
            Route(f"{PREFIX}/tools/reload", self.action(self.tools.reload), methods=["POST"]),
            Mount(f"{PREFIX}/static", StaticFiles(packages=[("servicebot.staffdesk", "static")]), name="desk-static"),
        ]

    async def start(self) -> None:
        self.core.reload_listeners.append(self.tools.on_reload)
        if self.owns_worker:
            await self.desk.start(None)
        settings = self.core.settings
        log.info("staff desk: http://%s:%s%s/", settings.desk_listen, settings.desk_port, PREFIX)

    async def stop(self) -> None:
        if self.owns_worker:
            await self.desk.stop()
        await asyncio.to_thread(self.accounts.close)

    # -- who is asking -----------------------------------------------------------------------

    async def session(self, request: Request) -> Session | None:
        cookie = request.cookies.get(SESSION_COOKIE, "")
        return await asyncio.to_thread(self.accounts.session, cookie) if cookie else None

    def page(self, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        """A page for signed-in staff; anyone else is sent to sign in."""

        async def guarded(request: Request) -> Response:
            session = await self.session(request)
            if session is None:
                return _to_signin(request)
            return await handler(request, session)

        return guarded

    def action(self, handler: Callable[[Request, Session, dict[str, str]], Awaitable[Response]]):
        """A form post of signed-in staff, with the session's CSRF token, else refused."""

        async def guarded(request: Request) -> Response:
            session = await self.session(request)
            if session is None:
                return _to_signin(request)
            try:
                form = await read_form(request)
            except FormTooLarge:
                return PlainTextResponse("表单太大。", status_code=413)
            if not same_token(form.get("csrf"), session.csrf):
                path = request.url.path
                self.rejections.warning("csrf", "staff desk: refused a form without its CSRF token (%s)", path)
                return self.refused(session)
            return await handler(request, session, form)

        return guarded

    def refused(self, session: Session | None) -> Response:
        viewer = viewer_of(session) if session else None
        page = pages.message_page("没有执行", pages.FORM_EXPIRED, viewer, link=f"{PREFIX}/")
        return HTMLResponse(page, status_code=403)

    # -- signing in and out --------------------------------------------------------------------

    async def signin_page(self, request: Request) -> Response:
        if await self.session(request) is not None:
            return RedirectResponse(f"{PREFIX}/", 303)  # signed in already
        message = {"bye": pages.SIGNIN_BYE, "expired": pages.SIGNIN_EXPIRED}.get(request.query_params.get("m", ""), "")
        return self._signin_form(request, message=message)

    def _signin_form(self, request: Request, *, message: str = "", error: bool = False, name: str = "", status=200):
        token = secrets.token_urlsafe(32)
        page = pages.signin_page(
            token, message=message, error=error, name=name, insecure=not is_secure_context(request)
        )
        response = HTMLResponse(page, status_code=status)
        set_cookie(response, SIGNIN_COOKIE, token, max_age=SIGNIN_COOKIE_AGE)
        return response

    async def signin(self, request: Request) -> Response:
        try:
            form = await read_form(request)
        except FormTooLarge:
            return PlainTextResponse("表单太大。", status_code=413)
        if not same_token(form.get("csrf"), request.cookies.get(SIGNIN_COOKIE, "")):
            self.rejections.warning("signin-csrf", "staff desk: refused a sign-in form without its CSRF token")
            return self._signin_form(request, message=pages.FORM_EXPIRED, error=True, status=403)
        name, password = form.get("name", "").strip(), form.get("password", "")
        address = request.client.host if request.client else "unknown"
        wait = self.gate.wait(name, address)
        if wait > 0:
            self.rejections.warning(
                f"locked:{address}", "staff desk: sign-in refused from %s: too many failed attempts", address
            )
            minutes = max(1, round(wait / 60))
            return self._signin_form(
                request, message=pages.SIGNIN_LOCKED.format(minutes=minutes), error=True, name=name, status=429
            )
        account = await asyncio.to_thread(self.accounts.verify, name, password)
        if account is None:
            failures = self.gate.failed(name, address)
            known = await asyncio.to_thread(self.accounts.store.account, name) if len(name) <= 20 else None
            who = f"staff account {known.name!r}" if known else "an unknown account"
            log.warning("staff desk: failed sign-in for %s from %s (%d in a row)", who, address, failures)
            return self._signin_form(request, message=pages.SIGNIN_WRONG, error=True, name=name, status=401)
        self.gate.succeeded(name)
        previous = await self.session(request)
        if previous is not None:  # signing in again: the session before is over (no fixation, no leftovers)
            await asyncio.to_thread(self.accounts.end_session, previous)
        cookie, _ = await asyncio.to_thread(self.accounts.open_session, account)
        log.info("staff desk: %s signed in from %s", account.name, address)
        response = RedirectResponse(f"{PREFIX}/", 303)
        set_cookie(response, SESSION_COOKIE, cookie)
        clear_cookie(response, SIGNIN_COOKIE)
        return response

    async def signout(self, request: Request, session: Session, form: dict[str, str]) -> Response:
        await asyncio.to_thread(self.accounts.end_session, session)
        log.info("staff desk: %s signed out", session.name)
        response = RedirectResponse(f"{PREFIX}/signin?m=bye", 303)
        clear_cookie(response, SESSION_COOKIE)
        return response

    # -- tickets -------------------------------------------------------------------------------

    async def version(self, request: Request) -> Response:
        """What the tickets look like now, as a short string; signed-out pages are told so.
        Asked every few seconds by every open page: the session and the tickets are read in
        one trip to a worker thread."""
        cookie = request.cookies.get(SESSION_COOKIE, "")

        def read() -> str | None:
            return self._version() if cookie and self.accounts.session(cookie) is not None else None

        version = await asyncio.to_thread(read)
        if version is None:
            return JSONResponse({"signed_out": True}, status_code=401)
        return JSONResponse({"version": version})

    async def current_version(self) -> str:
        return await asyncio.to_thread(self._version)

    def _version(self) -> str:
        fingerprint = self.desk.store.fingerprint()
        minute = int(time.time() // 60)  # ages ("5 分钟前") move on too
        return hashlib.sha256(repr((fingerprint, minute)).encode()).hexdigest()[:16]

    async def healthz(self, request: Request) -> Response:
        ready = self.core.ready
        return PlainTextResponse("ok" if ready else "starting", status_code=200 if ready else 503)

    def view(self, row: TicketRow) -> TicketView:
        card = self.desk.card(row)
        entry = self.core.service.snapshot.faq.by_id.get(row.bot_said.entry_id or "")
        return TicketView(ticket_key(row), row, card, entry.answer if entry else "", self.core.settings.telegram_staff)

    async def tickets(self, request: Request, session: Session) -> Response:
        rows = await self.desk.listing(open_only=True)
        views = [self.view(row) for row in reversed(rows)][: pages.LISTED]  # oldest first
        version = await self.current_version()
        page = pages.tickets_page(views, viewer_of(session), self.desk.clock(), version=version, total=len(rows))
        return HTMLResponse(page)

    async def find(self, key: str) -> TicketRow | None:
        ticket = ticket_of(key)
        return None if ticket is None else await asyncio.to_thread(self.desk.store.find, ticket)

    async def ticket(self, request: Request, session: Session) -> Response:
        row = await self.find(request.path_params["key"])
        if row is None:
            return self.not_found(session)
        message = DONE.get(request.query_params.get("done", ""), "")
        return await self.ticket_response(row, session, message=message)

    async def ticket_response(
        self, row: TicketRow, session: Session, *, message: str = "", draft: str = "", status: int = 200
    ) -> Response:
        messages = await asyncio.to_thread(self.desk.store.messages, row.id)
        page = pages.ticket_page(
            self.view(row),
            messages,
            viewer_of(session),
            self.desk.clock(),
            nonce=secrets.token_hex(16),
            version=await self.current_version(),
            message=message,
            draft=draft,
        )
        return HTMLResponse(page, status_code=status)

    def not_found(self, session: Session) -> Response:
        page = pages.message_page("找不到", pages.NOT_FOUND, viewer_of(session), link=f"{PREFIX}/")
        return HTMLResponse(page, status_code=404)

    async def reply(self, request: Request, session: Session, form: dict[str, str]) -> Response:
        key = request.path_params["key"]
        row = await self.find(key)
        if row is None:
            return self.not_found(session)
        text = form.get("text", "").replace("\r\n", "\n").strip()[:4000]
        if not text:
            return _back(key, "empty")
        nonce = form.get("nonce", "")
        if not _NONCE_RE.fullmatch(nonce):
            nonce = secrets.token_hex(16)
        relayed = await self.desk.reply(row.id, source=f"desk:{session.name}:{nonce}", text=text, name=session.name)
        if relayed.notice is None:
            return _back(key, "again")  # the same form sent twice: relayed once
        if relayed.notice == Notice.UNKNOWN:  # the log was deleted or restored meanwhile
            return self.not_found(session)
        if relayed.notice == Notice.CLOSED:
            fresh = await asyncio.to_thread(self.desk.store.find, row.id) or row
            return await self.ticket_response(fresh, session, message=DONE["closed"], draft=text, status=409)
        log.info("staff desk: %s replied to ticket #%d (%s)", session.name, row.number, relayed.notice)
        self._tell_room(row, relayed.notice, session.name, relayed.channel)
        return _back(key, NOTICE_DONE.get(relayed.notice, "sent"))

    async def resolve(self, request: Request, session: Session, form: dict[str, str]) -> Response:
        key = request.path_params["key"]
        row = await self.find(key)
        if row is None:
            return self.not_found(session)
        resolved = await self.desk.resolve(row.id, session.name)
        if resolved is None:  # the log was deleted or restored meanwhile
            return self.not_found(session)
        if resolved:
            self._tell_room(row, Notice.RESOLVED, session.name, None)
        return _back(key, "resolved" if resolved else "already")

    async def mark_faq(self, request: Request, session: Session, form: dict[str, str]) -> Response:
        key = request.path_params["key"]
        row = await self.find(key)
        if row is None:
            return self.not_found(session)
        author = await self.desk.mark_faq(row.id)
        return _back(key, "faq-none" if author is None else "faq")

    def _tell_room(self, row: TicketRow, notice: Notice, name: str, channel: Channel | None) -> None:
        """The staff group hears what was done here, under the ticket's card (no group: nothing)."""
        note = self.desk.tell_staff(row.number, notice, reply_to=row.room_message, name=name, channel=channel)
        self.desk.later(note)


def _back(key: str, done: str) -> Response:
    """Post/redirect/get: back to the ticket, with what happened."""
    return RedirectResponse(f"{PREFIX}/t/{key}?done={done}", 303)


def _to_signin(request: Request) -> Response:
    if request.method == "GET" and request.url.path != f"{PREFIX}/":
        return RedirectResponse(f"{PREFIX}/signin?m=expired", 303)
    return RedirectResponse(f"{PREFIX}/signin", 303)


__all__ = ["DeskSite", "ticket_key", "ticket_of"]
