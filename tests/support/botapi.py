"""A local fake Telegram Bot API server for end-to-end tests (python-telegram-bot 22.x).

The bot under test talks to it over real HTTP on 127.0.0.1::

    async with FakeBotApi() as api:
        app = ApplicationBuilder().token(TOKEN).base_url(api.base_url).build()
        ...
        api.mark()
        api.user_message("低保怎么申请", user_id=42)
        reply = await api.wait_for_reply(42)
        assert "低保" in reply.params["text"]

Wire format (checked against PTB 22.8 ``HTTPXRequest.do_request``): every method is
``POST /bot<token>/<method>`` with an ``application/x-www-form-urlencoded`` body.  String
values are sent raw, everything else (ints, bools, lists, ``reply_markup`` ...) as JSON text,
so ``chat_id=42`` arrives as ``"42"`` and ``reply_markup`` as a JSON string.  This server
decodes them back (free-text fields such as ``text`` are never JSON-decoded, so a message
"123" stays a string).  ``application/json`` bodies and query strings are accepted too.

Everything runs on the test's event loop; call the injection helpers from that loop (they are
plain synchronous methods).  Waiting is event driven (``asyncio.Event``), never sleep-polling.
The injection helpers (``user_message``, ``command``, ``callback_query`` ...) and the chats and
messages they make are in tg_chats.py; Telegram's text rules (HTML ``parse_mode``, entities,
UTF-16 lengths) in tg_entities.py.

It implements the methods the bot calls (getMe, getUpdates, setWebhook, deleteWebhook,
setMyCommands, sendMessage, editMessageReplyMarkup, answerCallbackQuery, and getChat for
`servicebot health`); any other method is
answered 404 and recorded in :attr:`FakeBotApi.unknown`, which fails :meth:`FakeBotApi.assert_clean`.

Deliberately realistic behaviour the bot must cope with (real Telegram does the same):

* ``parse_mode`` ``HTML`` text is parsed (the only mode the bot uses; the fake refuses the
  others); malformed markup gives HTTP 400 "Bad Request: can't parse entities: ..." (PTB:
  ``telegram.error.BadRequest``).
* Texts longer than 4096 UTF-16 code units -> 400 "Bad Request: message is too long";
  empty text -> 400 "Bad Request: message text is empty".
* Editing a message's keyboard to the one it has -> 400 "Bad Request: message is not modified: ...".
* Editing an unknown message, answering an unknown or already answered callback query -> 400.
* Only an ``InlineKeyboardMarkup`` is echoed in the returned Message (Telegram never echoes
  reply keyboards); the recorded call always has the full ``reply_markup`` parameter.
* A second concurrent ``getUpdates`` terminates the first with 409 Conflict.
* A chat can refuse the bot (:meth:`FakeBotApi.block`): a resident who blocked it gives 403
  "Forbidden: bot was blocked by the user", a group the bot was removed from 403
  "Forbidden: bot was kicked from the supergroup chat" (PTB: ``telegram.error.Forbidden``).

All 4xx answers produced this way are recorded in :attr:`FakeBotApi.errors` (not in
:attr:`FakeBotApi.sent`), unknown methods in :attr:`FakeBotApi.unknown`, injected faults in
:attr:`FakeBotApi.faults`.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import re
import socket
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Self

from aiohttp import ClientSession, ClientTimeout, web

from .tg_chats import DEFAULT_CHANNEL_ID, DEFAULT_GROUP_ID, DEFAULT_USER_ID, Chats
from .tg_entities import FormattingError, parse_formatted, utf16_len

__all__ = [
    "BOT_ID",
    "BOT_USERNAME",
    "DEFAULT_CHANNEL_ID",
    "DEFAULT_GROUP_ID",
    "DEFAULT_USER_ID",
    "TOKEN",
    "ApiError",
    "Call",
    "FakeBotApi",
    "Fault",
    "UpdateRecord",
    "button",
    "buttons",
]

BOT_ID = 7000000001
BOT_USERNAME = "fenghuang_test_bot"
#: A syntactically valid token whose numeric prefix is :data:`BOT_ID`.
TOKEN = f"{BOT_ID}:AAFakeTokenForLocalTestsOnly_fenghuang00"

FAULT_KINDS = ("429", "502", "drop")

# Parameters that carry free text / identifiers and must never be JSON-decoded.
STRING_FIELDS = frozenset({"text", "parse_mode", "callback_query_id", "url", "secret_token", "language_code"})

INLINE_BUTTON_ACTIONS = frozenset(
    {
        "url",
        "callback_data",
        "web_app",
        "login_url",
        "switch_inline_query",
        "switch_inline_query_current_chat",
        "switch_inline_query_chosen_chat",
        "copy_text",
        "callback_game",
        "pay",
    }
)

NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)
QUERY_TOO_OLD = "Bad Request: query is too old and response timeout expired or query ID is invalid"
BAD_GATEWAY_HTML = (
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    "<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx/1.18.0</center>\r\n"
    "</body>\r\n</html>\r\n"
)


# --------------------------------------------------------------------------------------------
# Records
# --------------------------------------------------------------------------------------------


@dataclass
class Call:
    """One request the bot made.

    ``t`` is :func:`time.monotonic` when the request arrived, ``wall`` the Unix time.
    ``status`` is the HTTP status answered; ``result`` the ``result`` (2xx) or the
    ``description`` (errors).
    """

    method: str
    params: dict[str, Any]
    t: float
    wall: float
    status: int = 200
    result: Any = None
    index: int = -1

    @property
    def chat_id(self) -> Any:
        return self.params.get("chat_id")

    @property
    def text(self) -> str:
        """The text the call carried ("" for one that carried none, e.g. editMessageReplyMarkup)."""
        return self.params.get("text", "")

    def __repr__(self) -> str:  # compact, used in assertion messages
        params = {k: v for k, v in self.params.items() if k != "reply_markup"}
        if "reply_markup" in self.params:
            params["reply_markup"] = "..."
        return f"<{self.method} {self.status} {params!r}>"


# What the waits take to pick calls: any truthy result matches (a `re.Match` will do), or a method name.
Predicate = Callable[[Call], object] | str


def buttons(call: Call) -> list[dict]:
    """The inline keyboard's buttons a call (sendMessage, editMessageReplyMarkup) carried, in order."""
    markup = call.params.get("reply_markup") or {}
    return [b for row in markup.get("inline_keyboard", []) for b in row]


def button(call: Call, label_part: str) -> dict:
    """The first of the call's buttons whose label contains `label_part`."""
    return next(b for b in buttons(call) if label_part in b["text"])


@dataclass
class Fault:
    """An injected fault that was actually triggered by a request."""

    method: str
    kind: str
    params: dict[str, Any]
    t: float


@dataclass
class UpdateRecord:
    """An injected update.  ``handed_out_at`` is the monotonic time it was first returned by
    ``getUpdates`` (or successfully POSTed to the webhook); ``confirmed_at`` when the bot
    confirmed it with a higher ``offset``."""

    update_id: int
    update: dict[str, Any]
    injected_at: float
    handed_out_at: float | None = None
    confirmed_at: float | None = None
    delivery_count: int = 0


class ApiError(Exception):
    """Raised inside method handlers to produce a Telegram error answer."""

    def __init__(self, code: int, description: str, parameters: dict | None = None):
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters


def _decode_value(key: str, value: Any) -> Any:
    if not isinstance(value, str) or key in STRING_FIELDS:
        return value
    try:
        decoded = json.loads(value)
    except ValueError:
        return value
    if isinstance(decoded, float) and decoded != decoded:  # NaN
        return value
    return decoded


# --------------------------------------------------------------------------------------------
# The server
# --------------------------------------------------------------------------------------------


class FakeBotApi(Chats):
    """In-process fake of ``https://api.telegram.org`` for one bot.

    Args:
        token: if given, requests with any other token get 401 Unauthorized (PTB:
            ``InvalidToken``).  ``None`` (default) accepts any token.
        username / first_name / bot_id: identity returned by ``getMe``.
        host: interface to bind; always 127.0.0.1 in tests.
    """

    def __init__(
        self,
        *,
        token: str | None = None,
        username: str = BOT_USERNAME,
        first_name: str = "凤凰办事处测试机器人",
        bot_id: int = BOT_ID,
        host: str = "127.0.0.1",
    ) -> None:
        self.token = token
        self.host = host
        self.port: int | None = None
        super().__init__(
            {
                "id": bot_id,
                "is_bot": True,
                "first_name": first_name,
                "username": username,
                "can_join_groups": True,
                "can_read_all_group_messages": False,
                "supports_inline_queries": False,
                "can_connect_to_business": False,
                "has_main_web_app": False,
            }
        )
        # observation
        self.sent: list[Call] = []
        self.errors: list[Call] = []
        self.unknown: list[Call] = []
        self.faults: list[Fault] = []
        self.update_records: list[UpdateRecord] = []
        self.poll_count = 0
        self._waiting_polls = 0
        # state
        self.my_commands: dict[tuple[str, str], list[dict]] = {}
        self.webhook: dict[str, Any] | None = None
        self._pending: deque[UpdateRecord] = deque()
        self._records_by_id: dict[int, UpdateRecord] = {}
        self._update_ids = itertools.count(1)
        self._faults_pending: dict[str, deque[tuple[str, dict]]] = {}
        self._blocked: dict[Any, str] = {}
        self._held: dict[str, asyncio.Event] = {}
        self._mark = 0
        self._reply_cursor: dict[Any, int] = {}
        self._poll_generation = 0
        self._stopping = False
        self._updates_changed = asyncio.Event()
        self._sent_changed = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._webhook_task: asyncio.Task | None = None
        self._session: ClientSession | None = None
        self._handlers: dict[str, Callable[[dict], Any]] = {
            name[len("_m_") :].lower(): getattr(self, name) for name in dir(self) if name.startswith("_m_")
        }
        self._canonical = {
            name[len("_m_") :].lower(): name[len("_m_") :] for name in dir(self) if name.startswith("_m_")
        }

    # ---------------------------------------------------------------- lifecycle

    @property
    def base_url(self) -> str:
        """For ``ApplicationBuilder().base_url(...)`` / ``Bot(base_url=...)``."""
        self._require_started()
        return f"http://{self.host}:{self.port}/bot"

    def _require_started(self) -> None:
        if self.port is None:
            raise RuntimeError("FakeBotApi is not started; await api.start() first")

    async def start(self) -> Self:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._dispatch)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=0.5)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, 0))
        self.port = sock.getsockname()[1]
        site = web.SockSite(self._runner, sock)
        await site.start()
        self._stopping = False
        return self

    async def stop(self) -> None:
        self._stopping = True
        self._notify_updates()  # long polls answer [] right away
        if self._webhook_task is not None:
            self._webhook_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._webhook_task
            self._webhook_task = None
        if self._session is not None:
            await self._session.close()
            self._session = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # ---------------------------------------------------------------- notification helpers

    def _notify_updates(self) -> None:
        ev, self._updates_changed = self._updates_changed, asyncio.Event()
        ev.set()

    def _notify_sent(self) -> None:
        ev, self._sent_changed = self._sent_changed, asyncio.Event()
        ev.set()

    # ---------------------------------------------------------------- HTTP layer

    async def _read_params(self, request: web.Request) -> dict[str, Any]:
        params: dict[str, Any] = {}
        for k, v in request.query.items():
            params[k] = v
        ctype = request.content_type
        if ctype in ("application/x-www-form-urlencoded", "multipart/form-data"):
            params.update(await request.post())
        else:
            body = await request.read()
            if body.strip():
                try:
                    data = json.loads(body)
                except ValueError:
                    raise ApiError(400, "Bad Request: invalid JSON body") from None
                if not isinstance(data, dict):
                    raise ApiError(400, "Bad Request: parameters must be a JSON object")
                params.update(data)
        return {k: _decode_value(k, v) for k, v in params.items()}

    @staticmethod
    def _json(payload: dict, status: int = 200) -> web.Response:
        try:
            body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate (injected on purpose): JSON can still carry it escaped
            body = json.dumps(payload).encode("ascii")
        return web.Response(status=status, body=body, content_type="application/json")

    def _error_response(self, exc: ApiError) -> web.Response:
        payload: dict[str, Any] = {"ok": False, "error_code": exc.code, "description": exc.description}
        if exc.parameters:
            payload["parameters"] = exc.parameters
        return self._json(payload, exc.code)

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        t, wall = time.monotonic(), time.time()
        raw_method = request.match_info["method"]
        key = raw_method.lower()
        method = self._canonical.get(key, raw_method)
        try:
            params = await self._read_params(request)
        except ApiError as exc:
            self.errors.append(Call(method, {}, t, wall, exc.code, exc.description))
            return self._error_response(exc)

        if self.token is not None and request.match_info["token"] != self.token:
            unauthorized = ApiError(401, "Unauthorized")
            self.errors.append(Call(method, params, t, wall, 401, unauthorized.description))
            return self._error_response(unauthorized)

        fault = self._take_fault(key)
        if fault is not None:
            kind, opts = fault
            self.faults.append(Fault(method, kind, params, t))
            self._notify_sent()
            if kind == "429":
                retry_after = opts.get("retry_after", 1)
                return self._error_response(
                    ApiError(
                        429,
                        f"Too Many Requests: retry after {retry_after}",
                        {"retry_after": retry_after},
                    )
                )
            if kind == "502":
                return web.Response(status=502, text=BAD_GATEWAY_HTML, content_type="text/html")
            self._drop(request)  # "drop": no response at all

        held = self._held.get(key)
        if held is not None:
            await held.wait()
        handler = self._handlers.get(key)
        if handler is None:
            call = Call(method, params, t, wall, 404, "Not Found: method not found")
            call.index = len(self.unknown)
            self.unknown.append(call)
            self._notify_sent()
            return self._json(
                {"ok": False, "error_code": 404, "description": "Not Found: method not found"},
                404,
            )

        if key == "getupdates":
            try:
                result = await self._get_updates(params, request)
            except ApiError as exc:
                return self._error_response(exc)
            return self._json({"ok": True, "result": result})

        try:
            result = handler(params)
        except ApiError as exc:
            self.errors.append(Call(method, params, t, wall, exc.code, exc.description))
            self._notify_sent()
            return self._error_response(exc)
        call = Call(method, params, t, wall, 200, result, len(self.sent))
        self.sent.append(call)
        self._notify_sent()
        return self._json({"ok": True, "result": result})

    @staticmethod
    def _drop(request: web.Request) -> None:
        """Close the TCP connection without writing a response (client sees the server
        disconnect: httpx ``RemoteProtocolError`` -> PTB ``NetworkError``)."""
        transport = request.transport
        if transport is not None:
            transport.abort()
        raise asyncio.CancelledError  # aiohttp treats this as "peer gone" and writes nothing

    # ---------------------------------------------------------------- fault injection

    def fail_next(self, method: str, kind: str = "429", times: int = 1, *, retry_after: int = 1) -> None:
        """Make the next ``times`` calls of ``method`` fail.

        kind ``"429"``: HTTP 429 ``{"ok":false,"error_code":429,"description":"Too Many
        Requests: retry after N","parameters":{"retry_after":N}}``; ``"502"``: HTTP 502 with an
        nginx HTML body; ``"drop"``: the TCP connection is closed without any response.  The
        request body is read (so the fault record has the params) but the call is NOT
        processed or recorded in :attr:`sent`.
        """
        if kind not in FAULT_KINDS:
            raise ValueError(f"kind must be one of {FAULT_KINDS}, not {kind!r}")
        queue = self._faults_pending.setdefault(method.lower(), deque())
        for _ in range(times):
            queue.append((kind, {"retry_after": retry_after}))

    def _take_fault(self, key: str) -> tuple[str, dict] | None:
        queue = self._faults_pending.get(key)
        if queue:
            return queue.popleft()
        return None

    def disarm_faults(self, method: str | None = None) -> None:
        """Drop the armed faults not yet triggered (of ``method``, or all)."""
        if method is None:
            self._faults_pending.clear()
        else:
            self._faults_pending.pop(method.lower(), None)

    def hold(self, method: str) -> None:
        """Keep every call of ``method`` waiting (unanswered, not yet in :attr:`sent`) until
        :meth:`release`: a backlog that builds up however fast or slow the machine is."""
        self._held.setdefault(method.lower(), asyncio.Event())

    def release(self, method: str) -> None:
        """Let the held calls of ``method`` through, and the later ones straight away."""
        held = self._held.pop(method.lower(), None)
        if held is not None:
            held.set()

    def block(self, chat_id: Any, description: str | None = None) -> None:
        """Refuse every message the bot sends to ``chat_id`` (and every edit there) with 403
        until :meth:`unblock`: by default "bot was blocked by the user" for a private chat and
        "bot was kicked from the supergroup chat" for a group."""
        if description is None:
            group = isinstance(chat_id, int) and chat_id < 0
            description = "bot was kicked from the supergroup chat" if group else "bot was blocked by the user"
        self._blocked[chat_id] = f"Forbidden: {description}"

    def unblock(self, chat_id: Any) -> None:
        self._blocked.pop(chat_id, None)

    def _check_blocked(self, chat_id: Any) -> None:
        if chat_id in self._blocked:
            raise ApiError(403, self._blocked[chat_id])

    # ---------------------------------------------------------------- observation

    def calls(self, method: str | None = None, *, chat_id: Any = None) -> list[Call]:
        """Successful (2xx) calls, optionally filtered by method (case-insensitive) and chat."""
        return [
            c
            for c in self.sent
            if (method is None or c.method.lower() == method.lower()) and (chat_id is None or c.chat_id == chat_id)
        ]

    def mark(self) -> int:
        """Remember the current end of :attr:`sent`; :meth:`wait_for_reply` looks after it."""
        self._mark = len(self.sent)
        return self._mark

    @staticmethod
    def _as_predicate(predicate: Predicate) -> Callable[[Call], object]:
        if isinstance(predicate, str):
            name = predicate.lower()
            return lambda c: c.method.lower() == name
        return predicate

    def _describe(self) -> str:
        lines = [f"  sent ({len(self.sent)}):"]
        lines += [f"    [{c.index}] {c!r}" for c in self.sent[-30:]]
        if self.errors:
            lines.append(f"  errors ({len(self.errors)}):")
            lines += [f"    {c!r} -> {c.result}" for c in self.errors[-10:]]
        if self.unknown:
            lines.append(f"  unknown methods: {[c.method for c in self.unknown]}")
        if self.faults:
            lines.append(f"  faults: {[(f.method, f.kind) for f in self.faults]}")
        pending = [r.update_id for r in self._pending]
        lines.append(f"  unconfirmed updates: {pending}; getUpdates calls: {self.poll_count}")
        return "\n".join(lines)

    async def _wait_until(self, check: Callable[[], Any], timeout: float, what: str) -> Any:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            ev = self._sent_changed
            found = check()
            if found is not None:
                return found
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AssertionError(
                    f"timed out after {timeout:.1f}s waiting for {what}; recorded:\n" + self._describe()
                )
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(ev.wait(), remaining)

    async def wait_for(self, predicate: Predicate, timeout: float = 5.0, *, since: int = 0) -> Call:
        """Wait until a recorded successful call ``sent[since:]`` matches; return it.

        ``predicate`` is a function of :class:`Call` or a method name.  Raises
        ``AssertionError`` listing what was recorded on timeout.
        """
        new_matches = self._scanner(since, self._as_predicate(predicate))

        def check() -> Call | None:
            return next(iter(new_matches()), None)

        return await self._wait_until(check, timeout, f"a call matching {predicate!r}")

    def _scanner(self, since: int, pred: Callable[[Call], object]) -> Callable[[], list[Call]]:
        """Incremental matcher over :attr:`sent` (each call is tested once, so waiting for
        the 10 000th reply of a load test stays linear)."""
        pos = since

        def new_matches() -> list[Call]:
            nonlocal pos
            sent = self.sent
            if pos > len(sent):  # clear() was called meanwhile
                pos = 0
            start, pos = pos, len(sent)
            return [c for c in sent[start:] if pred(c)]

        return new_matches

    async def wait_for_count(
        self,
        predicate: Predicate,
        count: int,
        timeout: float = 5.0,
        *,
        since: int = 0,
    ) -> list[Call]:
        """Wait until ``count`` recorded calls in ``sent[since:]`` match; return them."""
        new_matches = self._scanner(since, self._as_predicate(predicate))
        found: list[Call] = []

        def check() -> list[Call] | None:
            found.extend(new_matches())
            return found if len(found) >= count else None

        return await self._wait_until(check, timeout, f"{count} calls matching {predicate!r}")

    async def wait_for_reply(
        self,
        chat_id: Any,
        timeout: float = 5.0,
        *,
        since: int | None = None,
        methods: Iterable[str] = ("sendMessage",),
    ) -> Call:
        """Next ``sendMessage`` (or other ``methods``) to ``chat_id``.

        Looks at calls after :meth:`mark` (or ``since``) *and* after the reply returned by the
        previous ``wait_for_reply`` for the same chat, so consecutive calls return consecutive
        replies.
        """
        names = {m.lower() for m in methods}
        start = max(self._mark if since is None else since, self._reply_cursor.get(chat_id, 0))

        new_matches = self._scanner(start, lambda c: c.method.lower() in names and c.chat_id == chat_id)

        def check() -> Call | None:
            return next(iter(new_matches()), None)

        call = await self._wait_until(
            check, timeout, f"a reply ({'/'.join(methods)}) to chat {chat_id!r} after index {start}"
        )
        self._reply_cursor[chat_id] = call.index + 1
        return call

    async def expect_no_call(self, predicate: Predicate, within: float = 0.3, *, since: int = 0) -> None:
        """Assert that no matching call shows up in ``sent[since:]`` within ``within`` s."""
        try:
            call = await self.wait_for(predicate, within, since=since)
        except AssertionError:
            return
        raise AssertionError(f"unexpected call {call!r}; recorded:\n{self._describe()}")

    async def wait_for_fault(self, method: str, timeout: float = 5.0) -> Fault:
        """Wait until an injected fault on ``method`` was triggered; return the first one."""

        def check() -> Fault | None:
            return next((f for f in self.faults if f.method.lower() == method.lower()), None)

        return await self._wait_until(check, timeout, f"a fault on {method}")

    async def wait_confirmed(self, update_id: int, timeout: float = 5.0) -> UpdateRecord:
        """Wait until the bot confirmed ``update_id`` (next getUpdates offset / webhook 200)."""
        record = self._records_by_id[update_id]
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while record.confirmed_at is None:
            ev = self._updates_changed
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AssertionError(f"update {update_id} not confirmed within {timeout}s:\n" + self._describe())
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(ev.wait(), remaining)
        return record

    async def wait_polling(self, timeout: float = 5.0) -> None:
        """Wait until a ``getUpdates`` long poll is parked on the server (the bot is idle and
        listening)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not self._waiting_polls:
            ev = self._updates_changed
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AssertionError(f"no getUpdates long poll within {timeout}s:\n" + self._describe())
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(ev.wait(), remaining)

    def update_record(self, update_id: int) -> UpdateRecord:
        return self._records_by_id[update_id]

    def assert_clean(self) -> None:
        """Fail if any unknown method was called or any 4xx was produced."""
        if self.unknown or self.errors:
            raise AssertionError("bot made failing calls:\n" + self._describe())

    # ---------------------------------------------------------------- update queue

    def inject(self, update: dict) -> dict:
        """Queue a raw update (``update_id`` is assigned if missing); returns it."""
        if "update_id" not in update:
            update = {"update_id": next(self._update_ids), **update}
        record = UpdateRecord(update["update_id"], update, time.monotonic())
        self.update_records.append(record)
        self._records_by_id[record.update_id] = record
        self._pending.append(record)
        self._notify_updates()
        return update

    # ---------------------------------------------------------------- getUpdates / webhook

    def _confirm(self, offset: int) -> None:
        now = time.monotonic()
        if offset < 0:
            keep = -offset
            while len(self._pending) > keep:
                self._pending.popleft().confirmed_at = now
            self._notify_updates()
            return
        while self._pending and self._pending[0].update_id < offset:
            self._pending.popleft().confirmed_at = now
        self._notify_updates()

    async def _get_updates(self, params: dict, request: web.Request) -> list[dict]:
        self.poll_count += 1
        if self.webhook is not None:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        offset = params.get("offset")
        if isinstance(offset, int) and offset != 0:
            self._confirm(offset)
        limit = params.get("limit", 100)
        limit = max(1, min(100, limit if isinstance(limit, int) else 100))
        timeout = params.get("timeout", 0)
        timeout = float(timeout) if isinstance(timeout, (int, float)) else 0.0

        # A newer getUpdates terminates an older one still waiting (as on Telegram).
        self._poll_generation += 1
        generation = self._poll_generation
        self._notify_updates()

        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            ev = self._updates_changed
            if generation != self._poll_generation:
                raise ApiError(
                    409,
                    "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running",
                )
            transport = request.transport
            if transport is None or transport.is_closing():
                return []  # client went away; do not count anything as handed out
            if self._pending:
                break
            if self._stopping:
                return []
            remaining = deadline - loop.time()
            if remaining <= 0:
                return []
            self._waiting_polls += 1
            try:
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(ev.wait(), remaining)
            finally:
                self._waiting_polls -= 1

        batch = list(itertools.islice(self._pending, limit))
        now = time.monotonic()
        for record in batch:
            record.delivery_count += 1
            if record.handed_out_at is None:
                record.handed_out_at = now
        return [r.update for r in batch]

    async def _webhook_loop(self) -> None:
        if self._session is None:
            self._session = ClientSession(timeout=ClientTimeout(total=10))
        while self.webhook is not None:
            ev = self._updates_changed
            if not self._pending:
                await ev.wait()
                continue
            hook = self.webhook
            record = self._pending[0]
            headers = {}
            if hook.get("secret_token"):
                headers["X-Telegram-Bot-Api-Secret-Token"] = hook["secret_token"]
            status: int | str
            try:
                async with self._session.post(hook["url"], json=record.update, headers=headers) as resp:
                    status = resp.status
            except Exception as exc:  # connection refused etc.
                status = type(exc).__name__
            now = time.monotonic()
            record.delivery_count += 1
            if isinstance(status, int) and 200 <= status < 300:
                if record.handed_out_at is None:
                    record.handed_out_at = now
                record.confirmed_at = now
                if self._pending and self._pending[0] is record:
                    self._pending.popleft()
                self._notify_updates()
            else:
                hook["last_error_date"] = int(time.time())
                hook["last_error_message"] = f"Wrong response from the webhook: {status}"
                await asyncio.sleep(0.2)  # retry back-off, like Telegram's redelivery

    # ---------------------------------------------------------------- Bot API methods

    @staticmethod
    def _required(params: dict, name: str) -> Any:
        value = params.get(name)
        if value is None or value == "":
            raise ApiError(400, f"Bad Request: {name} is empty")
        return value

    def _m_getMe(self, params: dict) -> dict:
        return dict(self.bot_user)

    def _m_getChat(self, params: dict) -> dict:
        """The chat as Telegram's ChatFullInfo (its required fields); 403 for a chat that
        :meth:`block` made unreachable, as for a group the bot was removed from."""
        chat_id = self._required(params, "chat_id")
        self._check_blocked(chat_id)
        return {**self._chat_for(chat_id), "accent_color_id": 0, "max_reaction_count": 11}

    def _m_getUpdates(self, params: dict) -> list:  # handled in _dispatch (async)
        raise AssertionError("unreachable")

    def _m_setWebhook(self, params: dict) -> bool:
        url = params.get("url") or ""
        if not url:
            return self._m_deleteWebhook(params)
        if params.get("drop_pending_updates"):
            self._confirm(10**12)
        self.webhook = {
            "url": url,
            "secret_token": params.get("secret_token"),
            "max_connections": params.get("max_connections", 40),
            "allowed_updates": params.get("allowed_updates"),
        }
        if self._webhook_task is None or self._webhook_task.done():
            self._webhook_task = asyncio.get_running_loop().create_task(self._webhook_loop())
        self._notify_updates()
        return True

    def _m_deleteWebhook(self, params: dict) -> bool:
        self.webhook = None
        if params.get("drop_pending_updates"):
            self._confirm(10**12)
        self._notify_updates()  # lets the webhook loop exit
        return True

    @staticmethod
    def _commands_key(params: dict) -> tuple[str, str]:
        scope = params.get("scope") or {"type": "default"}
        return json.dumps(scope, sort_keys=True), params.get("language_code") or ""

    def _m_setMyCommands(self, params: dict) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise ApiError(400, "Bad Request: can't parse commands JSON object")
        if len(commands) > 100:
            raise ApiError(400, "Bad Request: too many commands")
        for c in commands:
            if not isinstance(c, dict) or not re.fullmatch(r"[a-z0-9_]{1,32}", str(c.get("command", ""))):
                raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            if not 1 <= len(str(c.get("description", ""))) <= 256:
                raise ApiError(400, "Bad Request: command description is empty or too long")
        self.my_commands[self._commands_key(params)] = [
            {"command": c["command"], "description": c["description"]} for c in commands
        ]
        return True

    def commands(self, scope: dict | None = None, language_code: str = "") -> list[dict]:
        """The bot's command list as last set for ``scope``/``language_code``."""
        return list(self.my_commands.get(self._commands_key({"scope": scope, "language_code": language_code}), []))

    def _text_and_entities(self, params: dict) -> tuple[str, list]:
        text = params.get("text")
        if text is None or (isinstance(text, str) and not text.strip()):
            raise ApiError(400, "Bad Request: message text is empty")
        text = str(text)
        if isinstance(params.get("entities"), list):
            plain, entities = text, params["entities"]
        else:
            try:
                plain, entities = parse_formatted(text, params.get("parse_mode"))
            except FormattingError as exc:
                raise ApiError(400, str(exc)) from None
        if not plain.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if utf16_len(plain) > 4096:
            raise ApiError(400, "Bad Request: message is too long")
        return plain, entities

    def _reply_target(self, params: dict, chat_id: Any) -> dict | None:
        reply = params.get("reply_parameters")
        if not isinstance(reply, dict):
            return None
        target_id, allow = reply.get("message_id"), reply.get("allow_sending_without_reply")
        target_chat = reply.get("chat_id", chat_id)
        target = self._find_message(target_chat, target_id)
        if target is None and not allow:
            raise ApiError(400, "Bad Request: message to be replied not found")
        return target

    @staticmethod
    def _check_markup(markup: Any) -> dict | None:
        """Validate ``reply_markup`` like Telegram; return it if it is an inline keyboard."""
        if markup is None:
            return None
        if not isinstance(markup, dict):
            raise ApiError(400, "Bad Request: can't parse reply keyboard markup JSON object")
        if "inline_keyboard" not in markup:
            return None
        rows = markup["inline_keyboard"]
        if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
            raise ApiError(
                400,
                'Bad Request: can\'t parse inline keyboard button: field "inline_keyboard" must be an Array of Arrays',
            )
        for row in rows:
            for button in row:
                if not isinstance(button, dict) or not button.get("text"):
                    raise ApiError(400, "Bad Request: can't parse inline keyboard button: Text must be non-empty")
                actions = set(button) & INLINE_BUTTON_ACTIONS
                if len(actions) != 1:
                    raise ApiError(
                        400,
                        "Bad Request: can't parse inline keyboard button: "
                        "Text buttons are unallowed in the inline keyboard",
                    )
                data = button.get("callback_data")
                if data is not None and not 1 <= len(str(data).encode("utf-8")) <= 64:
                    raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
                url = button.get("url")
                if url is not None and not re.match(r"(https?|tg)://\S+$", str(url)):
                    raise ApiError(400, f"Bad Request: inline keyboard button URL '{url}' is invalid: Wrong HTTP URL")
        return markup

    def _m_sendMessage(self, params: dict) -> dict:
        chat_id = self._required(params, "chat_id")
        self._check_blocked(chat_id)
        text, entities = self._text_and_entities(params)
        self._check_markup(params.get("reply_markup"))
        target = self._reply_target(params, chat_id)
        markup = params.get("reply_markup")
        msg = self._bot_message(chat_id, text, reply_markup=markup if isinstance(markup, dict) else None)
        if entities:
            msg["entities"] = entities
        if isinstance(params.get("link_preview_options"), dict):
            msg["link_preview_options"] = params["link_preview_options"]
        if target is not None:
            msg["reply_to_message"] = {k: v for k, v in target.items() if k != "reply_to_message"}
        return msg

    def _editable(self, params: dict) -> dict:
        chat_id = self._required(params, "chat_id")
        self._check_blocked(chat_id)
        message_id = self._required(params, "message_id")
        msg = self._find_message(chat_id, message_id)
        if msg is None:
            raise ApiError(400, "Bad Request: message to edit not found")
        if msg.get("from", {}).get("id") != self.bot_id:
            raise ApiError(400, "Bad Request: message can't be edited")
        return msg

    def _m_editMessageReplyMarkup(self, params: dict) -> dict:
        self._check_markup(params.get("reply_markup"))
        msg = self._editable(params)
        markup = params.get("reply_markup")
        markup = markup if isinstance(markup, dict) and markup.get("inline_keyboard") else None
        if msg.get("reply_markup") == markup:
            raise ApiError(400, NOT_MODIFIED)
        new = {k: v for k, v in msg.items() if k != "reply_markup"}
        new["edit_date"] = int(time.time())
        if markup:
            new["reply_markup"] = markup
        return self._store(new)

    def _m_answerCallbackQuery(self, params: dict) -> bool:
        query_id = str(self._required(params, "callback_query_id"))
        if query_id not in self._open_callbacks:
            raise ApiError(400, QUERY_TOO_OLD)
        self._open_callbacks.discard(query_id)
        if len(str(params.get("text") or "")) > 200:
            raise ApiError(400, "Bad Request: MESSAGE_TOO_LONG")
        return True
