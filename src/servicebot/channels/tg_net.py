"""Telegram's side of pacing and transport faults, for `channels/tg.py`.

- `RetryingRateLimiter`: PTB's `AIORateLimiter` (outgoing rate limits, retries on 429
  RetryAfter) plus a small bounded retry for transport failures. AIORateLimiter's
  `max_retries` only covers RetryAfter, and PTB never retries a failed `sendMessage`, so a
  502 or a dropped connection would otherwise lose the resident's answer.
- `QuietRequest`: PTB's HTTPX request, except that a non-JSON error body (the HTML page a
  proxy in front of the Bot API returns with a 502) is not logged as an ERROR with a
  traceback on every attempt: the failure still raises, and the limiter's one WARNING line
  per attempt says what happened.
- `timed`: times an update's processing, split into time waiting for the Bot API and
  everything else (`Timings`, for bench/load/bot.py), and notes whether a request for it
  has left (`Calls`: a stop may cancel an update that has sent nothing yet).

Incoming updates (the journal, per-chat order, the drain on stop) are `channels/tg_ingest.py`'s.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from telegram.error import BadRequest, NetworkError, TelegramError
from telegram.ext import AIORateLimiter
from telegram.request import HTTPXRequest

log = logging.getLogger(__name__)

# --- timing ------------------------------------------------------------------------------


@dataclass
class Calls:
    """One update's Bot API calls so far: seconds spent waiting for them (limiter included),
    whether one has been let through to the network (then a reply may be on its way), and
    whether the first one was made (`asking`: the update's own work is done by then; each of
    `listeners` is called then, once). `before_asking`, if set, is awaited once at that moment,
    before the call goes on: what must be on disk before anything can reach Telegram (a
    suspect's cleared attempts: a kill right after its request arrived must not count)."""

    seconds: float = 0.0
    sent: bool = False
    asking: bool = False
    listeners: list[Callable[[], None]] = field(default_factory=list)
    before_asking: Callable[[], Awaitable[None]] | None = None

    def ask(self) -> None:
        if not self.asking:
            self.asking = True
            for listener in self.listeners:
                listener()


# The update being processed on this task; set by `timed`.
_calls: contextvars.ContextVar[Calls | None] = contextvars.ContextVar("calls", default=None)


@dataclass
class Timings:
    """Per-update processing times (seconds), newest last, bounded."""

    total: deque[float] = field(default_factory=lambda: deque(maxlen=100_000))
    api: deque[float] = field(default_factory=lambda: deque(maxlen=100_000))

    def add(self, total: float, api: float) -> None:
        self.total.append(total)
        self.api.append(api)

    def own(self) -> list[float]:
        """Time each update spent outside Bot API calls: the bot's own work."""
        return [t - a for t, a in zip(self.total, self.api)]


class QuietRequest(HTTPXRequest):
    """HTTPXRequest whose unparsable responses raise without an ERROR log and traceback."""

    @staticmethod
    def parse_json_payload(payload: bytes) -> dict[str, Any]:
        try:
            return json.loads(payload.decode("utf-8", "replace"))
        except ValueError:
            raise TelegramError("Invalid server response (not JSON)") from None


# --- outgoing calls ----------------------------------------------------------------------

TRANSPORT_RETRY_DELAYS = (0.2, 1.0)  # seconds before the 2nd and 3rd attempt


def is_transport_failure(exc: Exception) -> bool:
    """A 5xx, a dropped connection or a timeout; not a request Telegram refused (BadRequest)."""
    return isinstance(exc, NetworkError) and not isinstance(exc, BadRequest)


class RetryingRateLimiter(AIORateLimiter):
    """AIORateLimiter that also retries transport failures a bounded number of times.

    A retry after a read timeout may duplicate a message Telegram did receive; a lost answer
    is the worse outcome for a resident, so we accept that rare duplicate.
    """

    def __init__(self, *, delays: tuple[float, ...] = TRANSPORT_RETRY_DELAYS, **kwargs: Any):
        super().__init__(**kwargs)
        self._delays = delays

    async def process_request(self, callback, args, kwargs, endpoint, data, rate_limit_args):
        started = time.perf_counter()
        calls = _calls.get()
        if calls is not None:
            first = not calls.asking
            calls.ask()
            if first and calls.before_asking is not None:
                await calls.before_asking()
            callback = _marking_sent(callback, calls)
        try:
            for attempt in range(len(self._delays) + 1):
                try:
                    return await super().process_request(callback, args, kwargs, endpoint, data, rate_limit_args)
                except NetworkError as exc:
                    if not is_transport_failure(exc) or attempt == len(self._delays):
                        raise
                    log.warning(
                        "Bot API %s failed (%s); retrying in %.1f s",
                        endpoint,
                        type(exc).__name__,
                        self._delays[attempt],
                    )
                    await asyncio.sleep(self._delays[attempt])
        finally:
            if calls is not None:
                calls.seconds += time.perf_counter() - started
        raise AssertionError("unreachable")


def _marking_sent(callback, calls: Calls):
    """`callback` (the HTTP request, which the limiter calls once it lets it through), noting
    that a request left."""

    async def call(*args: Any, **kwargs: Any) -> Any:
        calls.sent = True
        return await callback(*args, **kwargs)

    return call


# --- timing updates ------------------------------------------------------------------------


async def timed(coroutine: Awaitable[Any], timings: Timings | None, calls: Calls | None = None) -> None:
    """Await one update's processing, counting its Bot API calls in `calls`; add its time, and
    the part spent waiting for the Bot API, to `timings`."""
    calls = calls or Calls()
    token = _calls.set(calls)
    started = time.perf_counter()
    try:
        await coroutine
    finally:
        if timings is not None:
            timings.add(time.perf_counter() - started, calls.seconds)
        _calls.reset(token)


__all__ = ["Calls", "QuietRequest", "RetryingRateLimiter", "Timings", "timed"]
