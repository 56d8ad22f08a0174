"""What stands between the staff desk and a stranger: cookies, CSRF tokens, the sign-in gate,
and the headers and origin check on every response of the desk's server.

- The session cookie is `HttpOnly` (no script reads it), `Secure` (the browser sends it over
  HTTPS only — and to http://127.0.0.1 / localhost, which browsers count as secure), and
  `SameSite=Strict` (no other site's page can make the browser send it). Its `__Host-` name
  makes browsers refuse it unless it came from this very host, over a secure connection, for
  path `/` — so a neighbouring subdomain cannot plant one.
- Every form carries the session's CSRF token (the sign-in form a token from a short-lived
  cookie of its own); a POST whose token is missing or wrong is refused with 403. A POST from
  another origin (by the browser's `Origin` header) is refused before that.
- `SignInGate` counts failed sign-ins per account name and per network address; past the
  limit, sign-in is refused without checking the password until the window has passed.
"""

from __future__ import annotations

import hmac
import time
from collections import deque
from collections.abc import Callable, Sequence
from urllib.parse import parse_qsl, urlparse

from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from servicebot.bounded import BoundedMap

SESSION_COOKIE = "__Host-servicebot-desk"
SIGNIN_COOKIE = "__Host-servicebot-desk-signin"  # the sign-in form's CSRF token
SIGNIN_COOKIE_AGE = 3600  # seconds a sign-in form stays usable
MAX_FORM = 64 * 1024  # bytes of a form body
PER_NAME, PER_ADDRESS = 5, 20  # failed sign-ins allowed per window
WINDOW = 15 * 60.0  # seconds
REMEMBERED = 10_000  # names and addresses the gate keeps track of at most

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
HEADERS: Sequence[tuple[bytes, bytes]] = (
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    # same-origin, not no-referrer: with no-referrer a browser sends "Origin: null" on a form
    # POST, and the origin check below could not tell the desk's own forms from a forgery.
    (b"referrer-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
    (b"cache-control", b"no-store"),  # desk pages hold residents' questions: never cached
)


def same_token(given: str | None, expected: str) -> bool:
    """A form's token against the session's, in constant time."""
    return bool(given) and bool(expected) and hmac.compare_digest(str(given).encode(), expected.encode())


def set_cookie(response: Response, name: str, value: str, *, max_age: int | None = None) -> None:
    response.set_cookie(name, value, max_age=max_age, path="/", secure=True, httponly=True, samesite="strict")


def clear_cookie(response: Response, name: str) -> None:
    response.delete_cookie(name, path="/", secure=True, httponly=True, samesite="strict")


class FormTooLarge(Exception):
    """A form body over MAX_FORM bytes."""


async def read_form(request: Request) -> dict[str, str]:
    """An `application/x-www-form-urlencoded` body as a dict (the last value of a repeated
    field); anything else is an empty form, which fails the CSRF check."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/x-www-form-urlencoded":
        return {}
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_FORM:
        raise FormTooLarge
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM:
            raise FormTooLarge
    return dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))


def is_secure_context(request: Request) -> bool:
    """Will the browser keep a `Secure` cookie from this page? Over HTTPS (also as the office's
    proxy reports it, X-Forwarded-Proto), and on the loopback address."""
    return request.url.scheme == "https" or (request.url.hostname or "") in ("127.0.0.1", "localhost", "::1", "[::1]")


# --- the sign-in gate ---------------------------------------------------------------------------


class SignInGate:
    """Failed sign-ins in a sliding window, per account name and per address. Pure, with an
    injectable clock; memory is bounded (the oldest keys are forgotten first)."""

    def __init__(
        self,
        *,
        per_name: int = PER_NAME,
        per_address: int = PER_ADDRESS,
        window: float = WINDOW,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.limits = {"name": per_name, "address": per_address}
        self.window = window
        self.clock = clock
        self._failures: BoundedMap[tuple[str, str], deque[float]] = BoundedMap(REMEMBERED)

    def wait(self, name: str, address: str) -> float:
        """Seconds until this name may be tried again from this address (0: now)."""
        now = self.clock()
        longest = 0.0
        for key in self._keys(name, address):
            times = self._recent(key, now)
            if len(times) >= self.limits[key[0]]:
                longest = max(longest, times[0] + self.window - now)
        return longest

    def failed(self, name: str, address: str) -> int:
        """Count a failure; how many this name has had in the window."""
        now = self.clock()
        keys = self._keys(name, address)
        failures = [self._recent(key, now) for key in keys]  # both read before either is set
        for key, times in zip(keys, failures, strict=True):
            times.append(now)
            self._failures[key] = times  # the most recently failed are forgotten last
        return len(failures[0])

    def succeeded(self, name: str) -> None:
        """The right password: the name's earlier typos are forgiven (the address's are not)."""
        self._failures.pop(("name", name.casefold()))

    def _keys(self, name: str, address: str) -> tuple[tuple[str, str], ...]:
        return ("name", name.casefold()), ("address", address)

    def _recent(self, key: tuple[str, str], now: float) -> deque[float]:
        """The key's failures in the window (remembered only once `failed` sets them)."""
        times = self._failures.get(key)
        if times is None:
            times = deque()
        while times and times[0] <= now - self.window:
            times.popleft()
        return times


# --- every response -------------------------------------------------------------------------------


class DeskMiddleware:
    """The security headers on every response of the desk's server, and no POST from another
    origin: a browser names the page's origin in `Origin` on every POST, and a form on another
    site (or a sandboxed frame, "null") is not the desk's own."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        origin = headers.get(b"origin", b"").decode("latin-1")
        host = headers.get(b"host", b"").decode("latin-1").lower()
        if scope["method"] not in ("GET", "HEAD") and origin and urlparse(origin).netloc.lower() != host:
            response = PlainTextResponse("请求来源不对：请从工作人员后台自己的页面操作。", status_code=403)
            response.raw_headers.extend(HEADERS)
            await response(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *HEADERS]
            await send(message)

        await self.app(scope, receive, with_headers)


def desk_middleware() -> Middleware:
    return Middleware(DeskMiddleware)


__all__ = [
    "SESSION_COOKIE",
    "SIGNIN_COOKIE",
    "DeskMiddleware",
    "FormTooLarge",
    "SignInGate",
    "clear_cookie",
    "desk_middleware",
    "is_secure_context",
    "read_form",
    "same_token",
    "set_cookie",
]
