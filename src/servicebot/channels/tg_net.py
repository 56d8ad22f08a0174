"""Telegram's side of pacing and transport faults, for `channels/tg.py`.

- `RetryingRateLimiter`: PTB's `AIORateLimiter` (outgoing rate limits, retries on 429
  RetryAfter) plus a small bounded retry for transport failures. AIORateLimiter's
  `max_retries` only covers RetryAfter, and PTB never retries a failed `sendMessage`, so a
  502 or a dropped connection would otherwise lose the resident's answer.
- `QuietRequest`: PTB's HTTPX request, except that a non-JSON error body (the HTML page a
  proxy in front of the Bot API returns with a 502) is not logged as an ERROR with a
  traceback on every attempt: the failure still raises, and the limiter's one WARNING line
  per attempt says what happened.
- `ChatOrderedProcessor`: processes updates concurrently across chats but one at a time
  within a chat (answers come back in the order questions were asked), and times each
  update, split into time waiting for the Bot API and everything else.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import logging
import time
from collections import deque
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any

from telegram import Update
from telegram.error import BadRequest, NetworkError, TelegramError
from telegram.ext import AIORateLimiter, BaseUpdateProcessor
from telegram.request import HTTPXRequest

log = logging.getLogger(__name__)

# --- timing ------------------------------------------------------------------------------

# Seconds this update has spent waiting for Bot API calls; set per update task.
_api_wait: contextvars.ContextVar[list[float] | None] = contextvars.ContextVar("api_wait", default=None)


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
            box = _api_wait.get()
            if box is not None:
                box[0] += time.perf_counter() - started
        raise AssertionError("unreachable")


# --- incoming updates --------------------------------------------------------------------


def _chat_key(update: object) -> int | None:
    chat = update.effective_chat if isinstance(update, Update) else None
    return chat.id if chat is not None else None


class ChatOrderedProcessor(BaseUpdateProcessor):
    """Up to `max_concurrent` updates at once, but one at a time per chat, in arrival order.

    A chat's queued updates hold a concurrency slot while they wait; they are quick (a
    flooding resident's extra messages are dropped without network calls), so this only
    matters if `max_concurrent` is tiny.
    """

    def __init__(self, max_concurrent: int, timings: Timings | None = None):
        super().__init__(max_concurrent)
        self.timings = timings
        self._locks: dict[int, asyncio.Lock] = {}
        self._waiting: dict[int, int] = {}

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        key = _chat_key(update)
        if key is None:
            await self._timed(coroutine)
            return
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._waiting[key] = self._waiting.get(key, 0) + 1
        try:
            async with lock:
                await self._timed(coroutine)
        finally:
            self._waiting[key] -= 1
            if not self._waiting[key]:
                del self._waiting[key], self._locks[key]

    async def _timed(self, coroutine: Awaitable[Any]) -> None:
        box = [0.0]
        token = _api_wait.set(box)
        started = time.perf_counter()
        try:
            await coroutine
        finally:
            if self.timings is not None:
                self.timings.add(time.perf_counter() - started, box[0])
            _api_wait.reset(token)

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass


__all__ = ["ChatOrderedProcessor", "QuietRequest", "RetryingRateLimiter", "Timings"]
