"""How long and how many: limits that keep the web server — and the process — answering while
clients hold connections open.

uvicorn on its own closes a keep-alive connection after `timeout_keep_alive` seconds without a
new request, but never a connection that has not finished sending its request: one that sends
nothing after connecting, or its headers a byte at a time (slowloris), stays open for ever.
Every open connection holds a file descriptor, and the process has ~1,024 of them for
everything — Telegram's connections and the SQLite files included — so ~1,000 such clients on
one address stopped the web chat and Telegram alike.

`WebLimits` is the one place these limits are set; `guarded_protocol` is uvicorn's h11
protocol with them applied:

- a request (headers and body) must arrive within `read_timeout` seconds of the connection
  opening, or of its first byte on a kept-alive connection; otherwise the connection is closed
  (with 408 if no request had begun being answered);
- at most `max_connections` connections are open at once. One more closes the connection that
  has waited longest for a request (idle between requests, or still sending its headers): a
  resident's request, which arrives at once, is never crowded out by clients that only hold
  connections open. When every connection is busy with a request, the newcomer gets 503;
- connections are accepted at most `backlog` at a time: asyncio accepts a whole batch before
  the protocol sees any of them, and up to `BATCHES_IN_FLIGHT` batches can be accepted before
  the first one's surplus is closed, so `max_connections` is bounded by the process's descriptor
  limit less room for those batches and `RESERVED_FDS` for Telegram, the SQLite files and the
  rest of the process.

Refusals are logged as one warning line per kind per minute (never a client's address).
"""

from __future__ import annotations

import asyncio
import logging
import resource
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from servicebot.logs import LogThrottle

log = logging.getLogger(__name__)

MAX_CONNECTIONS = 500  # open web connections at most (more than enough for one office's residents)
RESERVED_FDS = 400  # descriptors kept for everything else (Telegram's 256-connection pool, SQLite files, …)
READ_TIMEOUT = 10.0  # seconds for a request's headers and body: ~3 KB/s for the largest chat request
KEEP_ALIVE = 15  # seconds an idle connection is kept for the page's next request (it polls every 5 s)
ACCEPT_BACKLOG = 64  # connections waiting to be accepted, and accepted in one batch
BATCHES_IN_FLIGHT = 3  # accepted, not yet seen by the protocol (measured: bench/faults/connections.py)


@dataclass(frozen=True)
class WebLimits:
    """The web server's limits (see the module docstring); tests shrink them."""

    max_connections: int = MAX_CONNECTIONS
    read_timeout: float = READ_TIMEOUT
    keep_alive: int = KEEP_ALIVE
    backlog: int = ACCEPT_BACKLOG

    @classmethod
    def for_process(cls, descriptors: int | None = None) -> WebLimits:
        """The defaults, with `max_connections` within the process's descriptor limit (or
        `descriptors`, if given)."""
        soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0] if descriptors is None else descriptors
        unseen = BATCHES_IN_FLIGHT * ACCEPT_BACKLOG
        room = MAX_CONNECTIONS if soft == resource.RLIM_INFINITY else soft - RESERVED_FDS - unseen
        return cls(max_connections=max(16, min(MAX_CONNECTIONS, room)))

    def uvicorn_options(self) -> dict[str, Any]:
        """What uvicorn itself is told. Its `limit_concurrency` (503 for any request while that
        many connections are open) is only a backstop: the guarded protocol keeps at most
        `max_connections` open, beyond the few it has just closed (counted until they are gone)."""
        return {
            "timeout_keep_alive": self.keep_alive,
            "limit_concurrency": 2 * self.max_connections,
            "backlog": self.backlog,
        }


def _response(status: int, reason: bytes, headers: Sequence[tuple[bytes, bytes]]) -> bytes:
    lines = [b"HTTP/1.1 %d %s" % (status, reason), b"content-type: text/plain; charset=utf-8"]
    lines += [b"content-length: %d" % len(reason), b"connection: close"]
    lines += [name + b": " + value for name, value in headers]
    return b"\r\n".join(lines) + b"\r\n\r\n" + reason


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with `LIMITS` applied; see `guarded_protocol`."""

    LIMITS: ClassVar[WebLimits] = WebLimits()
    HEADERS: ClassVar[Sequence[tuple[bytes, bytes]]] = ()
    REFUSALS: ClassVar[LogThrottle] = LogThrottle(log)

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._deadline: asyncio.TimerHandle | None = None
        self._waiting_since = self.loop.time()  # for a request, since then
        self._refused = False

    # -- opening -----------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        if self._open() >= self.LIMITS.max_connections and not self._evict():
            self._refused = True
            self.transport = transport
            self.REFUSALS.warning(
                "busy", "web: %d connections busy with requests: refused one more (503)", self.LIMITS.max_connections
            )
            transport.write(_response(503, b"Service Unavailable", self.HEADERS))
            transport.close()
            return
        super().connection_made(transport)
        self._arm()

    def _open(self) -> int:
        if len(self.connections) < self.LIMITS.max_connections:
            return len(self.connections)
        return sum(1 for c in self.connections if c.transport is not None and not c.transport.is_closing())

    def _evict(self) -> bool:
        """Close the connection that has waited longest for a request; False if all are busy."""
        idle = [c for c in self.connections if isinstance(c, GuardedH11Protocol) and c._waiting()]
        if not idle:
            return False
        oldest = min(idle, key=lambda c: c._waiting_since)
        self.REFUSALS.warning(
            "full",
            "web: %d connections open: closed the one idle longest (clients holding connections without requests?)",
            self.LIMITS.max_connections,
        )
        oldest._close_waiting()
        return True

    def _waiting(self) -> bool:
        """Open and waiting for a request (or the rest of its headers), nothing being answered."""
        return (
            self.transport is not None
            and not self.transport.is_closing()
            and self.conn.their_state is h11.IDLE
            and (self.cycle is None or self.cycle.response_complete)
        )

    # -- reading -----------------------------------------------------------------------------

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return
        if self._deadline is None:  # the first byte of another request on a kept-alive connection
            self._arm()
        super().data_received(data)
        if self.conn.their_state is not h11.IDLE and self.conn.their_state is not h11.SEND_BODY:
            self._disarm()  # the whole request is in (or the connection is closing)

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._waiting_since = self.loop.time()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        if self._refused:
            self.connections.discard(self)
            return
        super().connection_lost(exc)

    def _arm(self) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(self.LIMITS.read_timeout, self._too_slow)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _too_slow(self) -> None:
        self._deadline = None
        if self.transport is None or self.transport.is_closing():
            return
        self.REFUSALS.warning(
            "slow", "web: closed a connection that did not send its request within %g s", self.LIMITS.read_timeout
        )
        if self._waiting():
            self._close_waiting(_response(408, b"Request Timeout", self.HEADERS))
        else:  # the request's body is late: its handler sees the client gone
            self.transport.close()

    def _close_waiting(self, last_words: bytes = b"") -> None:
        if last_words and self.conn.our_state is h11.IDLE:
            self.transport.write(last_words)
            self.transport.close()
        else:
            self.transport.abort()

    # -- errors uvicorn answers itself -----------------------------------------------------------

    def send_400_response(self, msg: str) -> None:
        """A request that is not HTTP: 400 with the security headers, and the connection closed."""
        self.transport.write(_response(400, b"Bad Request", self.HEADERS))
        self.transport.close()


def guarded_protocol(limits: WebLimits, headers: Sequence[tuple[bytes, bytes]]) -> type[GuardedH11Protocol]:
    """The protocol class to give uvicorn (`http=`): `limits` applied, `headers` on the
    responses it writes itself (the security headers, as on every other response)."""
    return type(
        "GuardedH11", (GuardedH11Protocol,), {"LIMITS": limits, "HEADERS": tuple(headers), "REFUSALS": LogThrottle(log)}
    )


__all__ = ["WebLimits", "guarded_protocol"]
