"""What every route of the bot's web server shares, whichever channel it serves.

The web chat (`web.py`), WeChat's `/wechat` (`wechat.py`) and Telegram's webhook (`tg.py`)
are served by one web server (`server.py`); none of them imports another. What they have in
common is here:

- `read_body`: a request body, refused (`BodyTooLarge`) beyond a limit without reading it all;
- `SecurityMiddleware`, around the whole app: the headers every response carries (errors
  included; `security_headers`, which the server also writes on the responses it makes
  itself), and the cross-origin policy: a browser's call from another origin is refused unless
  the origin is configured (`web_origins`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlparse

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from servicebot.config import Settings
from servicebot.logs import LogThrottle

log = logging.getLogger(__name__)


class BodyTooLarge(Exception):
    """A request body over the limit (by its Content-Length, or as it streamed in)."""


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refusing more than `limit` bytes without reading them all."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise BodyTooLarge
    return bytes(body)


# --- headers for every response of the web server ----------------------------------------------


def content_security_policy(settings: Settings) -> str:
    return (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        f"base-uri 'none'; form-action 'self'; frame-ancestors {settings.web_frame_ancestors}"
    )


def security_headers(settings: Settings) -> list[tuple[bytes, bytes]]:
    """The headers every response of the web server carries (also those the server itself
    writes when it refuses a connection: see `web_limits`)."""
    headers = [
        (b"content-security-policy", content_security_policy(settings).encode()),
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"no-referrer"),
        (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
    ]
    if settings.web_frame_ancestors.strip() in ("'self'", "'none'"):  # old browsers without CSP frames
        headers.append((b"x-frame-options", b"SAMEORIGIN" if "self" in settings.web_frame_ancestors else b"DENY"))
    return headers


class SecurityMiddleware:
    """Security headers on every response, and the cross-origin policy for the API.

    A browser sends `Origin` with every cross-origin request and with same-origin POSTs. A
    request whose origin is neither this server (by its Host) nor one of `web_origins` is
    refused with 403 before it reaches a handler; an allowed origin gets the CORS headers
    (and its preflight an answer), so the office's own site can call the API.
    """

    def __init__(self, app: ASGIApp, settings: Settings):
        self.app = app
        self.allowed = settings.web_origins
        self.headers = security_headers(settings)
        self.rejections = LogThrottle(log)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_headers = dict(scope["headers"])
        origin = request_headers.get(b"origin", b"").decode("latin-1")
        extra: list[tuple[bytes, bytes]] = []
        if origin and not _same_origin(origin, request_headers.get(b"host", b"").decode("latin-1")):
            if origin.rstrip("/") not in self.allowed:
                self.rejections.warning("origin", "web: refused a cross-origin %s %s", scope["method"], scope["path"])
                await self._respond(scope, receive, send, 403, {"error": "cross_origin", "message": ""})
                return
            extra = [(b"access-control-allow-origin", origin.encode("latin-1")), (b"vary", b"Origin")]
            if scope["method"] == "OPTIONS":
                extra += [
                    (b"access-control-allow-methods", b"GET, POST"),
                    (b"access-control-allow-headers", b"Content-Type"),
                    (b"access-control-max-age", b"600"),
                ]
                await self._respond(scope, receive, send, 204, None, extra)
                return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], *self.headers, *extra]
            await send(message)

        await self.app(scope, receive, send_with_headers)

    async def _respond(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        status: int,
        doc: Any,
        extra: Sequence[tuple[bytes, bytes]] = (),
    ) -> None:
        response: Response = JSONResponse(doc, status_code=status) if doc is not None else Response(status_code=status)
        response.raw_headers.extend([*self.headers, *extra])
        await response(scope, receive, send)


def _same_origin(origin: str, host: str) -> bool:
    return bool(host) and urlparse(origin).netloc.lower() == host.lower()


__all__ = ["BodyTooLarge", "SecurityMiddleware", "content_security_policy", "read_body", "security_headers"]
